"""The declared shape of the compliance app's JSON columns (see smartweb.json_schema)."""

TEXT = {"type": "string"}

# What proves a consent: where it was given, from which address, what it said. Other
# keys a form or an import adds are kept, as text, numbers or flags.
CONSENT_EVIDENCE = {
    "type": "object",
    "properties": {"form_url": TEXT, "ip": TEXT, "text": TEXT},
    "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
}

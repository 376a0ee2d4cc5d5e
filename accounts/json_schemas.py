"""The declared shape of an organization's settings (see smartweb.json_schema).

Each key is read by the feature it configures (leads scoring and qualification, phone
numbers, document currency, retention), which falls back to its default when a key is
missing; a value of the wrong shape is refused when the settings are written."""

from compliance.retention import DEFAULTS as RETENTION_DEFAULTS
from leads.scoring import DEFAULT_WEIGHTS

ORGANIZATION_SETTINGS = {
    "type": "object",
    "properties": {
        "lead_scoring": {
            "type": "object",
            "properties": {
                "weights": {
                    "type": "object",
                    "properties": dict.fromkeys(DEFAULT_WEIGHTS, {"type": "number", "minimum": 0}),
                    "additionalProperties": False,
                }
            },
            "additionalProperties": False,
        },
        "qualification_threshold": {"type": "integer", "minimum": 0, "maximum": 100},
        "default_country_code": {
            "type": ["string", "integer"],
            "pattern": "^[0-9]{1,3}$",
            "minimum": 1,
            "maximum": 999,
        },
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        # Who must sign in with a second factor (accounts.two_factor).
        "two_factor": {"enum": ["off", "admins", "all"]},
        "retention": {
            "type": "object",
            "properties": dict.fromkeys(
                RETENTION_DEFAULTS, {"type": ["integer", "null"], "minimum": 1}
            ),
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}

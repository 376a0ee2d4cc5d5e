"""The declared shape of a saved view's query (see smartweb.json_schema): query-string
parameters of the API's list, each with its values, bounded in number and length. Which
parameters a resource knows is checked by `savedviews.vocabulary`."""

MAX_PARAMETERS = 20
MAX_VALUES = 20
MAX_VALUE_LENGTH = 200

QUERY = {
    "type": "object",
    "maxProperties": MAX_PARAMETERS,
    "propertyNames": {"pattern": "^[a-z][a-z_]{0,39}$"},
    "additionalProperties": {
        "type": "array",
        "minItems": 1,
        "maxItems": MAX_VALUES,
        "items": {"type": "string", "maxLength": MAX_VALUE_LENGTH},
    },
}

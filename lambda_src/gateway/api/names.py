"""Answer fields renamed for one name per thing (a key's id is `key_id`, its value `api_key`, a cost a person
reads `cost_usd`): the old names stay in answers for one release, marked deprecated in the OpenAPI schema."""

DEPRECATED_KEY_ID = "Deprecated: the same as key_id; removed in the next release."
DEPRECATED_KEY_VALUE = "Deprecated: the same as api_key; removed in the next release."
DEPRECATED_KEY_OBJECT = "Deprecated: the same as key (its value: key.api_key); removed in the next release."
DEPRECATED_TOTAL_COST = "Deprecated: the same as cost_usd; removed in the next release."
DEPRECATED_COST_MICROS = "Deprecated: cost_usd in micro-dollars; removed in the next release."

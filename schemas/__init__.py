"""JSON Schemas every stage speaks, and helpers to load and validate against them.

The schemas live as package data in ``schemas/json/*.schema.json``; each carries a ``version``.
Nothing in this package imports any other ToolFactory package.
"""

from schemas.registry import SCHEMA_NAMES, RecordInvalid, load_schema, schema_version, valid_json_texts, validate_record

__all__ = ["SCHEMA_NAMES", "load_schema", "schema_version", "validate_record", "valid_json_texts", "RecordInvalid"]

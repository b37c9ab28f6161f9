"""Load the packaged JSON Schemas and validate records against them.

In: a schema name (``"api_doc"``) and a record (a dict). Out: a list of readable error strings
(empty when valid). Validators are compiled once per schema and cached.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator

SCHEMA_NAMES = (
    "catalog_entry",
    "catalog_quarantine",
    "api_doc",
    "function_doc",
    "llm_call",
    "rejection",
    "llm_doc_outline",
    "llm_openapi_spec",
    "llm_operation",
    "dialogue",
    "instruction",
    "llm_instructions",
    "llm_judge_verdict",
    "curation_verdict",
    "golden_answer",
    "eval_judge_verdict",
    "eval_result",
    "import_note",
    "function_edge",
    "turn_verdict",
    "tool_context",
)


class RecordInvalid(ValueError):
    """A record does not conform to its schema; ``errors`` lists why."""

    def __init__(self, schema: str, errors: list[str]):
        super().__init__(f"{schema}: " + "; ".join(errors[:5]))
        self.schema = schema
        self.errors = errors


@cache
def load_schema(name: str) -> dict[str, Any]:
    """Return the JSON Schema called ``name`` (a dict; do not mutate it)."""
    if name not in SCHEMA_NAMES:
        raise KeyError(f"unknown schema {name!r}; known: {', '.join(SCHEMA_NAMES)}")
    text = resources.files("schemas").joinpath("json", f"{name}.schema.json").read_text("utf-8")
    return json.loads(text)


def schema_version(name: str) -> int:
    """The ``version`` number stamped in the schema file."""
    return int(load_schema(name).get("version", 1))


@cache
def _validator(name: str) -> Draft202012Validator:
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def validate_record(name: str, record: Any) -> list[str]:
    """Validate ``record`` against schema ``name``; return errors as ``"path: message"`` strings."""
    errors = []
    for err in sorted(_validator(name).iter_errors(record), key=lambda e: list(map(str, e.path))):
        where = "/".join(str(p) for p in err.absolute_path) or "(root)"
        message = err.message if len(err.message) < 300 else err.message[:300] + "…"
        errors.append(f"{where}: {message}")
    return errors


@cache
def _fast_validator(name: str) -> Any:
    import jsonschema_rs  # here, as orjson below: what only reads records (the SFT job on a GPU image) needs neither

    return jsonschema_rs.Draft202012Validator(load_schema(name))


def valid_json_texts(name: str, texts: list[str]) -> list[bool]:
    """Whether each JSON text is a valid record of schema ``name``, by jsonschema-rs (a few µs a record,
    no fixed cost: landing validates every batch with it). ``validate_record`` stays the reference that
    explains a refusal; a text that does not parse is not valid."""
    import orjson

    validator = _fast_validator(name)
    out = []
    for text in texts:
        try:
            out.append(validator.is_valid(orjson.loads(text)))
        except orjson.JSONDecodeError:
            out.append(False)
    return out

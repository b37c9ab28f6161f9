"""One definition per record: each JSON Schema file is what its record type generates, and the
generator turns annotations into the schema keywords a reader expects."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated, Any, ClassVar, Literal

import pytest

from schemas.generate import JSON_DIR, main, record_types
from schemas.keywords import Keywords, record_schema
from schemas.registry import SCHEMA_NAMES, validate_record


@pytest.mark.parametrize("cls", record_types(), ids=lambda c: c.SCHEMA)
def test_each_schema_file_is_what_its_record_generates(cls):
    on_disk = json.loads((JSON_DIR / f"{cls.SCHEMA}.schema.json").read_text("utf-8"))
    assert on_disk == record_schema(cls)
    assert cls.SCHEMA in SCHEMA_NAMES


def test_the_check_command_finds_nothing_stale(capsys):
    assert main(["--check"]) == 0
    assert capsys.readouterr().out.strip() == "stale: none"


@dataclasses.dataclass
class Probe:
    """A probe record."""

    SCHEMA: ClassVar[str] = "probe"
    VERSION: ClassVar[int] = 3
    probe_id: Annotated[str, Keywords(pattern="^[0-9a-f]{16}$")]
    status: Literal["ok", "error"]
    kind: Literal["a", "b"] | None
    n: Annotated[int, Keywords(minimum=0, description="how many")]
    names: list[str]
    by_role: dict[str, str]
    cost: float | None
    anything: Any
    note: Annotated[str, Keywords(required=True)] = ""
    extra: list[dict[str, Any]] = dataclasses.field(default_factory=list)


def test_annotations_become_types_enums_bounds_and_required_fields():
    s = record_schema(Probe)
    assert (s["$id"], s["title"], s["description"], s["version"]) == ("toolfactory/probe", "Probe", "A probe record.", 3)
    assert s["required"] == ["probe_id", "status", "kind", "n", "names", "by_role", "cost", "anything", "note"]
    assert s["additionalProperties"] is False
    p = s["properties"]
    assert p["probe_id"] == {"type": "string", "pattern": "^[0-9a-f]{16}$"}
    assert p["status"] == {"type": "string", "enum": ["ok", "error"]}
    assert p["kind"] == {"type": ["string", "null"], "enum": ["a", "b", None]}
    assert p["n"] == {"type": "integer", "minimum": 0, "description": "how many"}
    assert p["names"] == {"type": "array", "items": {"type": "string"}}
    assert p["by_role"] == {"type": "object", "additionalProperties": {"type": "string"}}
    assert p["cost"] == {"type": ["number", "null"]} and p["anything"] == {}
    assert p["extra"] == {"type": "array", "items": {"type": "object"}}


def test_a_value_outside_a_literal_is_refused_at_landing():
    from schemas.records import Rejection

    good = Rejection("0123456789abcdef", "curation", "s", "near_duplicate", "like x").to_dict()
    assert validate_record("rejection", good) == []
    assert validate_record("rejection", {**good, "stage": "nowhere"})[0].startswith("stage: 'nowhere' is not one of")

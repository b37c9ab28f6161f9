"""JSON Schemas compiled to DuckDB SQL, so a typed frame's JSON-text columns are validated in one
vectorised pass (``warehouse.frame_landing``; records are validated by jsonschema-rs, which is faster
at every batch size — docs/benchmarks.md).

``validity_sql(schema, "rec")`` is a boolean SQL expression that is true when the JSON value in
column ``rec`` conforms. It covers the keywords our schemas use — type (and unions), enum (of
strings and null), const, pattern, minLength, maxLength, minimum, properties, required,
additionalProperties (false or a schema), items, if/then — and ignores annotations (title,
description, $id, $schema, version, default, examples). Any other keyword raises
``UnsupportedKeyword`` when the schema is compiled, so a schema that uses one fails loudly, not
silently. The ``jsonschema`` library stays the reference: a property-based test checks that both
agree on generated records, and a row the SQL refuses is re-checked by ``jsonschema`` for the
readable errors that go to quarantine.

``extract_sql`` + ``column_sql`` project a record's fields onto a table's columns with one JSON
parse per row.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

ANNOTATIONS = {"title", "description", "$id", "$schema", "version", "default", "examples", "$comment"}
_TYPES = {
    "string": "{t} = 'VARCHAR'",
    "number": "{t} IN ('BIGINT', 'UBIGINT', 'DOUBLE')",
    "integer": "({t} IN ('BIGINT', 'UBIGINT') OR ({t} = 'DOUBLE' AND TRY_CAST({x} AS DOUBLE) = floor(TRY_CAST({x} AS DOUBLE))))",
    "boolean": "{t} = 'BOOLEAN'",
    "null": "{t} = 'NULL'",
    "object": "{t} = 'OBJECT'",
    "array": "{t} = 'ARRAY'",
}
_counter = itertools.count()


class UnsupportedKeyword(ValueError):
    """The schema uses a keyword this compiler does not translate."""


_EVERY_VALUE = "'$.*'"  # a JSON path to each value of an object, as an SQL string


def sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _path(key: str) -> str:
    return sql_string('$."' + key.replace('"', '\\"') + '"')


def json_check(schema: Any, x: str, t: str | None = None) -> str:
    """SQL true when the (present, non-SQL-NULL) JSON value ``x`` conforms to ``schema``; ``t`` is
    an expression for ``json_type(x)`` already computed (each JSON function call parses again)."""
    t = t or f"json_type({x})"
    if schema is True or schema == {}:
        return "true"
    if schema is False:
        return "false"
    unknown = set(schema) - ANNOTATIONS - {"type", "enum", "const", "pattern", "minLength", "maxLength", "minimum", "properties",
                                           "required", "additionalProperties", "items", "if", "then"}
    if unknown:
        raise UnsupportedKeyword(f"keyword(s) {', '.join(sorted(unknown))} are not compiled to SQL; extend warehouse/schema_sql.py")
    parts = []
    if "type" in schema:
        types = [schema["type"]] if isinstance(schema["type"], str) else list(schema["type"])
        parts.append("(" + " OR ".join(_TYPES[name].format(x=x, t=t) for name in types) + ")")
    if "enum" in schema:
        strings = [v for v in schema["enum"] if v is not None]
        if not all(isinstance(v, str) for v in strings):
            raise UnsupportedKeyword("enum of values other than strings and null")
        in_list = f"({t} = 'VARCHAR' AND ({x} ->> '$') IN ({', '.join(sql_string(v) for v in strings)}))" if strings else "false"
        parts.append(f"({t} = 'NULL' OR {in_list})" if None in schema["enum"] else in_list)
    if "const" in schema:
        parts.append(f"(CAST({x} AS VARCHAR) = {sql_string(json.dumps(schema['const'], separators=(',', ':')))})")
    on_strings, on_numbers = value_rules(schema, f"({x} ->> '$')", f"TRY_CAST({x} AS DOUBLE)")
    parts += [f"({t} <> 'VARCHAR' OR {r})" for r in on_strings]
    parts += [f"({t} NOT IN ('BIGINT', 'UBIGINT', 'DOUBLE') OR {r})" for r in on_numbers]
    if {"properties", "required", "additionalProperties"} & set(schema):
        parts.append(f"({t} <> 'OBJECT' OR {_object(schema, x)})")
    if "items" in schema:
        e = f"e{next(_counter)}"
        parts.append(f"({t} <> 'ARRAY' OR coalesce(list_bool_and(list_transform({_json_items(f'TRY_CAST({x} AS JSON[])')}, "
                     f"lambda {e}: coalesce({json_check(schema['items'], e)}, false))), true))")
    if "if" in schema:
        then = json_check(schema.get("then", True), x, t)
        parts.append(f"(NOT coalesce({json_check(schema['if'], x, t)}, false) OR {then})")
    return "(" + " AND ".join(parts) + ")" if parts else "true"


def value_rules(schema: dict[str, Any], text: str, number: str) -> tuple[list[str], list[str]]:
    """(rules on the string ``text``: pattern, minLength, maxLength; rules on the number ``number``:
    minimum) — each applies only to a value of that kind, which the caller guards."""
    on_strings = []
    if "pattern" in schema:
        on_strings.append(f"regexp_matches({text}, {sql_string(schema['pattern'])})")
    if "minLength" in schema:
        on_strings.append(f"length({text}) >= {int(schema['minLength'])}")
    if "maxLength" in schema:
        on_strings.append(f"length({text}) <= {int(schema['maxLength'])}")
    on_numbers = [f"{number} >= {float(schema['minimum'])!r}"] if "minimum" in schema else []
    return on_strings, on_numbers


def _json_items(items: str) -> str:
    """A list of JSON values with JSON nulls kept as JSON (casts turn them into SQL NULLs)."""
    q = f"q{next(_counter)}"
    return f"list_transform({items}, lambda {q}: coalesce({q}, 'null'::JSON))"


def _object(schema: dict[str, Any], x: str) -> str:
    props: dict[str, Any] = schema.get("properties") or {}
    keys = list(props)
    required = list(schema.get("required") or [])
    conds = []
    p, ts = f"p{next(_counter)}", f"t{next(_counter)}"
    for i, key in enumerate(keys, start=1):
        sub = json_check(props[key], f"{p}[{i}]", f"{ts}[{i}]")
        if sub != "true":
            conds.append(f"({p}[{i}] IS NULL OR {sub})")
    for key in required:
        conds.append(f"{p}[{keys.index(key) + 1}] IS NOT NULL" if key in keys else f"json_exists({x}, {_path(key)})")
    extra = schema.get("additionalProperties", True)
    if extra is False:
        k = f"k{next(_counter)}"
        allowed = "[" + ", ".join(sql_string(k_) for k_ in keys) + "]::VARCHAR[]"
        conds.append(f"len(list_filter(json_keys({x}), lambda {k}: NOT list_contains({allowed}, {k}))) = 0")
    elif isinstance(extra, dict) and extra:
        v = f"v{next(_counter)}"
        if keys:
            raise UnsupportedKeyword("additionalProperties with a schema beside properties")
        # the object's values by a wildcard path (2.5x a cast to MAP(VARCHAR, JSON) on the warehouse's dialogues)
        conds.append(f"coalesce(list_bool_and(list_transform({_json_items(f'json_extract({x}, {_EVERY_VALUE})')}, "
                     f"lambda {v}: coalesce({json_check(extra, v)}, false))), true)")
    body = " AND ".join(conds) or "true"
    if not keys:
        return f"({body})"
    paths = "[" + ", ".join(_path(k) for k in keys) + "]"
    z = f"z{next(_counter)}"
    return (f"list_transform([json_extract({x}, {paths})], lambda {p}: list_transform([list_transform({p}, lambda {z}: json_type({z}))], "
            f"lambda {ts}: {body})[1])[1]")


def validity_sql(schema: dict[str, Any], column: str = "rec") -> str:
    """A boolean SQL expression over the JSON text column ``column`` (invalid JSON is false)."""
    return f"(json_valid({column}) AND coalesce({json_check(schema, column)}, false))"


def extract_sql(names: list[str], column: str = "rec") -> str:
    """A list of the fields ``names`` of the JSON record in ``column``, read with one parse."""
    return f"json_extract({column}, [{', '.join(_path(n) for n in names)}])"


def column_sql(columns: list[tuple[str, str]], values: str = "v", json_columns: tuple[str, ...] = ()) -> list[str]:
    """One SQL expression per ``(name, duckdb_type)`` reading item i of the list ``values``
    (made by ``extract_sql`` over the same names, in order); a JSON null is SQL NULL."""
    out = []
    for i, (name, typ) in enumerate(columns, start=1):
        v = f"{values}[{i}]"
        if name in json_columns or typ == "JSON":
            out.append(f"CASE WHEN json_type({v}) = 'NULL' THEN NULL ELSE {v} END")
        elif typ == "VARCHAR":
            out.append(f"({v} ->> '$')")
        else:
            out.append(f"CAST(CASE WHEN json_type({v}) = 'NULL' THEN NULL ELSE {v} END AS {typ})")
    return out

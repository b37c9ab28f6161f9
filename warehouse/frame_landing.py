"""Bulk landing of typed frames: the columnar twin of ``Warehouse.land``.

A frame whose columns are a record's fields with the Arrow types its JSON Schema implies
(``frame_schema``) lands without turning rows into JSON: the types are checked once per frame,
and every value rule of the schema — nullability, pattern, enum, minimum, lengths, and the same for
the fields of list-of-object columns — becomes one vectorised SQL expression over typed columns.
Values the schema leaves free (``action_input``, objects with free keys such as ``models``) travel
as JSON text and are checked by the JSON compiler of ``warehouse.schema_sql``. Rows that fail are
turned back into records, explained by ``jsonschema`` and quarantined, as in ``land``.

Type mapping: string → Utf8, integer → Int64, number → Float64, boolean → Boolean, an array of
strings → List(Utf8), an array of closed objects (listed properties, no others allowed) →
List(Struct), anything else (open objects, untyped values) → Utf8 holding JSON text. A ``null`` in the type makes the column
nullable; in a frame "missing" and "null" are the same thing, so every property is a column.
``instances.parquet`` exports are written in this layout, so they load back through here.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb
import polars as pl

from schemas import load_schema, schema_version, validate_record
from schemas.errors import InvalidInput
from warehouse.row_insert import insert_batch
from warehouse.schema_sql import json_check, sql_string, value_rules

_SCALARS = {"string": pl.Utf8, "integer": pl.Int64, "number": pl.Float64, "boolean": pl.Boolean}
_FITS = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}


class FrameSchemaError(InvalidInput):
    """The frame's columns or types do not match the record's schema; the message lists what differs."""


def _types(schema: dict[str, Any]) -> list[str]:
    t = schema.get("type")
    return [t] if isinstance(t, str) else list(t or [])


def _is_json_text(schema: dict[str, Any]) -> bool:
    kinds = [t for t in _types(schema) if t != "null"]
    if len(kinds) != 1:
        return True
    if kinds[0] == "array":
        items = schema.get("items") or {}
        return not (_types(items) == ["string"] or (_types(items) == ["object"] and not _is_json_text(items)))
    if kinds[0] == "object":
        return not schema.get("properties") or schema.get("additionalProperties", True) is not False
    return False


def dtype_for(schema: dict[str, Any]) -> pl.DataType:
    """The Arrow (polars) type a property travels as."""
    if _is_json_text(schema):
        return pl.Utf8
    kind = next(t for t in _types(schema) if t != "null")
    if kind == "array":
        items = schema["items"]
        return pl.List(pl.Utf8 if _types(items) == ["string"] else pl.Struct({k: dtype_for(v) for k, v in items["properties"].items()}))
    if kind == "object":
        return pl.Struct({k: dtype_for(v) for k, v in schema["properties"].items()})
    return _SCALARS[kind]


def frame_schema(name: str) -> dict[str, pl.DataType]:
    """Column → type of a frame that ``land_frame`` takes for records of schema ``name``."""
    return {k: dtype_for(v) for k, v in load_schema(name)["properties"].items()}


def _check_dtypes(frame: pl.DataFrame, name: str) -> None:
    want, have = frame_schema(name), dict(frame.schema)
    problems = [f"missing column {c}" for c in want if c not in have] + [f"unknown column {c}" for c in have if c not in want]
    for c, t in want.items():
        if c in have and not _compatible(have[c], t):
            problems.append(f"column {c} is {have[c]}, expected {t}")
    if problems:
        raise FrameSchemaError(f"frame does not match schema {name}: " + "; ".join(problems))


def _compatible(have: pl.DataType, want: pl.DataType) -> bool:
    if have == want:
        return True
    if want == pl.Int64:
        return have.is_integer()
    if want == pl.Float64:
        return have.is_float() or have.is_integer()
    if isinstance(want, pl.List) and isinstance(have, pl.List):
        return _compatible(have.inner, want.inner)
    if isinstance(want, pl.Struct) and isinstance(have, pl.Struct):
        hf, wf = {f.name: f.dtype for f in have.fields}, {f.name: f.dtype for f in want.fields}
        return hf.keys() == wf.keys() and all(_compatible(hf[k], wf[k]) for k in wf)
    return False


def typed_check(schema: dict[str, Any], x: str, counter: list[int], optional: bool = False) -> str:
    """SQL true when the typed value ``x`` satisfies ``schema``. SQL NULL is JSON null, or, for an
    ``optional`` property (of a list item or nested object, not required there), absence."""
    if set(schema) - {"description", "title"} == {"const"}:
        return f"({x} IS NOT DISTINCT FROM {_sql_literal(schema['const'])})"
    nullable = "null" in _types(schema) or not _types(schema) or optional
    if _is_json_text(schema):
        inner = "true" if not schema or set(schema) <= {"description", "title"} else f"coalesce({json_check(schema, f'CAST({x} AS JSON)')}, false)"
        return f"({x} IS NULL OR (json_valid({x}) AND {inner}))" if nullable else f"({x} IS NOT NULL AND json_valid({x}) AND {inner})"
    parts = []
    if "enum" in schema:
        parts.append(f"{x} IN ({', '.join(sql_string(v) for v in schema['enum'] if v is not None)})")
    on_strings, on_numbers = value_rules(schema, x, x)  # the column's type says which apply
    parts += on_strings + on_numbers
    kind = next(t for t in _types(schema) if t != "null")
    if kind == "array":
        counter[0] += 1
        e = f"e{counter[0]}"
        items = schema["items"]
        inner = typed_check(items, e, counter) if _types(items) != ["string"] else f"({e} IS NOT NULL AND {' AND '.join(value_rules(items, e, e)[0]) or 'true'})"
        parts.append(f"coalesce(list_bool_and(list_transform({x}, lambda {e}: coalesce({inner}, false))), true)")
    elif kind == "object":
        required = set(schema.get("required") or [])
        parts.extend(typed_check(sub, f"{x}.{k}", counter, optional=k not in required) for k, sub in schema["properties"].items())
    body = " AND ".join(parts) or "true"
    return f"({x} IS NULL OR ({body}))" if nullable else f"({x} IS NOT NULL AND {body})"


def _sql_literal(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return {None: "NULL", True: "true", False: "false"}[value]
    return sql_string(value) if isinstance(value, str) else repr(value)


def _properties(schema: dict[str, Any], counter: list[int]) -> str:
    return " AND ".join(typed_check(sub, f'"{k}"', counter) for k, sub in (schema.get("properties") or {}).items()) or "true"


def validity(name: str) -> str:
    """One boolean SQL expression over a staged typed frame's columns (the rules of schema ``name``)."""
    schema, counter = load_schema(name), [0]
    parts = [_properties(schema, counter)]
    if "if" in schema:  # top-level if/then over properties (curation_verdict: refused → a reason)
        parts.append(f"(NOT coalesce({_properties(schema['if'], counter)}, false) OR {_properties(schema.get('then', {}), counter)})")
    return " AND ".join(parts)


def _as_json(schema: dict[str, Any], x: str) -> str:
    """SQL turning typed column ``x`` into the JSON the table stores."""
    if _is_json_text(schema):
        return f"json({x})"
    kind = next(t for t in _types(schema) if t != "null")
    if kind == "array" and _types(schema["items"]) == ["object"]:
        return f"to_json({_as_stored_structs(schema, x)})"
    return f"to_json({x})"


def _as_stored_structs(schema: dict[str, Any], x: str) -> str:
    """SQL for typed list-of-structs column ``x`` as stored: its JSON-text fields minified by ``json()``, so
    a value lands as the same text whichever path it takes (DuckDB's JSON casts write compact text)."""
    fields = ", ".join(f"{k} := {_as_json(v, f'e.{k}') if _is_json_text(v) else f'e.{k}'}"
                       for k, v in schema["items"]["properties"].items())
    return f"list_transform({x}, lambda e: struct_pack({fields}))"


def _stored(schema: dict[str, Any], x: str, column_type: str) -> str:
    """SQL for typed column ``x`` as its table column (of DuckDB type ``column_type``) stores it."""
    if column_type == "JSON":
        return _as_json(schema, x)
    if column_type.endswith("[]") and not _is_json_text(schema) and _types(schema.get("items") or {}) == ["object"]:
        return _as_stored_structs(schema, x)
    return x


def record_of(row: dict[str, Any], name: str) -> dict[str, Any]:
    """A frame row back as the JSON record it stands for (JSON-text values decoded)."""
    schema = load_schema(name)["properties"]

    def decode(value: Any, sub: dict[str, Any]) -> Any:
        if value is None:
            return None
        if _is_json_text(sub):
            try:
                return json.loads(value)
            except (TypeError, ValueError):
                return value
        if isinstance(value, list) and _types(sub.get("items") or {}) == ["object"]:
            return [{k: decode(v, sub["items"]["properties"].get(k, {})) for k, v in item.items()} for item in value]
        return value

    return {k: decode(v, schema.get(k, {})) for k, v in row.items()}


def insert_frame(cur: duckdb.DuckDBPyConnection, table: str, name: str, frame: pl.DataFrame, types: dict[str, str],
                 consts: dict[str, Any]) -> tuple[int, list[tuple[dict[str, Any], list[str]]]]:
    """Validate and insert a typed frame; returns (rows inserted, [(record, errors)] refused)."""
    _check_dtypes(frame, name)
    schema = load_schema(name)["properties"]
    cur.register("staged_frame", frame)
    try:
        names = list(schema)
        bad, where = [], ""
        if cur.execute(f"SELECT count(*) FILTER (WHERE NOT coalesce({validity(name)}, false)) FROM staged_frame").fetchone()[0]:  # type: ignore[index]
            bad = _refused_rows(cur, frame, name)
            where = " WHERE _ok"
        if "schema_version" in types:
            consts = {**consts, "schema_version": schema_version(name)}
        exprs = [_stored(schema[n], f'"{n}"', types[n]) for n in names]
        projected = ", ".join(f'{e} AS "{n}"' for e, n in zip(exprs, names, strict=True))
        rows_sql = f"SELECT {projected} FROM staged_frame{where}"
        inserted = insert_batch(cur, table, names, rows_sql, types, consts, None if where else "staged_frame")
    finally:
        cur.unregister("staged_frame")
    return frame.height - len(bad) if inserted is None else len(inserted), bad


def _refused_rows(cur: duckdb.DuckDBPyConnection, frame: pl.DataFrame, name: str) -> list[tuple[dict[str, Any], list[str]]]:
    """The registered ``staged_frame``'s rows the typed checks refuse, explained by ``jsonschema`` (a row
    it accepts after all is kept); the frame is registered again with the verdicts as column ``_ok``."""
    ok = [bool(r[0]) for r in cur.execute(f"SELECT {validity(name)} FROM staged_frame").fetchall()]
    bad = []
    for i in (i for i, fine in enumerate(ok) if not fine):
        data = record_of(frame.row(i, named=True), name)
        errors = validate_record(name, data)
        if errors:
            bad.append((data, errors))
        else:
            ok[i] = True
    cur.unregister("staged_frame")
    cur.register("staged_frame", frame.with_columns(pl.Series("_ok", ok, dtype=pl.Boolean)))
    return bad


def records_frame(records: list[Any], name: str) -> pl.DataFrame:
    """Records (dataclasses or dicts) of schema ``name`` as a typed frame for ``land_frame``
    (free values dumped to JSON text). Raises ``FrameSchemaError`` when a value does not fit its
    column's type."""
    schema = load_schema(name)["properties"]

    def encode(value: Any, sub: dict[str, Any]) -> Any:
        if _is_json_text(sub):
            return None if value is None and ("null" in _types(sub) or not _types(sub)) else json.dumps(value, ensure_ascii=False)
        if value is None:
            return None
        kind = next(t for t in _types(sub) if t != "null")
        if kind == "array":
            if not isinstance(value, list):
                raise FrameSchemaError(f"{value!r} is not a list")
            items = sub["items"]
            if _types(items) == ["string"]:
                return [encode(v, items) for v in value]
            if not all(isinstance(item, dict) for item in value):
                raise FrameSchemaError("a list item is not an object")
            for item in value:  # in a frame an absent field is null: a null the schema forbids has no column value
                for k, v in item.items():
                    if v is None and k in items["properties"] and "null" not in _types(items["properties"][k]) and _types(items["properties"][k]):
                        raise FrameSchemaError(f"field {k} is null, which its schema does not allow")
            return [{k: encode(item.get(k), v) for k, v in items["properties"].items()} for item in value]
        if not _FITS[kind](value):
            raise FrameSchemaError(f"{value!r} does not fit a {kind} column")
        return value

    rows = []
    for r in records:
        data = r if isinstance(r, dict) else r.to_dict()
        rows.append({k: encode(data.get(k), sub) for k, sub in schema.items()})
    try:
        return pl.DataFrame(rows, schema=frame_schema(name), strict=True)
    except (TypeError, ValueError, pl.exceptions.PolarsError) as exc:
        raise FrameSchemaError(f"records do not fit the typed frame of {name}: {str(exc).splitlines()[0]}") from None

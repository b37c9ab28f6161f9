"""JSON Schema → GBNF (llama.cpp's grammar format), in Python, for constrained generation on the embedded model.

Written here rather than taken from llama.cpp's C++ converter, which throws — and so aborts the whole
process — on any schema it cannot express (an unanchored ``pattern``, an unknown type such as Swagger's
``file``), and schemas reach the model from published specs. This converter never raises on a schema: a
constraint it cannot express is left out of the grammar (the reply is still validated against the full
schema afterwards), and a schema too big or too deep becomes "any JSON value" at that point.

What it expresses: ``type`` (one or a list; ``nullable``), objects with ``properties`` (required ones first,
then any subset of the optional ones, in order; no other keys) or with ``additionalProperties`` as a schema
(free keys), arrays with ``items`` and ``minItems``/``maxItems``, strings with ``minLength``/``maxLength``,
an anchored ``pattern`` (through Python's own regex parser) or a ``date``/``date-time``/``uuid`` format,
``enum``, ``const``, ``anyOf``/``oneOf``, ``allOf`` (merged), and local ``$ref``s (recursion included).
Number bounds, ``multipleOf`` and the like are left to the validation after generation.

In: a JSON Schema (dict, or anything). Out: a grammar whose ``root`` rule produces the JSON text.
"""

from __future__ import annotations

import json
import re
from typing import Any

try:  # Python 3.11+
    from re import _constants as sre_constants  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python < 3.11
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

MAX_REPEAT = 24  # the largest {m,n} bound written into a grammar (llama.cpp expands repetitions into rules)
MAX_DEPTH = 12  # nesting deeper than this becomes "any JSON value"
MAX_PROPERTIES = 64  # properties of one object the grammar names (the rest are left out)
MAX_RULES = 3000  # a grammar larger than this is given up for "any JSON object"

BASE_RULES = {
    "space": '" "?',  # no newlines or indentation: a small model otherwise spends its tokens pretty-printing
    "char": '[^"\\\\\\x7F\\x00-\\x1F] | "\\\\" (["\\\\/bfnrt] | "u" [0-9a-fA-F]{4})',
    "string": '"\\"" char* "\\"" space',
    "integer": '"-"? ([0-9] | [1-9] [0-9]{0,15}) space',
    "number": '"-"? ([0-9] | [1-9] [0-9]{0,15}) ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,3})? space',
    "boolean": '("true" | "false") space',
    "null": '"null" space',
    "value": "object | array | string | number | boolean | null",
    "object": '"{" space (string ":" space value ("," space string ":" space value)*)? "}" space',
    "array": '"[" space (value ("," space value)*)? "]" space',
}
FORMATS = {
    "date": '"\\"" [0-9]{4} "-" [0-9]{2} "-" [0-9]{2} "\\"" space',
    "date-time": '"\\"" [0-9]{4} "-" [0-9]{2} "-" [0-9]{2} "T" [0-9]{2} ":" [0-9]{2} ":" [0-9]{2} "Z" "\\"" space',
    "uuid": '"\\"" [0-9a-f]{8} "-" [0-9a-f]{4} "-" [0-9a-f]{4} "-" [0-9a-f]{4} "-" [0-9a-f]{12} "\\"" space',
}
_JSON_CHAR_EXCLUDED = {ord('"'), ord("\\"), 0x7F, *range(0x20)}


class Unsupported(ValueError):
    """A regex construct the grammar cannot express (the pattern is then left out)."""


def schema_to_gbnf(schema: Any) -> str:
    """The grammar of JSON texts valid under ``schema`` (as far as a grammar can say; see the module doc)."""
    converter = _Converter(schema)
    try:
        root = converter.visit(schema, "root", 0)
    except RecursionError:  # pragma: no cover - guarded by MAX_DEPTH
        root = "value"
    if len(converter.rules) > MAX_RULES:
        converter = _Converter(None)
        root = "object"
    if root != "root":
        converter.rules["root"] = root
    return "\n".join(f"{name} ::= {body}" for name, body in converter.rules.items())


def gbnf_literal(text: str) -> str:
    """``text`` as a GBNF string literal."""
    return '"' + "".join(_escape(ch, '"\\') for ch in text) + '"'


def json_literal(value: Any) -> str:
    """The JSON spelling of ``value`` as a GBNF literal."""
    return gbnf_literal(json.dumps(value, ensure_ascii=False))


def _escape(ch: str, special: str) -> str:
    code = ord(ch)
    if ch in special or code < 0x20 or code == 0x7F:
        return f"\\x{code:02X}"
    if code > 0x7F:
        return f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}"
    return ch


class _Converter:
    def __init__(self, root: Any) -> None:
        self.root = root
        self.rules: dict[str, str] = dict(BASE_RULES)
        self.refs: dict[str, str] = {}

    def add(self, name: str, body: str) -> str:
        base = re.sub(r"[^a-zA-Z0-9-]+", "-", name).strip("-")[:80] or "r"
        name, n = base, 1
        while name in self.rules:
            n += 1
            name = f"{base}-{n}"
        self.rules[name] = body
        return name

    def visit(self, schema: Any, name: str, depth: int) -> str:
        """The name of a rule for ``schema``'s values (a base rule, or one added under ``name``)."""
        if not isinstance(schema, dict) or depth > MAX_DEPTH or len(self.rules) > MAX_RULES:
            return "value"
        if isinstance(schema.get("$ref"), str):
            return self.ref(schema["$ref"], depth)
        if "const" in schema:
            return self.add(name, json_literal(schema["const"]) + " space")
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self.add(name, "(" + " | ".join(json_literal(v) for v in schema["enum"]) + ") space")
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list) and schema[key]:
                alts = [self.visit(s, f"{name}-{i}", depth + 1) for i, s in enumerate(schema[key])]
                return self.add(name, " | ".join(alts))
        if isinstance(schema.get("allOf"), list) and schema["allOf"]:
            return self.visit(self.merged(schema), name, depth + 1)
        types = self.types(schema)
        if len(types) != 1:
            alts = [self.typed(schema, t, f"{name}-{t}", depth) for t in types] if types else ["value"]
            return alts[0] if len(alts) == 1 else self.add(name, " | ".join(alts))
        return self.typed(schema, types[0], name, depth)

    def types(self, schema: dict[str, Any]) -> list[str]:
        kind = schema.get("type")
        kinds = [kind] if isinstance(kind, str) else [k for k in kind if isinstance(k, str)] if isinstance(kind, list) else []
        if not kinds:
            if "properties" in schema or "additionalProperties" in schema:
                kinds = ["object"]
            elif "items" in schema:
                kinds = ["array"]
        if schema.get("nullable") is True and kinds and "null" not in kinds:
            kinds.append("null")
        return [k for k in kinds if k in ("object", "array", "string", "integer", "number", "boolean", "null")]

    def typed(self, schema: dict[str, Any], kind: str, name: str, depth: int) -> str:
        if kind == "object":
            return self.object(schema, name, depth)
        if kind == "array":
            return self.array(schema, name, depth)
        if kind == "string":
            return self.string(schema, name)
        return kind

    def ref(self, ref: str, depth: int) -> str:
        if ref in self.refs:
            return self.refs[ref]
        target = self.target(ref)
        if not isinstance(target, dict):
            return "value"
        name = self.add("ref-" + ref.rsplit("/", 1)[-1], "value")  # a placeholder that recursion can name
        self.refs[ref] = name
        self.rules[name] = self.visit(target, name + "-body", depth + 1)
        return name

    def target(self, ref: str) -> Any:
        """What a local ``#/…`` ref points at in the root schema; None for anything else."""
        if not ref.startswith("#"):
            return None
        target: Any = self.root
        for part in [p for p in ref[1:].split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part) if isinstance(target, dict) else None
        return target

    def merged(self, schema: dict[str, Any]) -> dict[str, Any]:
        """``allOf``'s parts in one schema: properties and required lists joined, other keys first-wins."""
        out: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        props, required = dict(out.get("properties") or {}), list(out.get("required") or [])
        for part in schema["allOf"]:
            part = self.resolve(part)
            if isinstance(part, dict):
                props.update(part.get("properties") or {})
                required += [r for r in part.get("required") or [] if r not in required]
                for key, value in part.items():
                    out.setdefault(key, value)
        if props:
            out.update(properties=props, required=required)
        return out

    def resolve(self, schema: Any) -> Any:
        if isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
            return self.target(schema["$ref"])
        return schema

    def object(self, schema: dict[str, Any], name: str, depth: int) -> str:
        props = schema.get("properties")
        if not isinstance(props, dict) or not props:
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict) and extra:
                value = self.visit(extra, f"{name}-value", depth + 1)
                kv = f'string ":" space {value}'
                return self.add(name, f'"{{" space ({kv} ("," space {kv}){{0,{MAX_REPEAT - 1}}})? "}}" space')
            return self.add(name, '"{" space "}" space') if extra is False else "object"
        required = set(r for r in schema.get("required") or [] if isinstance(r, str))
        items = list(props.items())[:MAX_PROPERTIES]
        kvs = {key: f"{gbnf_literal(json.dumps(key, ensure_ascii=False))} space \":\" space "
               f"{self.visit(sub, f'{name}-{key}', depth + 1)}" for key, sub in items}
        must = [kvs[k] for k, _ in items if k in required]
        may = [kvs[k] for k, _ in items if k not in required]
        if must:
            body = ' "," space '.join(must) + "".join(f' ("," space {kv})?' for kv in may)
            return self.add(name, f'"{{" space {body} "}}" space')
        if not may:
            return self.add(name, '"{" space "}" space')
        tails = [""] * (len(may) + 1)
        for i in range(len(may) - 1, -1, -1):
            tails[i] = self.add(f"{name}-tail", f'("," space {may[i]})? {tails[i + 1]}'.strip())
        starts = [f"{kv} {tails[i + 1]}".strip() for i, kv in enumerate(may)]
        return self.add(name, '"{" space (' + " | ".join(starts) + ') "}" space')

    def array(self, schema: dict[str, Any], name: str, depth: int) -> str:
        item = self.visit(schema.get("items"), f"{name}-item", depth + 1) if isinstance(schema.get("items"), dict) else "value"
        low = min(_count(schema.get("minItems"), 0), MAX_REPEAT)
        high = _count(schema.get("maxItems"), None)
        high = None if high is None or high > MAX_REPEAT else max(high, low)
        if high == 0:
            return self.add(name, '"[" space "]" space')
        more = f'("," space {item}){{{max(low - 1, 0)},{"" if high is None else high - 1}}}'
        body = f"{item} {more}" if low >= 1 else f"({item} {more})?"
        return self.add(name, f'"[" space {body} "]" space')

    def string(self, schema: dict[str, Any], name: str) -> str:
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            try:
                return self.add(name, '"\\"" ' + regex_to_gbnf(pattern) + ' "\\"" space')
            except Unsupported:
                pass
        if schema.get("format") in FORMATS and "maxLength" not in schema:
            return self.add(name, FORMATS[schema["format"]])
        low = min(_count(schema.get("minLength"), 0), MAX_REPEAT)
        high = _count(schema.get("maxLength"), None)
        if high is not None and high > MAX_REPEAT:
            high = None
        if low == 0 and high is None:
            return "string"
        return self.add(name, f'"\\"" char{{{low},{"" if high is None else max(high, low)}}} "\\"" space')


def _count(value: Any, default: int | None) -> Any:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


def regex_to_gbnf(pattern: str) -> str:
    """An anchored regex (``^…$``) as a GBNF expression over the characters of a JSON string's body;
    raises ``Unsupported`` for anything else (unanchored, lookarounds, backreferences, flags)."""
    try:
        tree = list(sre_parse.parse(pattern))
    except (re.error, RecursionError, OverflowError) as exc:
        raise Unsupported(str(exc)) from None
    at = sre_constants.AT
    if not tree or tree[0] != (at, sre_constants.AT_BEGINNING) or tree[-1] != (at, sre_constants.AT_END):
        raise Unsupported("the pattern is not anchored at both ends")
    try:
        return _sequence(tree[1:-1]) or '""'
    except RecursionError:  # pragma: no cover - a pathological nesting
        raise Unsupported("nested too deep") from None


def _sequence(items: Any) -> str:
    """A sequence of regex nodes; runs of literal characters become one GBNF literal."""
    parts, run = [], ""
    for op, arg in items:
        if op is sre_constants.LITERAL:
            run += json.dumps(chr(arg), ensure_ascii=False)[1:-1]
            continue
        if run:
            parts.append(gbnf_literal(run))
            run = ""
        parts.append(_node(op, arg))
    return " ".join([*parts, gbnf_literal(run)] if run else parts)


def _node(op: Any, arg: Any) -> str:
    c = sre_constants
    if op is c.NOT_LITERAL:
        return _class([(arg, arg)], negate=True)
    if op is c.ANY:
        return _class([], negate=True)
    if op is c.IN:
        return _in(arg)
    if op in (c.MAX_REPEAT, c.MIN_REPEAT):
        low, high, sub = arg
        low = min(low, MAX_REPEAT)
        high = "" if high is c.MAXREPEAT or high > MAX_REPEAT else max(high, low)
        return f"({_sequence(sub)}){{{low},{high}}}"
    if op is c.SUBPATTERN:
        _group, add_flags, del_flags, sub = arg
        if add_flags or del_flags:
            raise Unsupported("inline flags")
        return f"({_sequence(sub)})"
    if op is c.BRANCH:
        return "(" + " | ".join(_sequence(s) or '""' for s in arg[1]) + ")"
    raise Unsupported(f"regex construct {op}")


_CATEGORIES = {"CATEGORY_DIGIT": [(48, 57)], "CATEGORY_WORD": [(48, 57), (65, 90), (97, 122), (95, 95)],
               "CATEGORY_SPACE": [(32, 32)]}


def _in(items: Any) -> str:
    c = sre_constants
    negate, ranges = False, []
    for op, arg in items:
        if op is c.NEGATE:
            negate = True
        elif op is c.LITERAL:
            ranges.append((arg, arg))
        elif op is c.RANGE:
            ranges.append(arg)
        elif op is c.CATEGORY and getattr(arg, "name", str(arg)) in _CATEGORIES:
            ranges.extend(_CATEGORIES[getattr(arg, "name", str(arg))])
        else:
            raise Unsupported(f"character class item {op} {arg}")
    return _class(ranges, negate)


def _class(ranges: list[tuple[int, int]], negate: bool) -> str:
    """A character class over raw JSON string characters (never a quote, a backslash or a control character)."""
    if negate:
        ranges = [*ranges, (0, 0x1F), (0x22, 0x22), (0x5C, 0x5C), (0x7F, 0x7F)]
    else:
        ranges = [part for low, high in ranges for part in _without_excluded(low, high)]
        if not ranges:
            raise Unsupported("the class holds only characters a JSON string must escape")
    body = "".join(_escape(chr(lo), "\\]-^") + ("" if lo == hi else "-" + _escape(chr(hi), "\\]-^")) for lo, hi in ranges)
    return f"[{'^' if negate else ''}{body}]"


def _without_excluded(low: int, high: int) -> list[tuple[int, int]]:
    """The range ``low``..``high`` less the characters a JSON string must escape, as ranges."""
    out, start = [], None
    for code in range(low, min(high, 0x7F) + 1):
        if code in _JSON_CHAR_EXCLUDED:
            if start is not None:
                out.append((start, code - 1))
            start = None
        elif start is None:
            start = code
    if start is not None:
        out.append((start, min(high, 0x7E)))
    if high >= 0x80:
        out.append((max(low, 0x80), high))
    return out

"""JSON Schema → GBNF (tasks.llm.gbnf) and the prebuilt llama.cpp runtime that uses it.

The converter's own tests need nothing installed; the runtime's tests generate with the embedded model
(installed by `make setup`) and check that every finished reply is valid under the schema it was asked for.
"""
import json

import pytest
from jsonschema import Draft202012Validator

from schemas import load_schema
from tasks.llm.gbnf import Unsupported, regex_to_gbnf, schema_to_gbnf
from tasks.llm.jsontext import extract_json
from tasks.llm.llama_runtime import prebuilt_module_path
from tasks.llm.local_engine import ContextOverflow, LocalEngine, grammar_safe_schema
from tasks.simulation.instructions import reply_schema
from tasks.simulation.step_modes import JsonMode, Turn

needs_prebuilt = pytest.mark.skipif(prebuilt_module_path() is None,
                                    reason="the prebuilt llama.cpp runtime is installed by `make setup`")

PARAMS_WITH_DEFS = {  # as operation_tools writes a parameter schema whose body uses components: refs into its own $defs
    "type": "object", "required": ["order"],
    "properties": {"order": {"$ref": "#/$defs/Order"}, "note": {"type": "string", "maxLength": 12}},
    "$defs": {"Order": {"type": "object", "required": ["id", "kind"], "properties": {
        "id": {"type": "string", "pattern": "^[A-Z]{2}[0-9]{3}$"}, "kind": {"enum": ["book", "film"]},
        "when": {"type": "string", "format": "date"}, "parent": {"$ref": "#/$defs/Order"}}}}}


def rules(grammar: str) -> dict[str, str]:
    return dict(line.split(" ::= ", 1) for line in grammar.splitlines())


def test_anchored_patterns_become_grammar_and_others_are_refused():
    assert regex_to_gbnf("^[a-z]{2,5}$") == "([a-z]){2,5}"
    assert regex_to_gbnf("^https://[a-z]+$") == '"https://" ([a-z]){1,}'
    assert regex_to_gbnf(r"^\d{3}(-\w+|x)?$") == '([0-9]){3,3} ((("-" ([0-9A-Za-z_]){1,} | "x"))){0,1}'
    # a quote or backslash inside the value is written escaped, as JSON needs it
    assert regex_to_gbnf('^a"b$') == regex_to_gbnf('^a["]b$') == '"a\\x5C\\x22b"'
    # a negated class never lets a raw quote, backslash or control character into the string
    assert regex_to_gbnf("^[^ ]$") == '[^ \\x00-\\x1F"\\x5C\\x7F]'
    for pattern in ("[a-z]+", "^a", "b$", "^(?=a)a$", r"^(a)\1$", "^(?i:a)$", '^["\\\\]$', "^[$"):
        with pytest.raises(Unsupported):
            regex_to_gbnf(pattern)


def test_repetitions_are_bounded_for_llama_cpp():
    assert regex_to_gbnf("^[0-9]{40}$") == "([0-9]){24,}"  # a required 40 becomes "at least 24": checked after
    assert regex_to_gbnf("^a{1,100}$") == '("a"){1,}'
    g = rules(schema_to_gbnf({"type": "array", "items": {"type": "string", "maxLength": 500}, "minItems": 50}))
    assert g["root"] == '"[" space string ("," space string){23,} "]" space'


def test_objects_are_closed_required_first_then_optional_in_order():
    g = rules(schema_to_gbnf({"type": "object", "required": ["b"], "properties": {
        "a": {"type": "integer"}, "b": {"type": "boolean"}, "c": {"type": "null"}}}))
    assert g["root"] == ('"{" space "\\x22b\\x22" space ":" space boolean ("," space "\\x22a\\x22" space ":" space integer)?'
                         ' ("," space "\\x22c\\x22" space ":" space null)? "}" space')
    none_required = rules(schema_to_gbnf({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "null"}}}))
    assert none_required["root"].startswith('"{" space (') and none_required["root"].endswith(') "}" space')
    assert rules(schema_to_gbnf({"type": "object", "properties": {}, "additionalProperties": False}))["root"] == '"{" space "}" space'
    free = rules(schema_to_gbnf({"type": "object", "additionalProperties": {"type": "integer"}}))
    assert free["root"] == '"{" space (string ":" space integer ("," space string ":" space integer){0,23})? "}" space'


def test_hostile_and_unusual_schemas_never_raise():
    deep: dict = {"type": "string"}
    for _ in range(200):
        deep = {"type": "object", "required": ["x"], "properties": {"x": deep}}
    for schema in (
        {"type": "file"},  # Swagger 2's: the C++ converter aborts the process on it
        {"type": "string", "pattern": "[a-z]+"},  # unanchored: ditto
        {"$ref": "#/nowhere"}, {"$ref": "https://example.com/s.json"}, {"$ref": "#/$defs/A", "$defs": {"A": {"$ref": "#/$defs/A"}}},
        {"allOf": [{"$ref": "#/$defs/A"}, {"required": ["b"], "properties": {"b": {"type": "string"}}}],
         "$defs": {"A": {"properties": {"a": {"type": "integer"}}, "required": ["a"]}}},
        {"type": ["string", "null"]}, {"type": "string", "nullable": True}, {"enum": [1, "two", None, {"x": [1]}]},
        {"const": "tab\there \"quoted\" é"}, {"type": "string", "pattern": "^[\\]\\-^]$"}, deep, True, None, [], "string",
        {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(500)}},
    ):
        grammar = schema_to_gbnf(schema)
        assert "root" in rules(grammar)
    merged = rules(schema_to_gbnf({"allOf": [{"$ref": "#/$defs/A"}, {"required": ["b"], "properties": {"b": {"type": "string"}}}],
                                   "$defs": {"A": {"properties": {"a": {"type": "integer"}}, "required": ["a"]}}}))
    assert '"\\x22a\\x22" space ":" space integer "," space "\\x22b\\x22"' in merged[next(k for k in merged if k.startswith("root"))]


def test_json_turn_schemas_carry_their_parameters_definitions_at_the_root():
    mode = JsonMode(["placeOrder", "listOrders"], {"placeOrder": PARAMS_WITH_DEFS, "listOrders": {"type": "object", "properties": {}}})
    schema = mode.turn_schema(Turn(index=0, calls_ok=0, must_answer=False))
    assert "$defs" in schema and all("$defs" not in option for option in schema["anyOf"])
    call = {"thought": "t", "action": "placeOrder", "action_input": {"order": {"id": "AB123", "kind": "book"}}}
    assert list(Draft202012Validator(schema).iter_errors(call)) == []  # the refs resolve
    wrong = {**call, "action_input": {"order": {"id": "AB123", "kind": "song"}}}
    assert list(Draft202012Validator(schema).iter_errors(wrong))
    only = JsonMode(["placeOrder"], {"placeOrder": PARAMS_WITH_DEFS}).turn_schema(Turn(index=1, calls_ok=0, must_answer=False))
    assert list(Draft202012Validator(only).iter_errors(call)) == []


def schemas_to_follow() -> list[dict]:
    mode = JsonMode(["placeOrder"], {"placeOrder": PARAMS_WITH_DEFS})
    return [
        mode.turn_schema(Turn(index=0, calls_ok=0, must_answer=False)),
        mode.turn_schema(Turn(index=1, calls_ok=1, must_answer=False)),
        reply_schema(2),
        load_schema("llm_operation"),
        {"type": "object", "required": ["when", "tags", "id"], "properties": {
            "when": {"type": "string", "format": "date"}, "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 3},
            "id": {"type": "string", "format": "uuid"}, "score": {"type": ["number", "null"]}}},
    ]


@needs_prebuilt
@pytest.mark.local_llm
def test_every_finished_reply_follows_its_schema():
    engine = LocalEngine(runtime="prebuilt", n_ctx=4096)
    assert engine.runtime_in_use() == "prebuilt"
    finished = 0
    for i, schema in enumerate(schemas_to_follow()):
        for seed in (1,):
            messages = [{"role": "system", "content": "Reply with JSON."},
                        {"role": "user", "content": f"Write one example. Schema: {json.dumps(schema)[:600]}"}]
            gen = engine.generate(messages, json_schema=schema, max_tokens=120, temperature=0.9, seed=seed)
            assert gen.prompt_tokens > 0 and 0 < gen.completion_tokens <= 120
            if gen.finish_reason == "length":
                continue
            finished += 1
            value, why = extract_json(gen.text)
            assert why is None, (i, gen.text)
            assert list(Draft202012Validator(grammar_safe_schema(schema)).iter_errors(value)) == [], (i, gen.text)
    assert finished >= 3


@needs_prebuilt
@pytest.mark.local_llm
def test_the_token_limit_the_context_window_and_schemas_llama_cpp_would_abort_on():
    engine = LocalEngine(runtime="prebuilt", n_ctx=512)
    messages = [{"role": "user", "content": "Tell me a long story about a cat."}]
    short = engine.generate(messages, max_tokens=3, temperature=0.0)
    assert (short.finish_reason, short.completion_tokens) == ("length", 3)
    assert short.text == engine.generate(messages, max_tokens=3, temperature=0.0).text  # greedy is repeatable
    with pytest.raises(ContextOverflow):
        engine.generate([{"role": "user", "content": "word " * 600}], max_tokens=10)
    for schema in ({"type": "file"}, {"type": "string", "pattern": "[a-z]+"}):
        gen = engine.generate(messages, json_schema=schema, max_tokens=20, temperature=0.0)
        assert gen.completion_tokens > 0  # the process is still here: nothing reached llama.cpp's own converter
    assert "<|im_start|>assistant" in engine._load().chat_prompt(messages)


@needs_prebuilt
@pytest.mark.local_llm
def test_a_shared_prompt_prefix_is_reused_and_changes_nothing():
    system = {"role": "system", "content": "You describe web APIs in one sentence. " * 20}
    prompts = [[system, {"role": "user", "content": f"Describe function {name}."}] for name in ("getHolidays", "listCountries")]
    schema = {"type": "object", "required": ["summary"], "properties": {"summary": {"type": "string", "maxLength": 24}}}
    fresh = [LocalEngine(runtime="prebuilt", n_ctx=1024).generate(p, json_schema=schema, max_tokens=30, temperature=0.0).text
             for p in prompts]
    engine = LocalEngine(runtime="prebuilt", n_ctx=1024)
    llama = engine._load()
    evaluated: list[int] = []
    decode = llama._decode
    llama._decode = lambda tokens: (evaluated.append(len(tokens)), decode(tokens))[1]
    first = engine.generate(prompts[0], json_schema=schema, max_tokens=30, temperature=0.0)
    second = engine.generate(prompts[1], json_schema=schema, max_tokens=30, temperature=0.0)
    prompt_evaluations = [evaluated[0], evaluated[1 + first.completion_tokens]]
    assert prompt_evaluations[0] == first.prompt_tokens > 150
    assert prompt_evaluations[1] < second.prompt_tokens - 150  # the system prompt was kept, not evaluated again
    assert [first.text, second.text] == fresh
    assert engine.generate(prompts[0], json_schema=schema, max_tokens=30, temperature=0.0).text == fresh[0]

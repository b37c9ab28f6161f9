"""Dialogue shapes with a scripted fake backend over published specs (issue 21): what share of the dialogues get
follow-up turns, parallel calls and chains, how many come out clean (cut ones included), and the LLM calls and
factory CPU time each clean instance costs — every shape against today's single-turn, one-call dialogues.

The fake agents answer every role the way a competent model would, from the request alone: the user writes
distinct requests (a chain request remembers its chain), follow-ups and answers; the assistant (``tools`` step
mode) calls the first operation with arguments made from its parameter schema — two at once for every third
request — or, for a chain, its operations one per turn, and then answers; the executor replies with a body
made from the response schema. So what differs between shapes is the protocol, not the quality of a model.
Specs are imported the way ``toolfactory docs import`` does it; the run is ``simulate-corpus`` then
``curate-corpus`` (judge off) on a temporary warehouse.

    .venv/bin/python benchmarks/dialogue_shapes.py [--data ../shared/data] [--apis 24] [--instructions 10]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from function_graph import valid_specs  # noqa: E402  (benchmarks/function_graph.py, beside this script)

from tasks.simulation.schema_values import example_value  # noqa: E402

CHAINS: dict[str, list[str]] = {}  # request text → its chain's operations, as the fake user wrote it
WORDS = ("amber basin cobalt delta ember fjord garnet harbor indigo juniper kelp lantern meadow nectar orchid pebble quartz "
         "raven saffron tundra umber violet willow xenon yarrow zephyr anchor beacon canyon dune estuary falcon glacier heron "
         "island jasper kestrel lagoon marble nebula oasis prairie quill reef summit thistle upland vale wren yonder zinc").split()


def _n(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def _request(seed: str) -> str:
    """A request of words drawn from ``seed``: requests share no template a dedup would see through."""
    h = hashlib.sha256(seed.encode()).digest()
    return "Please check " + " ".join(WORDS[b % len(WORDS)] for b in h[:9]) + " for me"


def user(req: Any) -> Any:
    rf = (req.params.get("response_format") or {}).get("json_schema") or {}
    if rf.get("name") == "instructions":
        count = rf["schema"]["properties"]["instructions"]["minItems"]
        chain = re.search(r"in this order[^:]*: (.*?)\. Ask", req.messages[0]["content"] + req.last_user)
        ops = [part.split(" ")[0] for part in chain.group(1).split(" → ")] if chain else []
        texts = [_request(f"{req.last_user}{i}") for i in range(count)]
        for t in texts:
            if ops:
                CHAINS[t] = ops
        return {"instructions": texts}
    if "The conversation so far" in req.last_user:
        return _request(req.last_user).replace("Please check", "Thanks. Now check") + "."
    return "Use the usual values, thank you."


def assistant(req: Any) -> Any:
    from toolfactory.testing.fake_llm import FakeReply

    tools = {t["function"]["name"]: t["function"].get("parameters") or {} for t in req.params.get("tools") or []
             if t["function"]["name"] != "ask_user"}
    since = req.messages[max(i for i, m in enumerate(req.messages) if m["role"] == "user"):]
    done = sum(1 for m in since if m["role"] == "tool")
    chain = CHAINS.get(req.messages[1]["content"], []) if len(req.messages) > 1 else []
    if chain and done < len(chain) and sum(m["role"] == "user" for m in req.messages) == 1:
        name = chain[done] if chain[done] in tools else next(iter(tools))
        return FakeReply("Next in the chain.", tool_calls=[{"id": f"c{done}", "name": name,
                                                            "arguments": json.dumps(example_value(tools[name]))}])
    if done:
        return FakeReply("Here is what the API returned for your request.")
    name = next(iter(tools))
    args = example_value(tools[name])
    calls = [{"id": "a", "name": name, "arguments": json.dumps(args)}]
    if _n(since[0]["content"] or "") % 3 == 0 and isinstance(args, dict) and args:
        calls.append({"id": "b", "name": name, "arguments": json.dumps(args)})
    return FakeReply("Looking it up.", tool_calls=calls)


def executor(req: Any) -> Any:
    schema = (req.params.get("response_format") or {}).get("json_schema", {}).get("schema") or {"type": "object"}
    return example_value(schema)


SHAPE = """
WITH d AS (
    SELECT d.*, CASE WHEN d.instruction_kind = 'chain' THEN 'chain'
                     WHEN json_array_length(d.follow_ups) > 0 THEN 'follow-ups'
                     WHEN len(list_filter(d.steps, lambda s: s.call = 1)) > 0 THEN 'parallel calls'
                     ELSE 'single turn, one call a turn' END AS shape,
           len(list_distinct(list_transform(d.steps, lambda s: s.index))) + d.n_calls + json_array_length(d.follow_ups)
             + len(list_filter(d.steps, lambda s: s.action = 'ask_user')) AS llm_calls
    FROM dialogue d WHERE d.cut_from IS NULL)
SELECT shape, count(*) AS dialogues,
       count(*) FILTER (WHERE dialogue_id IN (SELECT dialogue_id FROM clean_instances)) AS clean,
       count(*) FILTER (WHERE dialogue_id IN (SELECT c.cut_from FROM clean_instances c)) AS clean_cut,
       avg(1 + json_array_length(follow_ups)) AS user_turns, avg(n_calls) AS calls, sum(llm_calls) AS llm_calls
FROM d GROUP BY shape ORDER BY dialogues DESC
"""


def run(specs: dict[str, Any], instructions: int, folder: Path) -> tuple[list[tuple], dict[str, float], dict[str, Any]]:
    from flows.curate import run_curate
    from flows.docs_import import import_docs
    from flows.settings import load_settings
    from flows.simulate_corpus import run_simulate_corpus
    from toolfactory.testing.fake_llm import FakeLLM
    from warehouse import Warehouse

    os.chdir(folder)
    Path("toolfactory.yaml").write_text(
        f"backends_file: fake\nwarehouse_path: wh.duckdb\nllm_num_retries: 0\ninstructions_per_api: {instructions}\n"
        "assistant_step_mode: tools\ncuration_judge: false\ncuration_tokenizer: words\nmax_concurrent_dialogues: 32\n"
        "curation_token_budget: 1000000\n")  # published APIs' documentation is long: the budget is not what is measured
    settings = load_settings()
    for name, spec in specs.items():
        path = folder / f"{name.replace('/', '_')}.json"
        path.write_text(json.dumps(spec))
        import_docs(settings, path)
    seconds = {}
    with FakeLLM() as fake:
        for role, fn in (("user", user), ("assistant", assistant), ("executor", executor)):
            fake.respond(role, fn)
        for stage, go in (("simulate", run_simulate_corpus), ("curate", run_curate)):
            cpu = time.process_time()
            outcome = go(settings)
            seconds[stage] = time.process_time() - cpu
    with Warehouse.open(settings.warehouse_path) as wh:
        rows = wh.execute(SHAPE)
        turns = dict(wh.execute("SELECT CASE WHEN kept THEN 'kept' ELSE reason END, count(*) FROM turn_verdict GROUP BY 1"))
        coverage = wh.execute("SELECT (SELECT count(*) FILTER (WHERE dialogues > 0) || ' of ' || count(*) FROM operation_coverage), "
                              "(SELECT count(*) FILTER (WHERE dialogues > 0) || ' of ' || count(*) FROM edge_coverage)")[0]
    return rows, seconds, {"turns": turns, "funnel": outcome["funnel"], "operations": coverage[0], "edges": coverage[1]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--apis", type=int, default=24)
    ap.add_argument("--instructions", type=int, default=10)
    args = ap.parse_args()
    specs = dict(list(valid_specs(Path(args.data)).items())[:args.apis])
    with tempfile.TemporaryDirectory() as tmp:
        rows, seconds, extra = run(specs, args.instructions, Path(tmp))
    total_llm = sum(r[6] for r in rows)
    print(f"{len(specs)} APIs, {args.instructions} instructions each; simulate {seconds['simulate']:.1f} s CPU, "
          f"curate {seconds['curate']:.1f} s CPU (spread over shapes by LLM calls)\n")
    print("| shape | dialogues | share | clean | of them cut | user turns | tool calls | LLM calls per clean | CPU ms per clean |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    n = sum(r[1] for r in rows)
    for shape, dialogues, clean, cut, user_turns, calls, llm_calls in rows:
        kept = clean + cut
        cpu = sum(seconds.values()) * llm_calls / total_llm * 1000
        print(f"| {shape} | {dialogues} | {dialogues / n:.0%} | {kept} | {cut} | {user_turns:.2f} | {calls:.2f} | "
              f"{llm_calls / kept if kept else float('nan'):.1f} | {cpu / kept if kept else float('nan'):.0f} |")
    print(f"\noperations called: {extra['operations']}; graph edges exercised: {extra['edges']}")
    print(f"assistant turns by verdict: {extra['turns']}\nfunnel: {extra['funnel']}")


if __name__ == "__main__":
    main()

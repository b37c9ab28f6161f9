"""Soak benchmark (issue #8): the simulation runs for a long time against the fake OpenAI server with
1,000 dialogues in flight, round after round on one growing warehouse, in one process — the way a
factory worker lives for hours. Per round it records dialogues per second, the process's resident
memory, its open file descriptors and its open sockets; at the end it compares the last third of
the rounds with the first third (after a warm-up round).

    .venv/bin/python benchmarks/soak.py                       # 30 minutes, latency 10 s, 1,000 in flight
    .venv/bin/python benchmarks/soak.py --minutes 2 --latency 1 --cap 200 --round 400   # a smoke run

Each round is one `simulate-corpus` flow run over ``--round`` new instructions (landed first, spread
over the APIs), with ``max_concurrent_dialogues`` = ``max_concurrent_llm_calls`` = ``--cap``. The
ideal is cap / (4 calls × latency) dialogues per second; a round's tail, when fewer than ``cap`` are
left, runs below it, the same in every round. Verdicts: memory flat (last third's median RSS within
10% of the first third's), no decay (last third's median throughput at least 90% of the first
third's), no leak (file descriptors and sockets at the end within 10 of the first round's).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from simulation_throughput import N_APIS, Server, bench_folder  # noqa: E402  (the same APIs and server as the throughput benchmark)


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _fds() -> tuple[int, int]:
    """(open file descriptors, of which sockets) of this process."""
    fds = sockets = 0
    for fd in os.listdir("/proc/self/fd"):
        fds += 1
        try:
            sockets += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:
            pass
    return fds, sockets


def soak(base_url: str, minutes: float, cap: int, per_round: int) -> list[dict[str, Any]]:
    from flows.docs_import import import_docs
    from flows.settings import Settings
    from flows.simulate_corpus import run_simulate_corpus
    from schemas.ids import content_id
    from schemas.records import Instruction
    from tasks.llm.config import load_backend_config
    from tasks.prompts import load_prompt
    from warehouse import Warehouse

    work = bench_folder(base_url, "tf-soak-")
    settings = Settings().with_overrides(
        backends_file="backends.yaml", warehouse_path=str(work / "wh.duckdb"), assistant_step_mode="json", dialogue_step_limit=2,
        llm_num_retries=0, max_concurrent_apis=N_APIS, llm_max_continuations=0, missing_detail_share=0.0, unanswerable_share=0.0,
        multi_api_share=0.0, executor_share_responses=False, max_concurrent_dialogues=cap, max_concurrent_llm_calls=cap,
        instructions_per_api=per_round // N_APIS, warehouse_replica_interval_s=60)
    import_docs(settings, work / "specs")
    user_model = load_backend_config("backends.yaml").signature("user")
    version = load_prompt("user_instructions").version

    rounds: list[dict[str, Any]] = []
    deadline = time.monotonic() + 60 * minutes
    n = 0
    while time.monotonic() < deadline:
        with Warehouse.open(settings.warehouse_path) as wh:  # this round's instructions replace the last round's
            wh.execute("DELETE FROM instruction")
            wh.land([Instruction(content_id("soak", n, d.doc_id, i), d.api_id, d.doc_id, "normal",
                                 f"Find items number {n}-{i} in {d.name}.", "", version, user_model)
                     for d in wh.valid_docs() for i in range(per_round // N_APIS)])
        started = time.perf_counter()
        summary = run_simulate_corpus(settings)
        seconds = time.perf_counter() - started
        fds, sockets = _fds()
        rounds.append({"round": n, "dialogues": summary["dialogues"], "calls": summary["llm_calls"], "errors": summary["llm_errors"],
                       "seconds": round(seconds, 1), "dps": round(summary["dialogues"] / seconds, 2), "rss_mb": round(_rss_mb(), 1),
                       "fds": fds, "sockets": sockets})
        print(json.dumps(rounds[-1]), file=sys.stderr, flush=True)
        n += 1
    with Warehouse.open(settings.warehouse_path) as wh:
        rounds[-1]["warehouse_dialogues"] = wh.count("dialogue")
    return rounds


def verdict(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    measured = rounds[1:] if len(rounds) > 3 else rounds  # round 0 warms up imports, pools and caches
    third = max(1, len(measured) // 3)
    first, last = measured[:third], measured[-third:]
    med = lambda rows, k: statistics.median(r[k] for r in rows)  # noqa: E731
    out = {
        "rounds": len(rounds), "dialogues": sum(r["dialogues"] for r in rounds), "calls": sum(r["calls"] for r in rounds),
        "errors": sum(r["errors"] for r in rounds),
        "dps_first": med(first, "dps"), "dps_last": med(last, "dps"), "rss_first_mb": med(first, "rss_mb"),
        "rss_last_mb": med(last, "rss_mb"), "fds_first": first[0]["fds"], "fds_last": rounds[-1]["fds"],
        "sockets_first": first[0]["sockets"], "sockets_last": rounds[-1]["sockets"],
    }
    out["throughput_last_over_first"] = round(out["dps_last"] / out["dps_first"], 3)
    out["rss_last_over_first"] = round(out["rss_last_mb"] / out["rss_first_mb"], 3)
    out["memory_flat"] = out["rss_last_over_first"] <= 1.10
    out["no_decay"] = out["throughput_last_over_first"] >= 0.90
    out["no_leak"] = out["fds_last"] - out["fds_first"] <= 10 and out["sockets_last"] - out["sockets_first"] <= 10
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--latency", type=float, default=10.0, help="seconds per reply of the fake server")
    ap.add_argument("--cap", type=int, default=1000, help="dialogues (and LLM calls) in flight")
    ap.add_argument("--round", type=int, default=3000, help="dialogues per round")
    ap.add_argument("--out", help="also write the rounds and the verdict as JSON here")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--base-url", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print("RESULT " + json.dumps(soak(args.base_url, args.minutes, args.cap, args.round)), flush=True)
        return
    import subprocess

    server = Server(args.latency)
    try:
        root = Path(__file__).resolve().parent.parent
        proc = subprocess.run([sys.executable, __file__, "--worker", "--base-url", f"{server.url}/v1", "--minutes", str(args.minutes),
                               "--cap", str(args.cap), "--round", str(args.round)], cwd=root, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(root)})
        peak = server.stats()["peak_in_flight"]
    finally:
        server.close()
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"the soak worker failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    rounds = json.loads(line[7:])
    result = {"latency_s": args.latency, "cap": args.cap, "per_round": args.round, "server_peak_in_flight": peak,
              "ideal_dps": round(args.cap / (4 * args.latency), 2), **verdict(rounds)}
    print("| round | dialogues | seconds | dialogues/s | RSS MB | fds | sockets |\n|---:|---:|---:|---:|---:|---:|---:|")
    for r in rounds:
        print(f"| {r['round']} | {r['dialogues']} | {r['seconds']} | {r['dps']} | {r['rss_mb']} | {r['fds']} | {r['sockets']} |")
    print(json.dumps(result, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps({"result": result, "rounds": rounds}, indent=1))


if __name__ == "__main__":
    main()

"""Benchmark: does the simulation scale with cores? The factory (``simulate-corpus`` on the fast
transport, as in ``simulation_throughput.py``) on the threads runner (one process) and on the
processes runner with N worker processes, each worker given the same load: one API task of
``--per-worker-dialogues`` dialogues at ``--per-worker-cap`` in flight. Ideal: N times the one-process rate.

The fake server is one process; so it is not the bound, ``--servers`` of them run, and the backends
file lists each as a deployment of every role (the client rotates over them).

    python benchmarks/simulation_cores.py --workers 1,2,4,8 --servers 6      # a many-core machine
    python benchmarks/simulation_cores.py --workers 1,2 --servers 1 --per-worker-dialogues 600   # a smoke run

Prints a table (rate, speed-up over the threads runner, CPU per call) and, with ``--out``, JSON rows.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from simulation_throughput import Server, _spawn_worker  # noqa: E402


def run_row(urls: str, latency: float, cap: int, dialogues: int, processes: int, apis: int) -> dict[str, Any]:
    args = ["--worker", "factory", "--transport", "fast", "--base-url", urls, "--cap", str(cap),
            "--dialogues", str(dialogues), "--apis", str(apis)]
    if processes:
        args += ["--processes", str(processes)]
    r = _spawn_worker(args)
    ideal = cap / (latency * r["calls"] / r["dialogues"])
    return {**r, "processes": processes, "cap": cap, "dps": round(r["dialogues"] / r["seconds"], 1),
            "vs_ideal": round(r["dialogues"] / r["seconds"] / ideal, 3), "cpu_ms_per_call": round(1000 * r["cpu_s"] / r["calls"], 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--per-worker-cap", type=int, default=1000)
    ap.add_argument("--per-worker-dialogues", type=int, default=3000)
    ap.add_argument("--workers", default="1,2,4,8", help="worker process counts of the processes runner")
    ap.add_argument("--servers", type=int, default=4)
    ap.add_argument("--out")
    args = ap.parse_args()
    servers = [Server(args.latency) for _ in range(args.servers)]
    try:
        urls = ",".join(f"{s.url}/v1" for s in servers)
        rows = [{"runner": "threads", **run_row(urls, args.latency, args.per_worker_cap, args.per_worker_dialogues, 0, 4)}]
        for n in (int(x) for x in args.workers.split(",")):
            rows.append({"runner": f"processes × {n}", **run_row(urls, args.latency, n * args.per_worker_cap,
                                                                 n * args.per_worker_dialogues, n, n)})
            print(f"{rows[-1]['runner']}: {rows[-1]['dps']} d/s", file=sys.stderr, flush=True)
    finally:
        for s in servers:
            s.close()
    base = rows[0]["dps"]
    print(f"cores: {os.cpu_count()}, latency {args.latency} s, {args.servers} fake servers\n")
    print("| runner | in flight | dialogues | d/s | × threads | of ideal | CPU ms/call | errors |\n|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['runner']} | {r['cap']} | {r['dialogues']} | {r['dps']} | {r['dps'] / base:.2f} | {r['vs_ideal']} "
              f"| {r['cpu_ms_per_call']} | {r['errors']} |")
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()

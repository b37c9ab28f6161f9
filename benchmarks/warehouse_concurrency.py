"""Several processes on one warehouse: what the lease costs and what readers wait.

    .venv/bin/python benchmarks/warehouse_concurrency.py [--seconds 10] [--batch 100] [--out FILE]

Side by side, in one run, on one file:
  1. one writer process landing batches of synthetic dialogues (as a flow's BatchWriter does);
  2. the same writer while this process runs `toolfactory sql`'s query path in a loop: reader latency
     (median, p95, max) and the writer's rate;
  3. two writer processes at once: their combined rate and how often the file changed hands;
  4. the replica: seconds to publish it at the final file size.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from warehouse import Warehouse  # noqa: E402
from warehouse.readonly_sql import run_query  # noqa: E402
from warehouse.replica import publish_replica  # noqa: E402

WRITER = textwrap.dedent(
    """
    import random, sys, time, json
    sys.path.insert(0, "benchmarks")
    from warehouse_ingest import catalog, dialogue
    from warehouse import Warehouse
    path, seconds, batch, seed = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    rng, apis = random.Random(seed), catalog(50)
    n = 0
    with Warehouse.open(path, replica_interval_s=5) as wh:
        print("READY", flush=True)
        end = time.monotonic() + seconds
        i = seed * 10_000_000
        while time.monotonic() < end:
            wh.land([dialogue(i + k, apis[(i + k) % 50], rng) for k in range(batch)])
            i += batch
            n += batch
        print(json.dumps({"rows": n, "seconds": seconds, "handovers": wh.handovers}), flush=True)
    """
)


def writers(path: Path, count: int, seconds: float, batch: int) -> list[subprocess.Popen]:
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(seconds), str(batch), str(k + 1)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in range(count)]
    for p in procs:
        assert p.stdout.readline().strip() == "READY", p.stderr.read()
    return procs


def results(procs: list[subprocess.Popen]) -> list[dict]:
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=600)
        if p.returncode:
            raise RuntimeError(stderr[-2000:])
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--out")
    args = ap.parse_args()
    path = Path(tempfile.mkdtemp(prefix="tf-conc-")) / "w.duckdb"
    Warehouse.open(path).close()
    fig: dict = {"batch": args.batch, "seconds": args.seconds}

    alone = results(writers(path, 1, args.seconds, args.batch))[0]
    fig["one_writer_rows_per_s"] = round(alone["rows"] / alone["seconds"])

    procs = writers(path, 1, args.seconds, args.batch)
    lat = []
    end = time.monotonic() + args.seconds - 0.5
    while time.monotonic() < end:
        t = time.perf_counter()
        run_query(path, "SELECT count(*) FROM dialogues WHERE n_calls > 1", wait_s=60)
        lat.append(time.perf_counter() - t)
        time.sleep(0.2)
    w = results(procs)[0]
    lat.sort()
    fig["with_reader"] = {"writer_rows_per_s": round(w["rows"] / w["seconds"]), "handovers": w["handovers"], "queries": len(lat),
                          "query_s_median": round(statistics.median(lat), 3), "query_s_p95": round(lat[int(0.95 * (len(lat) - 1))], 3),
                          "query_s_max": round(lat[-1], 3)}

    both = results(writers(path, 2, args.seconds, args.batch))
    fig["two_writers"] = {"rows_per_s": round(sum(r["rows"] for r in both) / args.seconds),
                          "each_rows_per_s": [round(r["rows"] / r["seconds"]) for r in both],
                          "handovers": [r["handovers"] for r in both]}

    import duckdb

    con = duckdb.connect(str(path))
    fig["file_mb"] = round(path.stat().st_size / 1e6, 1)
    fig["replica_publish_s"] = round(publish_replica(con, path), 3)
    fig["dialogues"] = con.execute("SELECT count(*) FROM dialogue").fetchone()[0]
    con.close()
    print(json.dumps(fig, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(fig, indent=1))


if __name__ == "__main__":
    main()

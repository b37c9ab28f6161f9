"""Several processes on one warehouse file: writers take turns, readers get answers while flows write."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb

from warehouse import Warehouse
from warehouse.readonly_sql import run_query
from warehouse.replica import replica_path

ROOT = Path(__file__).resolve().parents[1]

WRITER = textwrap.dedent(
    """
    import sys, time
    from schemas.ids import content_id
    from schemas.records import Rejection
    from warehouse import Warehouse
    path, tag, n, pause = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    with Warehouse.open(path, wait_s=60, replica_interval_s=0.2) as wh:
        print("OPEN", flush=True)
        for i in range(n):
            rows = [Rejection(content_id(tag, i, j), "simulation", f"{tag}-{i}", "r", "") for j in range(10)]
            wh.land(rows)
            time.sleep(pause)
        print("HANDOVERS", wh.handovers, flush=True)
    """
)


def _writer(path: Path, tag: str, n: int, pause: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(path), tag, str(n), str(pause)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_writer_processes_at_once_lose_nothing(tmp_path):
    path = tmp_path / "w.duckdb"
    Warehouse.open(path).close()
    procs = [_writer(path, tag, 60, 0.005) for tag in ("a", "b")]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    with Warehouse.open(path) as wh:
        per_tag = dict(wh.execute("SELECT split_part(subject_id, '-', 1), count(*) FROM rejection GROUP BY 1"))
    assert per_tag == {"a": 600, "b": 600}
    # they really interleaved: at least one of them handed the file over mid-run
    assert sum(int(o[0].split("HANDOVERS")[1]) for o in outs) > 0


def test_sql_answers_while_a_flow_writes_and_the_replica_is_readable(tmp_path):
    path = tmp_path / "w.duckdb"
    Warehouse.open(path).close()
    proc = _writer(path, "w", 400, 0.01)
    assert proc.stdout.readline().strip() == "OPEN"
    counts, replica_counts = [], []
    while proc.poll() is None and len(counts) < 8:
        counts.append(run_query(path, "SELECT count(*) AS n FROM rejections", wait_s=10)["n"][0])
        rp = replica_path(path)
        if rp.exists():  # what the DuckDB CLI or a notebook opens
            con = duckdb.connect(str(rp), read_only=True)
            replica_counts.append(con.execute("SELECT count(*) FROM rejection").fetchone()[0])
            con.close()
        time.sleep(0.1)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]
    assert len(counts) >= 3 and counts == sorted(counts) and counts[-1] > counts[0]  # live, growing answers
    assert counts[-1] < 4000  # read while the writer was still writing
    assert replica_counts and max(replica_counts) > 0
    # the replica published at close holds everything
    con = duckdb.connect(str(replica_path(path)), read_only=True)
    assert con.execute("SELECT count(*) FROM rejection").fetchone()[0] == 4000
    con.close()


def test_sql_reads_the_replica_when_a_foreign_program_holds_the_file(tmp_path):
    path = tmp_path / "w.duckdb"
    Warehouse.open(path).close()  # publishes the replica
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('HELD', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "HELD"
        ages = []
        df = run_query(path, "SELECT count(*) AS n FROM schema_migrations", wait_s=0.5, on_replica=ages.append)
        assert df["n"][0] > 0 and len(ages) == 1 and ages[0] >= 0
    finally:
        holder.kill()
        holder.wait()

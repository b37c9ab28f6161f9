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
    import os, sys, time
    from schemas.ids import content_id
    from schemas.records import Rejection
    from warehouse import Warehouse
    path, tag, n, folder = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    stops = {int(k) for k in sys.argv[5].split(",") if k}  # before these lands: say so, then wait to be let go
    with Warehouse.open(path, wait_s=60, replica_interval_s=0.2) as wh:
        print("OPEN", flush=True)
        for i in range(n):
            if i in stops:
                open(os.path.join(folder, f"{tag}.at{i}"), "w").close()
                while not os.path.exists(os.path.join(folder, f"{tag}.go{i}")):
                    time.sleep(0.01)
            wh.land([Rejection(content_id(tag, i, j), "simulation", f"{tag}-{i}", "r", "") for j in range(10)])
        print("HANDOVERS", wh.handovers, flush=True)
    """
)


def _writer(path: Path, tag: str, n: int, stops: tuple[int, ...] = ()) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(path), tag, str(n), str(path.parent), ",".join(map(str, stops))],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _reached(folder: Path, name: str, proc: subprocess.Popen) -> None:
    """Wait for a writer's event file (or its end: then the test fails on its output)."""
    while not (folder / name).exists():
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        time.sleep(0.01)


def test_two_writer_processes_at_once_lose_nothing(tmp_path):
    path = tmp_path / "w.duckdb"
    Warehouse.open(path).close()
    a = _writer(path, "a", 60, stops=(30,))  # a stops half way, holding the file, until b has written
    b = _writer(path, "b", 60, stops=(0,))  # b starts once a is half way
    _reached(tmp_path, "a.at30", a)
    (tmp_path / "b.go0").touch()
    while Warehouse.open(path).count("rejection", "subject_id LIKE 'b-%'") == 0:  # b's first land went through a's turn
        assert b.poll() is None, b.communicate()[1][-2000:]
        time.sleep(0.01)
    (tmp_path / "a.go30").touch()
    outs = [p.communicate(timeout=120) for p in (a, b)]
    assert [p.returncode for p in (a, b)] == [0, 0], [o[1][-2000:] for o in outs]
    with Warehouse.open(path) as wh:
        per_tag = dict(wh.execute("SELECT split_part(subject_id, '-', 1), count(*) FROM rejection GROUP BY 1"))
    assert per_tag == {"a": 600, "b": 600}
    assert int(outs[0][0].split("HANDOVERS")[1]) >= 1  # a handed the file over mid-run (to b, and to this test's reads)


def test_sql_answers_while_a_flow_writes_and_the_replica_is_readable(tmp_path):
    path = tmp_path / "w.duckdb"
    Warehouse.open(path).close()
    proc = _writer(path, "w", 400, stops=(100, 200))
    assert proc.stdout.readline().strip() == "OPEN"
    counts, replica_counts = [], []
    for stop in (100, 200):  # the writer waits there, mid-run, holding the file
        _reached(tmp_path, f"w.at{stop}", proc)
        while not replica_counts or replica_counts[-1] < 10 * stop:  # the idle writer publishes: what the DuckDB CLI opens
            rp = replica_path(path)
            if rp.exists():
                con = duckdb.connect(str(rp), read_only=True)
                replica_counts.append(con.execute("SELECT count(*) FROM rejection").fetchone()[0])
                con.close()
            assert proc.poll() is None
            time.sleep(0.05)
        counts.append(run_query(path, "SELECT count(*) AS n FROM rejections", wait_s=10)["n"][0])  # the writer hands over
        (tmp_path / f"w.go{stop}").touch()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]
    assert counts == [1000, 2000]  # live answers, read while the writer was mid-run, growing with it
    assert replica_counts[-1] == 2000  # the replica caught up while the writer paused
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

"""The ledger's write-ahead journal: calls a killed run had been answered are landed by the next run;
a live run's journal is left alone; a torn last line is skipped; a clean run leaves no journal."""

import subprocess
import sys

from schemas.records import LLMCall
from warehouse import Warehouse
from warehouse.call_journal import CallJournal

KILLED_RUN = """
import os, sys
from schemas.records import LLMCall
from warehouse.call_journal import CallJournal
j = CallJournal(sys.argv[1])
for i in range(3):
    j.append(LLMCall(f"{i:016x}", f"{i + 100:016x}", "user", "m", "v", "s", "ok", 1, 1, None, 0.1, "stop", f"answer {i}", None))
j._file.write(b'{"call_id": "torn", "reque')  # killed mid-write
j._file.flush()
os.kill(os.getpid(), 9)
"""


def call(i):
    return LLMCall(f"{i + 500:016x}", f"{i + 600:016x}", "user", "m", "v", "s", "ok", 1, 1, None, 0.1, "stop", "x", None)


def test_a_killed_runs_answered_calls_are_landed_by_the_next_run(tmp_path):
    path = str(tmp_path / "wh.duckdb")
    Warehouse.open(path).close()
    killed = subprocess.run([sys.executable, "-c", KILLED_RUN, path], capture_output=True)
    assert killed.returncode == -9 and len(list(tmp_path.glob(".wh.duckdb.calls-*.jsonl"))) == 1

    live = CallJournal(path)  # a run still going: its journal must not be taken
    live.append(call(0))
    with Warehouse.open(path) as wh:
        assert CallJournal.recover(wh) == 3
        assert sorted(wh.execute("SELECT call_id, response_text FROM llm_call")) == [(f"{i:016x}", f"answer {i}") for i in range(3)]
        assert [p.name for p in tmp_path.glob(".wh.duckdb.calls-*.jsonl")] == [live.path.name]
        assert CallJournal.recover(wh) == 0  # recovered once; the live one still held
    live.close(remove=True)
    assert list(tmp_path.glob(".wh.duckdb.calls-*.jsonl")) == []


def test_the_ledger_recovers_on_start_and_removes_its_journal_when_it_closes(tmp_path):
    from flows.runtime import RunLedger

    path = str(tmp_path / "wh.duckdb")
    Warehouse.open(path).close()
    subprocess.run([sys.executable, "-c", KILLED_RUN, path], capture_output=True)
    with Warehouse.open(path) as wh:
        ledger = RunLedger(wh)
        assert ledger.recovered == 3 and ledger.lookup(f"{101:016x}").response_text == "answer 1"  # the cache knows them
        ledger(call(1))
        assert ledger.journal.path.exists()
        ledger.close()
        assert list(tmp_path.glob(".wh.duckdb.calls-*.jsonl")) == [] and wh.count("llm_call") == 4


def test_a_run_lands_no_more_often_than_its_land_interval(tmp_path):
    # warehouse_land_interval_s reaches the run's writer: under load records gather for that long,
    # while a record that finds the writer idle lands at once
    import time

    from flows.runtime import llm_session
    from flows.settings import Settings

    settings = Settings().with_overrides(warehouse_path=str(tmp_path / "wh.duckdb"), backends_file="fake",
                                         warehouse_land_interval_s=0.6)
    with Warehouse.open(settings.warehouse_path) as wh, llm_session(settings, wh) as (_, ledger):
        landed: list[float] = []
        ledger.writer.on_landed = lambda batch: landed.append(time.monotonic())
        ledger(call(0))
        time.sleep(0.2)
        assert wh.count("llm_call") == 1  # the first record found the writer idle
        for i in range(1, 6):
            ledger(call(i))
            time.sleep(0.05)
        assert wh.count("llm_call") == 1  # the other five wait out the interval
        time.sleep(0.6)
        assert wh.count("llm_call") == 6 and len(landed) == 2 and landed[1] - landed[0] >= 0.55  # together, no flush

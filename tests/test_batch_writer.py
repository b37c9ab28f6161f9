"""The warehouse's batched writer: prompt when quiet, batched under load, loud on failure."""

import threading
import time

import pytest

from schemas.records import Rejection
from warehouse import Warehouse
from warehouse.batch_writer import BatchWriter


def rejection(i):
    return Rejection(f"{i:016x}", "simulation", "a" * 16, "dialogue_crashed", f"number {i}")


@pytest.fixture
def wh(tmp_path):
    with Warehouse.open(tmp_path / "w.duckdb") as w:
        yield w


def test_a_quiet_writer_lands_each_record_without_a_flush(wh):
    writer = BatchWriter(wh, max_delay_s=0.1)
    writer.put([rejection(1)])
    deadline = time.time() + 5
    while wh.count("rejection") == 0 and time.time() < deadline:
        time.sleep(0.01)
    assert wh.count("rejection") == 1
    writer.close()


def test_records_put_from_many_threads_land_in_few_batches(wh):
    batches = []
    writer = BatchWriter(wh, max_delay_s=0.2, on_landed=batches.append)

    def put(start):
        for i in range(start, start + 250):
            writer.put([rejection(i)])

    threads = [threading.Thread(target=put, args=(k * 1000,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.flush()
    assert wh.count("rejection") == 1000 and sum(map(len, batches)) == 1000
    assert len(batches) < 100  # group commits, not one transaction a record
    writer.close()


def test_a_failed_landing_is_raised_by_flush_not_dropped(wh):
    writer = BatchWriter(wh, max_delay_s=0.05)
    wh.close()  # every landing now fails
    writer.put([rejection(1)])
    with pytest.raises(RuntimeError, match="could not be landed"):
        writer.flush()
    writer.close()

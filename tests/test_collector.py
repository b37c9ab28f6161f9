"""The garbage collector as a run sets it: tuned inside a session, Python's again outside."""

import gc

from flows.collector import tuned_collector


def test_a_session_freezes_what_exists_and_raises_the_first_threshold_then_undoes_both():
    before, frozen_before = gc.get_threshold(), gc.get_freeze_count()
    old = [object() for _ in range(10)]
    with tuned_collector(40_000):
        assert gc.get_threshold() == (40_000, *before[1:])
        assert gc.get_freeze_count() >= frozen_before + 1  # the objects made before are out of collections
        with tuned_collector(40_000):  # a nested session shares the setting
            assert gc.get_threshold()[0] == 40_000
        assert gc.get_threshold()[0] == 40_000  # still inside the outer one
        cycle = []
        cycle.append(cycle)  # cyclic garbage made inside is still collected
        del cycle
        assert gc.collect() >= 1
    assert gc.get_threshold() == before and gc.get_freeze_count() == frozen_before
    assert len(old) == 10


def test_zero_leaves_the_collector_alone():
    before, frozen_before = gc.get_threshold(), gc.get_freeze_count()
    with tuned_collector(0):
        assert gc.get_threshold() == before and gc.get_freeze_count() == frozen_before
    assert gc.get_threshold() == before


def test_a_flow_session_runs_under_the_setting(tmp_path):
    from flows.runtime import llm_session
    from flows.settings import Settings
    from warehouse import Warehouse

    settings = Settings().with_overrides(warehouse_path=str(tmp_path / "wh.duckdb"), backends_file="fake", gc_threshold=12_345)
    before = gc.get_threshold()
    with Warehouse.open(settings.warehouse_path) as wh, llm_session(settings, wh):
        assert gc.get_threshold()[0] == 12_345
    assert gc.get_threshold() == before

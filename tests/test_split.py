"""The held-out split (stratified, fixed once assigned), its effect on snapshots, the factory's
evaluation set, and the leakage check."""

from __future__ import annotations

from collections import Counter

import pytest

from tasks.evaluation.split import Side, assign_splits, leakage
from tests.support.rows import add_clean_instances


def test_the_split_is_stratified_deterministic_and_fixed():
    apis = [(f"a{i:02d}", "Big") for i in range(20)] + [(f"b{i}", "Small") for i in range(4)] + [("c0", "Solo")]
    first = assign_splits(apis, 0.1, 0, {})
    assert first == assign_splits(list(reversed(apis)), 0.1, 0, {})  # the order of the catalog does not matter
    held = Counter(cat for (api, cat) in apis if first[api] == "heldout")
    assert held == {"Big": 2}  # 20 APIs at 10%: two; 4 or fewer: none
    assert assign_splits(apis, 0.1, 1, {}) != first  # another seed, another draw
    existing = {a: (s, dict(apis)[a]) for a, s in first.items()}
    grown = assign_splits(apis + [(f"a{i}", "Big") for i in range(20, 30)], 0.1, 0, existing)
    assert set(grown) == {f"a{i}" for i in range(20, 30)}  # only the new APIs are assigned; the old keep theirs
    assert sum(s == "heldout" for s in grown.values()) == 1  # 30 APIs at 10%: three in all
    assert "heldout" in assign_splits([(f"b{i}", "Small") for i in range(5)], 0.1, 0, {}).values()  # 5 APIs: one


def test_leakage_finds_names_descriptions_and_shared_instruction_ngrams():
    test = Side([{"api_id": "t1", "name": "Moon Phase API", "description": "Phases of the moon for any date"},
                 {"api_id": "t2", "name": "Dog Facts", "description": "Random facts about dogs"}],
                ["What phase is the moon in over Lisbon tonight?", "Tell me a dog fact."])
    train = Side([{"api_id": "r1", "name": "moon-phase api", "description": "Tides"},
                   {"api_id": "r2", "name": "Cat Facts", "description": "Random facts about dogs and cats"},
                   {"api_id": "t2", "name": "Dog Facts", "description": "Random facts about dogs"}],
                 ["Please tell me what phase is the moon in over Oslo?", "A cat fact please."])
    report = leakage(test, train)
    assert report["n_name_overlaps"] == 2
    assert {(o["test"], o["train"], o["same_api"]) for o in report["name_overlaps"]} == {
        ("Moon Phase API", "moon-phase api", False), ("Dog Facts", "Dog Facts", True)}
    assert report["n_description_overlaps"] == 0  # "dogs and cats" is under the bigram threshold
    assert report["instructions_sharing_ngram"] == 1 and report["instruction_overlap_share"] == 0.5
    assert report["instruction_examples"][0]["shared"] == "what phase is the moon"


@pytest.fixture
def settings(workdir, prefect_harness):
    from flows.settings import load_settings

    (workdir / "toolfactory.yaml").write_text("backends_file: fake\nwarehouse_path: wh.duckdb\ncuration_judge: false\n"
                                              "curation_tokenizer: words\ntraining_auto: false\n")
    return load_settings()


def test_held_out_apis_never_reach_a_snapshot_and_become_the_factory_set(settings, workdir, capsys):
    from flows.corpus_export import take_snapshot
    from toolfactory.cli import main
    from warehouse import Warehouse
    from warehouse.training_runs import untrained_count

    names = ["Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta"]
    add_clean_instances(settings, workdir, names)  # six APIs of one category: one is held out at 10%
    snap = take_snapshot(settings)
    with Warehouse.open(settings.warehouse_path) as wh:
        held = wh.execute("SELECT api_name FROM api_splits WHERE split = 'heldout'")
        assert len(held) == 1 and wh.count("api_splits") == 6
        assert snap["n_instances"] == 5 and untrained_count(wh) == 5
        assert not wh.count("snapshot_instances", "api_name = ?", [held[0][0]])
    assert main(["split"]) == 0
    out = capsys.readouterr().out
    assert "heldout_apis               1" in out and "heldout_set_landed_now     1" in out
    assert "instructions_sharing_ngram: 1" in out  # the fixture's instructions share a template: the check says so
    with Warehouse.open(settings.warehouse_path) as wh:
        golden = wh.frame("SELECT api_name, calls, source FROM golden_answers").to_dicts()
        assert [(g["api_name"], g["source"]) for g in golden] == [(held[0][0], "factory:heldout")]
        assert '"getPhase"' in golden[0]["calls"]
    assert main(["split"]) == 0 and "assigned_now               0" in capsys.readouterr().out  # fixed: nothing reassigned

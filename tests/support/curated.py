"""The moon catalog documented and simulated through Prefect's harness with the scripted fake (judge
included): the fixtures curation and export tests start from."""

from __future__ import annotations

import pytest

from flows.build_toolset import run_build_toolset
from flows.simulate_corpus import run_simulate_corpus
from tests.support.scripts import assistant, judge, user


@pytest.fixture
def simulated(prefect_harness, settings, fake_llm):
    from tests.support.scripts import documenter_responder

    fake_llm.respond("documenter", documenter_responder())
    fake_llm.respond("user", user)
    fake_llm.respond("assistant", assistant)
    fake_llm.respond("executor", lambda req: {"results": [{"placeId": "lis-1", "name": "Lisbon"}]})
    fake_llm.respond("judge", judge)
    assert run_build_toolset(settings)["valid"] == 2
    assert run_simulate_corpus(settings)["dialogues"] == 6
    return settings.with_overrides(curation_tokenizer="words", curation_page_size=4)  # 6 dialogues: two pages


@pytest.fixture
def settings(workdir, fixtures):
    from flows.catalog_import import import_catalog
    from flows.settings import load_settings

    (workdir / "toolfactory.yaml").write_text(
        "backends_file: fake\nwarehouse_path: wh.duckdb\ndocumenter_spec_mode: operations\nllm_num_retries: 0\n"
        "instructions_per_api: 3\nmissing_detail_share: 0.34\nunanswerable_share: 0\nmax_concurrent_dialogues: 4\n"
        "dialogue_step_limit: 4\n")
    s = load_settings()
    import_catalog(s, fixtures / "catalog.csv")
    return s

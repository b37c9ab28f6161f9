"""Incremental regeneration through the `regenerate` flow: a second run costs no LLM call; a changed
prompt re-runs only its stage; the superseded rows keep their lineage."""

from __future__ import annotations

import pytest

from flows.pipeline import regenerate
from flows.settings import describe
from tests.support.scripts import assistant, documenter_responder, judge, user


@pytest.fixture
def settings(workdir, fixtures, prefect_harness, fake_llm):
    from flows.settings import load_settings

    (workdir / "toolfactory.yaml").write_text(
        "backends_file: fake\nwarehouse_path: wh.duckdb\ndocumenter_spec_mode: operations\nllm_num_retries: 0\n"
        "instructions_per_api: 3\nmissing_detail_share: 0.34\nunanswerable_share: 0\nmax_concurrent_dialogues: 4\n"
        "dialogue_step_limit: 4\ncuration_tokenizer: words\ntraining_threshold: 1000\n")
    fake_llm.respond("documenter", documenter_responder())
    fake_llm.respond("user", user)
    fake_llm.respond("assistant", assistant)
    fake_llm.respond("executor", lambda req: {"results": [{"placeId": "lis-1", "name": "Lisbon"}]})
    fake_llm.respond("judge", judge)
    return load_settings()


def roles(fake, since=0):
    from collections import Counter

    return dict(Counter(c.role for c in fake.calls[since:]))


@pytest.mark.slow  # over 10 s
def test_a_second_run_costs_nothing_and_a_changed_prompt_reruns_only_its_stage(settings, fixtures, fake_llm, monkeypatch, capsys):
    params = {"settings": describe(settings), "catalog": str(fixtures / "catalog.csv")}
    first = regenerate(**params)
    assert first["toolset"]["valid"] == 2 and first["curation"]["kept_now"] == 4
    first_roles = roles(fake_llm)
    assert set(first_roles) == {"documenter", "user", "assistant", "executor", "judge"}

    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from toolfactory.cli import main

    async def report():
        async with get_client() as client:
            found = await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["regenerate-report"])))
            return max(found, key=lambda a: a.created).data

    text = asyncio.run(report())
    assert "| documentation | 2 | 2 | 0 | - | 0 |" in text and "| curation | 6 | 4 | 0 | semantic/judge_unfulfilled: 2 | 0 |" in text
    assert "4 clean instances" in text and "training: 0 clean instances" not in text
    check_plots(text, settings, first_roles)

    assert main(["status"]) == 0
    shown = capsys.readouterr().out
    assert "dialogues                  6 (0 imported)" in shown and "clean instances            4" in shown
    assert "2 valid, 0 invalid" in shown and "LLM calls" in shown

    n = len(fake_llm.calls)
    again = regenerate(**params)
    assert len(fake_llm.calls) == n  # nothing new: no LLM call at all
    assert again["toolset"]["skipped_existing"] == 2 and again["simulation"]["skipped_existing"] == 6
    assert again["curation"]["decided_now"] == 0

    import tasks.prompts as prompts

    original = prompts.read_asset
    monkeypatch.setattr(prompts, "read_asset", lambda f: original(f) + ("\nBe strict." if f == "judge_semantic.md" else ""))
    prompts.load_prompt.cache_clear()
    try:
        changed = regenerate(**params)
    finally:
        prompts.load_prompt.cache_clear()
    assert set(roles(fake_llm, n)) == {"judge"}  # only the judge's stage ran again
    assert changed["curation"]["decided_now"] == 6 and changed["curation"]["judged_now"] == 6
    assert changed["toolset"]["skipped_existing"] == 2 and changed["simulation"]["skipped_existing"] == 6


@pytest.mark.slow  # over 10 s
def test_superseded_docs_keep_their_lineage(settings, fixtures, fake_llm, monkeypatch):
    import tasks.prompts as prompts
    from warehouse import Warehouse

    params = {"settings": describe(settings), "catalog": str(fixtures / "catalog.csv")}
    regenerate(**params)
    original = prompts.read_asset
    monkeypatch.setattr(prompts, "read_asset", lambda f: original(f) + ("\nBe brief." if f == "documenter_outline.md" else ""))
    prompts.load_prompt.cache_clear()
    try:
        regenerate(**params)
    finally:
        prompts.load_prompt.cache_clear()
    with Warehouse.open(settings.warehouse_path) as wh:
        rows = wh.frame("SELECT api_name, doc_id, superseded_by, superseded_because FROM doc_versions ORDER BY api_name, created_at").to_dicts()
        assert len(rows) == 4  # two versions of each API's doc, both kept
        old = [r for r in rows if r["superseded_by"]]
        assert len(old) == 2 and all(r["superseded_because"] == "documenter prompts changed" for r in old)
        current = {r[0] for r in wh.execute("SELECT doc_id FROM apis")}
        assert current == {r["superseded_by"] for r in old}  # the view `apis` shows the newest


def check_plots(text, settings, calls_by_role):
    """The report shows the three plots inline (PNG data URIs), writes them beside report.md, and
    draws them from the warehouse's numbers."""
    import base64
    import io
    import re
    from pathlib import Path

    from PIL import Image

    from flows.runtime import open_warehouse
    from warehouse.reports import report_figures

    inline = re.findall(r"!\[([^\]]+)\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", text)
    assert [title for title, _ in inline] == ["Category mix", "Curation funnel", "Cost per clean instance"]
    for _, data in inline:
        image = Image.open(io.BytesIO(base64.b64decode(data)))
        assert image.format == "PNG" and image.size[0] > 400 and image.size[1] > 80
    folders = sorted(Path(settings.run_report_dir).glob("regenerate-*"))
    assert folders and (folders[-1] / "report.md").read_text().count("](") == 3
    assert {p.name for p in folders[-1].glob("*.png")} == {"category_mix.png", "funnel.png", "cost_per_clean_instance.png"}

    with open_warehouse(settings) as wh:
        figures = report_figures(wh)
    assert sum(d for d, _ in figures["categories"].values()) == 6 and figures["clean"] == 4
    assert sum(c for _, c in figures["categories"].values()) == 4 and len(figures["categories"]) == 2
    assert figures["funnel"][0] == ("format", 6, 6) and figures["funnel"][-1][0] == "length" and figures["funnel"][-1][2] == 4
    assert {role: n for role, (_, n, _) in figures["cost_by_role"].items()} == calls_by_role

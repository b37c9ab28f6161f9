"""Simulation on imported documents (issue #16): a Swagger 2 API and an MCP tool list simulate like
documented APIs, and a large API keeps every operation while its instructions and dialogues see a
bounded slice, recorded on them."""

import json
import re

import pytest

from flows.curate import run_curate
from flows.docs_import import import_docs
from flows.settings import load_settings
from flows.simulate_corpus import run_simulate_corpus
from tasks.simulation.toolset_slice import ToolsetSlicer
from warehouse import Warehouse


def big_tool_list(n: int) -> dict:
    return {"tools": [{"name": f"tool_{i:02d}", "description": f"Does thing number {i}.",
                       "inputSchema": {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]}}
                      for i in range(n)]}


def test_the_slicer_rotates_windows_and_keeps_neighbours():
    from tasks.documentation.tool_lists import to_openapi

    spec, _ = to_openapi(big_tool_list(30), "Big")
    slicer = ToolsetSlicer(spec, slice_max=8)
    assert slicer.large and slicer.targets_size == 2
    assert slicer.targets(0) == ["tool_00", "tool_01"] and slicer.targets(1) == ["tool_02", "tool_03"]
    assert slicer.targets(15) == slicer.targets(0)  # 15 windows, then round again
    names = slicer.slice_for(["tool_10", "tool_11"])
    assert names == [f"tool_{i:02d}" for i in range(6, 16)]  # the targets and their 8 nearest neighbours, in spec order
    assert [p.rsplit("/", 1)[1] for p in slicer.spec_for(names)["paths"]] == names
    assert not ToolsetSlicer(spec, slice_max=30).large


def test_a_slice_is_bounded_by_the_documentation_it_shows():
    from tasks.documentation.tool_lists import to_openapi

    tools = big_tool_list(30)
    for big in ("tool_11", "tool_20"):
        next(t for t in tools["tools"] if t["name"] == big)["description"] = "A very long account. " * 250
    spec, _ = to_openapi(tools, "Big")
    bound = ToolsetSlicer(spec).shown_chars(["tool_08", "tool_09", "tool_10", "tool_12"])
    slicer = ToolsetSlicer(spec, slice_max=8, max_chars=bound)
    assert slicer.slice_for(["tool_10"]) == ["tool_08", "tool_09", "tool_10", "tool_12"]  # nearest first; too big: passed over
    assert slicer.shown_chars(slicer.slice_for(["tool_10"])) <= bound
    assert slicer.slice_for(["tool_20"]) == ["tool_20"]  # a target is shown whatever its size
    assert len(ToolsetSlicer(spec, slice_max=8).slice_for(["tool_10"])) == 9  # no bound: by count alone
    assert slicer.targets(5) == ["tool_10"] and slicer.targets(4) == ["tool_08", "tool_09"]  # a window's targets fit too
    assert slicer.targets_across(["tool"], 0) == ["tool_00", "tool_01"]


def user(req):
    if "requests" in req.last_user and "instructions" in json.dumps(req.messages):
        names = re.findall(r"^(tool_\d+|listProducts|addProduct|getProductsByProductId|uploadPhoto|get_weather|notes_search):",
                           req.last_user, re.MULTILINE)
        return {"instructions": [f"Please run {n.replace('_', ' ')} on the red box today." for n in names[:1]]
                + ["Please help me with the blue box on Friday morning."]}
    return "The red one."


def assistant(req):
    shown = re.findall(r"^(\w+):", req.messages[1]["content"] if len(req.messages) > 1 else "", re.MULTILINE)
    if sum(1 for m in req.messages if m["role"] == "assistant") == 0:
        name = next((n for n in re.findall(r"^([A-Za-z_]\w*): ", req.messages[0]["content"] + "\n" + req.messages[1]["content"],
                                           re.MULTILINE) if n.startswith(("tool_", "get_weather", "listProducts"))), shown[0] if shown else "x")
        arguments = '{"city": "Oslo"}' if name == "get_weather" else '{"x": "red"}'
        return f"Thought: call it\nAction: {name}\nAction Input: {arguments}"
    return "Thought: done\nFinal Answer: Done with the red box."


@pytest.fixture
def project(workdir, fixtures):
    (workdir / "big.json").write_text(json.dumps(big_tool_list(30)))
    (workdir / "toolfactory.yaml").write_text(
        "backends_file: fake\nwarehouse_path: wh.duckdb\nllm_num_retries: 0\ninstructions_per_api: 2\n"
        "missing_detail_share: 0\nunanswerable_share: 0\nmulti_api_share: 0\nassistant_step_mode: react\n"
        "toolset_slice_max: 4\ndialogue_step_limit: 3\ncuration_judge: false\ncuration_tokenizer: words\n")
    settings = load_settings()
    assert import_docs(settings, workdir / "big.json")["usable"] == 1
    assert import_docs(settings, fixtures / "sources" / "mcp_tools.json")["usable"] == 1
    return settings


def test_imported_apis_simulate_and_a_large_one_is_sliced(prefect_harness, project, fake_llm):
    fake_llm.respond("user", user)
    fake_llm.respond("assistant", assistant)
    fake_llm.respond("executor", lambda req: {"result": "ok", "colour": "red"})
    summary = run_simulate_corpus(project)
    assert summary["apis"] == 2 and summary["task_failures"] == 0 and summary["dialogues"] == 4
    with Warehouse.open(project.warehouse_path) as wh:
        assert wh.count("functions", "api_name = 'big'") == 30  # every operation kept
        rows = wh.execute("SELECT a.name, CAST(i.target_functions AS VARCHAR), CAST(d.toolset AS VARCHAR) "
                          "FROM instructions i JOIN dialogues d USING (instruction_id) JOIN apis a ON a.api_id = i.api_id")
        assert len(rows) == 4
        for api, targets, toolset in rows:
            targets, toolset = json.loads(targets), json.loads(toolset)
            if api == "big":
                assert len(targets) == 1 and set(targets) <= set(toolset) and len(toolset) == 5
            else:
                assert targets == [] and toolset == []  # a small API is shown whole
        calls = wh.execute("SELECT action, status FROM steps WHERE action IS NOT NULL")
        assert calls and all(status == 200 for _, status in calls)
    prompts = [m["content"] for r in fake_llm.calls_for("assistant") for m in r.messages if m["role"] == "system"]
    big = [p for p in prompts if "tool_" in p]
    assert big and all(len(set(re.findall(r"\btool_\d\d\b", p))) <= 5 for p in big)  # bounded: never all 30
    users = [r.last_user for r in fake_llm.calls_for("user") if "tool_" in r.last_user and "The conversation so far" not in r.last_user]
    assert users and all(len(set(re.findall(r"\btool_\d\d\b", u))) == 1 for u in users)
    curated = run_curate(project)
    assert curated["funnel"]["format/kept"] == 4

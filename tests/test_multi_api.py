"""Multi-API instructions within a category: combined specs, pairing, generation, and the flow
(with a top-up when the target is raised)."""

import json
import re

import pytest

from flows.docs_import import import_docs
from flows.settings import load_settings
from flows.simulate_corpus import run_simulate_corpus
from schemas.views import DocumentedApi
from tasks.documentation.nl_docs import derive_functions
from tasks.llm.backend import LLMClient
from tasks.llm.config import load_backend_config
from tasks.simulation.call_check import check_call
from tasks.simulation.instructions import MultiApi, generate_instructions
from tasks.simulation.multi_api import combine, partners, prefix_for
from tests.support.scripts import schema_name
from tests.support.specs import SHOP
from warehouse import Warehouse


def api(name, spec):
    return DocumentedApi("a" * 16, "d" * 16, name, "Shopping", spec, "")


def test_combined_spec_keeps_both_apis_apart():
    other = json.loads(json.dumps(SHOP))  # same operation names and component names: they must not collide
    spec, title, prefixes = combine([api("Shop", SHOP), api("shop 2 (EU)", other)])
    assert title == "Shop + shop 2 (EU)" and prefixes == ["Shop", "Shop2EU"]
    names = [f.name for f in derive_functions(spec)]
    assert names == [f"{p}_{n}" for p in ("Shop", "Shop2EU") for n in ("searchItems", "getItem", "reviewItem")]
    assert set(spec["components"]["schemas"]) == {"Shop_Review", "Shop2EU_Review"}
    call = check_call(spec, "Shop2EU_reviewItem", {"itemId": 3, "stars": 9})  # the renamed $ref still applies
    assert not call.ok and call.problems[0].parameter == "stars"
    ok = check_call(spec, "Shop_getItem", {"itemId": "7"})
    assert ok.ok and ok.path == "/Shop/items/7"


def test_prefixes_are_identifiers_and_unique():
    taken: set[str] = set()
    assert [prefix_for(n, taken) for n in ("open weather", "Open-Weather", "123 maps", "")] == \
        ["OpenWeather", "OpenWeather2", "A123Maps", "Api"]


def test_partners_stay_within_a_category_and_are_stable():
    docs = [DocumentedApi(f"a{i}", f"d{i}", f"API {i}", c, None, "") for i, c in enumerate("WWWMX")]
    pairs = partners(docs, seed=1)
    assert set(pairs) == {"d0", "d1", "d2"}  # M and X are alone in their categories
    assert all(pairs[d].category == "W" and pairs[d].doc_id != d for d in pairs)
    assert sorted(p.doc_id for p in pairs.values()) == ["d0", "d1", "d2"]  # a ring: each API is someone's partner
    assert partners(list(reversed(docs)), seed=1) == pairs


def test_multi_api_instructions_use_the_combined_functions(fake_llm):
    fake_llm.queue("user", {"instructions": ["Find a lamp and then check the weather in Oslo before shipping."]},
                   {"instructions": ["Ask WeatherNow if it rains in Oslo, then buy an umbrella."]})
    client = LLMClient(load_backend_config("fake"), num_retries=0, max_continuations=0)
    multi = MultiApi("b" * 16, "WeatherNow", "Shop_searchItems: …\nWeatherNow_forecast: …")
    batch = generate_instructions(client, api_id="a" * 16, doc_id="d" * 16, api_name="Shop", functions_doc="searchItems: …",
                                  counts={"multi_api": 1}, multi=multi, model="fake")
    (only,) = batch.instructions
    assert only.kind == "multi_api" and only.partner_doc_ids == ["b" * 16]
    assert "WeatherNow_forecast" in fake_llm.calls[0].last_user and "two APIs" in fake_llm.calls[0].last_user
    again = generate_instructions(client, api_id="a" * 16, doc_id="d" * 16, api_name="Shop", functions_doc="…",
                                  counts={"multi_api": 1}, multi=multi, model="fake")
    assert again.instructions == [] and [r.reason for r in again.rejections] == ["names_the_api", "too_few"]  # the partner's name too
    alone = generate_instructions(client, api_id="a" * 16, doc_id="d" * 16, api_name="Shop", functions_doc="…",
                                  counts={"multi_api": 2})
    assert [r.reason for r in alone.rejections] == ["no_partner"] and len(fake_llm.calls) == 2


# the flow --------------------------------------------------------------------------------------
NORMAL = ["Find novels by Tolstoy in French.", "Look up the book with ID 42.", "Which books about gardening are in German?"]
MULTI = ["Find a Tolstoy novel in one library, then the same title in the other.",
         "Search both libraries for books about chess openings."]


def user(req):
    if schema_name(req) == "instructions":
        return {"instructions": MULTI if "two APIs" in req.last_user else NORMAL}
    return "Any language is fine."


def assistant(req):
    system, first_user = req.messages[0]["content"], req.messages[1]["content"]
    turns = sum(1 for m in req.messages if m["role"] == "assistant")
    prefixed = re.findall(r"^(\w+)_searchBooks:", system, re.MULTILINE)
    if first_user in MULTI and turns < 2:  # one call into each API
        return f'Action: {prefixed[turns]}_searchBooks\nAction Input: {{"query": "Tolstoy"}}'
    if first_user in NORMAL and turns == 0:
        return 'Action: searchBooks\nAction Input: {"query": "Tolstoy"}'
    return "Final Answer: Found them."


@pytest.fixture
def project(workdir, fixtures):
    spec = json.loads((fixtures / "good_spec.json").read_text())
    specs = workdir / "specs"
    specs.mkdir()
    for name in ("City Library", "Town Library"):
        spec["info"]["title"] = name
        (specs / f"{name.split()[0]}.json").write_text(json.dumps(spec))
    (workdir / "toolfactory.yaml").write_text(
        "backends_file: fake\nwarehouse_path: wh.duckdb\nllm_num_retries: 0\ninstructions_per_api: 2\n"
        "missing_detail_share: 0\nunanswerable_share: 0\nmulti_api_share: 0.5\nassistant_step_mode: react\n")
    settings = load_settings()
    assert import_docs(settings, specs, category="Books")["usable"] == 2
    return settings


def test_multi_api_dialogues_and_a_top_up(prefect_harness, project, fake_llm):
    fake_llm.respond("user", user)
    fake_llm.respond("assistant", assistant)
    fake_llm.respond("executor", lambda req: {"results": [{"bookId": "b1", "title": "War and Peace"}]})
    first = run_simulate_corpus(project)
    assert first["instructions"] == 4 and first["dialogues"] == 4 and first["stop_reasons"] == {"final_answer": 4}
    with Warehouse.open(project.warehouse_path) as wh:
        assert dict(wh.execute("SELECT kind, count(*) FROM instructions GROUP BY 1")) == {"normal": 2, "multi_api": 2}
        multi = wh.execute("SELECT api_id, partner_api_ids, n_calls FROM dialogues WHERE instruction_kind = 'multi_api'")
        apis = {a for (a,) in wh.execute("SELECT DISTINCT api_id FROM apis")}
        for api_id, partner_ids, n_calls in multi:
            assert json.loads(partner_ids) == list(apis - {api_id}) and n_calls == 2
        actions = {a for (a,) in wh.execute("SELECT DISTINCT action FROM steps WHERE status = 200")}
        assert actions == {"searchBooks", "CityLibrary_searchBooks", "TownLibrary_searchBooks"}
    raised = project.with_overrides(instructions_per_api=4)  # {normal: 2, multi_api: 2} per API
    second = run_simulate_corpus(raised)
    assert second["instructions"] == 8 and second["dialogues"] == 4 and second["skipped_existing"] == 4
    with Warehouse.open(project.warehouse_path) as wh:
        assert wh.count("instructions") == 8 and wh.count("dialogues") == 8
        assert wh.count("instructions", "kind = 'multi_api'") == 4
    lowered = run_simulate_corpus(project)  # back to 2: nothing new, nothing lost
    assert lowered["dialogues"] == 0 and lowered["instructions"] == 4 and lowered["llm_calls"] == 0

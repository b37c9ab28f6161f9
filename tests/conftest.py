"""Shared fixtures. Tests never touch ../shared or the network; LLMs are the scripted FakeLLM
(the production code path through litellm's Router) except the one marked ``local_llm``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ["HF_DATASETS_CACHE"] = __import__("tempfile").mkdtemp(prefix="tf-hf-cache-")  # never the user's cache
for _name in list(os.environ):
    if _name.startswith("TOOLFACTORY_"):
        del os.environ[_name]

import pytest  # noqa: E402  (the environment above must be set first)

from tasks.llm.fake import FakeLLM, FakeRequest  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def duck():
    """A bare in-memory DuckDB connection (for checking compiled SQL)."""
    import duckdb

    con = duckdb.connect()
    yield con
    con.close()


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def fake_llm():
    with FakeLLM() as fake:
        yield fake


@pytest.fixture(scope="session")
def prefect_harness():
    """One Prefect test server for the whole session (it takes seconds to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """Run in a fresh folder so ./toolfactory.yaml and ./data are the test's own."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def eval_set_settings(workdir, fixtures, prefect_harness, fake_llm):
    """Settings for a work folder on the fake backends with the small evaluation set
    (``toolalpaca:toolalpaca_eval.json``) imported; ``extra`` YAML lines go on top."""
    from flows.toolalpaca_import import import_toolalpaca
    from toolfactory.settings import load_settings

    def make(extra: str = ""):
        (workdir / "toolfactory.yaml").write_text("backends_file: fake\nwarehouse_path: wh.duckdb\nllm_num_retries: 0\n"
                                                  "eval_report_dir: reports\n" + extra)
        s = load_settings()
        import_toolalpaca(s, fixtures / "toolalpaca_eval.json")
        return s

    return make


def schema_name(req: FakeRequest) -> str:
    rf = req.params.get("response_format") or {}
    return (rf.get("json_schema") or {}).get("name", "")


GOOD_OUTLINE = {
    "introduction": "The Moon API tells the phase of the moon and when it rises for a place and date.",
    "functions": [
        {"name": "searchPlaces", "description": "Find places by name and return their placeId."},
        {"name": "getMoonPhase", "description": "Phase and illumination of the moon for a place and date."},
    ],
}

GOOD_OPERATIONS = {
    "searchPlaces": {
        "method": "get", "summary": "Find places by name.",
        "parameters": [{"name": "query", "required": True, "type": "string", "description": "Place name."}],
        "response": {"description": "Places found.", "properties": [
            {"name": "results", "type": "array", "items": [{"name": "placeId", "type": "string"}, {"name": "name", "type": "string"}]}]},
    },
    "getMoonPhase": {
        "method": "get", "summary": "Moon phase for a place and date.",
        "parameters": [
            {"name": "placeId", "required": True, "type": "string", "description": "From searchPlaces."},
            {"name": "date", "required": False, "type": "string", "description": "ISO date."},
            {"name": "units", "required": False, "type": "string", "description": "Units.", "enum": ["metric", "imperial"]},
        ],
        "response": {"description": "The phase.", "properties": [
            {"name": "phase", "type": "string"}, {"name": "illumination", "type": "number"}]},
    },
}


def good_spec(title: str = "Moon") -> dict[str, Any]:
    return json.loads((FIXTURES / "good_spec.json").read_text())


def documenter_responder(outline: dict[str, Any] | None = None, operations: dict[str, Any] | None = None,
                         spec: dict[str, Any] | None = None):
    """A FakeLLM responder that answers documenter requests by the schema they ask for."""
    outline = outline or GOOD_OUTLINE
    operations = operations or GOOD_OPERATIONS

    def respond(req: FakeRequest) -> Any:
        name = schema_name(req)
        if name == "doc_outline":
            return outline
        if name == "operation":
            text = req.last_user
            for fn, op in operations.items():
                if f"{fn}:" in text:
                    return op
            return {"method": "get", "summary": "unknown", "parameters": [], "response": {"description": "x", "properties": []}}
        if name == "openapi_spec":
            return spec or good_spec()
        return "unexpected request"

    return respond


def served_backends(path: Path, base_url: str, roles: tuple[str, ...]) -> Path:
    """A backends file whose every role is the model of that name on an OpenAI-compatible server
    (the fake server), its key read from ``TF_FAKE_OPENAI_KEY``."""
    import yaml

    path.write_text(yaml.safe_dump({"model_list": [
        {"model_name": role, "litellm_params": {"model": f"openai/{role}", "api_base": base_url,
                                                 "api_key": "os.environ/TF_FAKE_OPENAI_KEY"}} for role in roles]}))
    return path


class RecordingResolver:
    """A stand-in for ``socket.getaddrinfo``: answers names from a table and records every question,
    so address-guard tests never send a DNS query."""

    def __init__(self, table: dict[str, list[str]]):
        self.table, self.asked = table, []

    def __call__(self, host: str, port: int, **kw: Any) -> list[tuple[Any, ...]]:
        self.asked.append(host)
        return [(2, 1, 6, "", (ip, port)) for ip in self.table[host]]

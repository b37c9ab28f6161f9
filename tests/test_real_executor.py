"""The real executor against a local HTTP server: placement of parameters, auth from the
environment, and every guard (allow-list, private/loopback/metadata addresses, DNS names,
redirects, timeouts, response size)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from tasks.simulation.executor import ExecutorState
from tasks.simulation.real_executor import RealExecutor, RealExecutorConfig


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def _reply(self, status, body, headers=()):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the executor stopped reading (size cap)
            pass

    def do_GET(self):
        parts = urlsplit(self.path)
        if parts.path == "/redirect-out":
            return self._reply(302, {}, [("location", "http://169.254.169.254/latest/meta-data")])
        if parts.path == "/redirect-port":  # same host, another port (nothing listens on port 9)
            return self._reply(302, {}, [("location", "http://127.0.0.1:9/v1/items/1")])
        if parts.path == "/redirect-in":
            return self._reply(302, {}, [("location", "/v1/items/9?q=moved")])
        if parts.path == "/v1/huge":
            return self._reply(200, b'"' + b"x" * 5000 + b'"')
        if parts.path == "/v1/slow":
            import time

            time.sleep(2)
        self._reply(200, {"path": parts.path, "query": parse_qs(parts.query), "key": self.headers.get("X-Api-Key")})

    def do_POST(self):
        length = int(self.headers.get("content-length", 0))
        raw = self.rfile.read(length)
        kind = self.headers.get("content-type", "")
        if "json" in kind or not raw:
            return self._reply(201, {"path": self.path, "json": json.loads(raw or b"{}")})
        self._reply(201, {"path": self.path, "type": kind.split(";")[0], "raw": raw.decode()})


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def spec_for(base):
    ok = {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}}
    return {"openapi": "3.0.0", "info": {"title": "Local", "version": "1"}, "servers": [{"url": f"{base}/v1"}], "paths": {
        "/items/{itemId}": {"get": {"operationId": "getItem", "parameters": [
            {"name": "itemId", "in": "path", "required": True, "schema": {"type": "integer"}},
            {"name": "q", "in": "query", "schema": {"type": "string"}}], "responses": ok}},
        "/items": {"post": {"operationId": "addItem", "requestBody": {"content": {"application/json": {"schema": {
            "type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}}}, "responses": ok}},
        "/slow": {"get": {"operationId": "slow", "responses": ok}},
        "/huge": {"get": {"operationId": "huge", "responses": ok}},
        "/../redirect-out": {"get": {"operationId": "leave", "responses": ok}},
        "/../redirect-in": {"get": {"operationId": "stay", "responses": ok}},
        "/../redirect-port": {"get": {"operationId": "otherPort", "responses": ok}},
    }}


def local(server, monkeypatch=None, **kw):
    cfg = RealExecutorConfig(allowed_hosts=[server.removeprefix("http://")], allow_private=True, timeout_s=1.0, **kw)
    return RealExecutor(spec_for(server), cfg)


def test_parameters_are_placed_and_auth_comes_from_the_environment(server, monkeypatch):
    monkeypatch.setenv("LOCAL_API_KEY", "k-123")
    ex = local(server, auth_env={"X-Api-Key": "LOCAL_API_KEY"})
    out = ex.execute_blocking("getItem", {"itemId": "7", "q": "red"}, ExecutorState())
    assert out.status == 200 and out.response == {"path": "/v1/items/7", "query": {"q": ["red"]}, "key": "k-123"}
    post = ex.execute_blocking("addItem", {"name": "lamp"}, ExecutorState())
    assert post.status == 201 and post.response == {"path": "/v1/items", "json": {"name": "lamp"}}
    bad = ex.execute_blocking("getItem", {"itemId": "seven"}, ExecutorState())
    assert bad.status == 400  # checked against the spec before anything is sent


def test_loopback_is_refused_by_default(server):
    out = RealExecutor(spec_for(server)).execute_blocking("getItem", {"itemId": 1}, ExecutorState())
    assert out.status == 403 and "loopback" in out.response["detail"]


def test_redirects_are_checked_hop_by_hop(server):
    ex = local(server)
    out = ex.execute_blocking("leave", {}, ExecutorState())
    assert out.status == 403 and "169.254.169.254" in out.response["detail"]  # not in the allow-list
    other_port = ex.execute_blocking("otherPort", {}, ExecutorState())  # refused before connecting: 403, not 502
    assert other_port.status == 403 and "127.0.0.1:9 is not in the allow-list" in other_port.response["detail"]
    inside = ex.execute_blocking("stay", {}, ExecutorState())
    assert inside.status == 200 and inside.response["path"] == "/v1/items/9"


def test_timeouts_and_size_cap(server):
    ex = local(server, max_response_bytes=1000)
    assert ex.execute_blocking("slow", {}, ExecutorState()).status == 504
    huge = ex.execute_blocking("huge", {}, ExecutorState())
    assert huge.status == 502 and "larger than 1000 bytes" in huge.response["error"]


def test_the_async_execute_runs_calls_concurrently_off_the_loop(server):
    import asyncio

    ex = local(server)

    async def both():
        return await asyncio.gather(ex.execute("getItem", {"itemId": 1}, ExecutorState()),
                                    ex.execute("getItem", {"itemId": 2}, ExecutorState()))

    first, second = asyncio.run(both())
    assert (first.status, second.status) == (200, 200)
    assert {first.response["path"], second.response["path"]} == {"/v1/items/1", "/v1/items/2"}


def test_simulation_in_real_executor_mode_calls_the_api(prefect_harness, server, workdir, fake_llm, monkeypatch):
    from flows.docs_import import import_docs
    from flows.settings import load_settings
    from flows.simulate_corpus import run_simulate_corpus
    from warehouse import Warehouse

    monkeypatch.setenv("LOCAL_API_KEY", "k-9")
    echo = {"type": "object", "properties": {"path": {"type": "string"}, "key": {"type": "string"}}}
    listing = {"type": "object", "properties": {"items": {"type": "array", "items": {
        "type": "object", "properties": {"itemId": {"type": "integer"}}}}}}
    spec = {"openapi": "3.0.3", "info": {"title": "Local Shop", "version": "1", "description": "Items of a local shop."},
            "servers": [{"url": f"{server}/v1"}], "paths": {
                "/items": {"get": {"operationId": "listItems", "summary": "List the items.", "responses": {
                    "200": {"description": "ok", "content": {"application/json": {"schema": listing}}}}}},
                "/items/{itemId}": {"get": {"operationId": "getItem", "summary": "One item.", "parameters": [
                    {"name": "itemId", "in": "path", "required": True, "schema": {"type": "integer"}},
                    {"name": "q", "in": "query", "schema": {"type": "string"}}], "responses": {
                    "200": {"description": "ok", "content": {"application/json": {"schema": echo}}}}}}}}
    (workdir / "local.json").write_text(json.dumps(spec))
    (workdir / "toolfactory.yaml").write_text(
        "backends_file: fake\nwarehouse_path: wh.duckdb\ninstructions_per_api: 1\nmissing_detail_share: 0\n"
        "unanswerable_share: 0\nmulti_api_share: 0\nchain_share: 0\nfollow_up_share: 0\nassistant_step_mode: react\nexecutor_mode: real\n"
        f"real_allowed_hosts: {server.removeprefix('http://')}\nreal_allow_private: true\nreal_auth_env: X-Api-Key=LOCAL_API_KEY\n")
    settings = load_settings()
    assert import_docs(settings, workdir / "local.json")["usable"] == 1
    fake_llm.respond("user", lambda req: {"instructions": ["Show me item number 7 of the shop, please."]})
    fake_llm.queue("assistant", 'Action: getItem\nAction Input: {"itemId": 7, "q": "red"}', "Final Answer: Item 7 is red.")
    summary = run_simulate_corpus(settings)
    assert summary["dialogues"] == 1 and summary["stop_reasons"] == {"final_answer": 1}
    assert fake_llm.calls_for("executor") == []  # the API answered, not an LLM
    with Warehouse.open(settings.warehouse_path) as wh:
        (observation, status), = wh.execute("SELECT observation, status FROM steps WHERE action = 'getItem'")
        (models,), = wh.execute("SELECT models FROM dialogues")
    assert status == 200 and '"/v1/items/7"' in observation and '"k-9"' in observation
    assert json.loads(models)["executor"] == "real-http"


def test_the_prefix_router_hands_each_call_to_its_api(server):
    import asyncio

    from tasks.simulation.executor import PrefixRouter

    router = PrefixRouter({"Local": local(server)})
    ok = asyncio.run(router.execute("Local_getItem", {"itemId": 3}, ExecutorState()))
    assert ok.status == 200 and ok.response["path"] == "/v1/items/3"
    for name in ("Other_getItem", "Local_", "getItem"):
        out = asyncio.run(router.execute(name, {}, ExecutorState()))
        assert out.status == 404 and "unknown_function" in out.observation, name


def test_auth_parameters_of_an_imported_spec_come_from_the_environment_never_the_arguments(server, monkeypatch):
    from tasks.documentation.spec_normalise import normalise

    spec = spec_for(server)
    spec["components"] = {"securitySchemes": {"q": {"type": "apiKey", "in": "query", "name": "access_key"},
                                              "h": {"type": "apiKey", "in": "header", "name": "X-Api-Key"}}}
    spec["paths"]["/items/{itemId}"]["get"]["parameters"].append({"name": "access_key", "in": "query", "schema": {"type": "string"}})
    imported = normalise(spec).spec
    monkeypatch.setenv("TOOLFACTORY_AUTH_ACCESS_KEY", "env-key")  # the default variable of access_key
    monkeypatch.setenv("MY_HEADER_KEY", "env-header")
    cfg = RealExecutorConfig(allowed_hosts=[server.removeprefix("http://")], allow_private=True, timeout_s=1.0,
                             auth_env={"X-Api-Key": "MY_HEADER_KEY"})
    out = RealExecutor(imported, cfg).execute_blocking("getItem", {"itemId": 7, "access_key": "from-the-model"}, ExecutorState())
    assert out.status == 200 and out.response["query"] == {"access_key": ["env-key"]} and out.response["key"] == "env-header"
    assert "access_key" not in out.check.arguments()  # what the model wrote is dropped, not sent and not recorded


def test_form_and_raw_bodies_go_on_the_wire_as_their_media_type(server):
    def op(media, schema):
        return {"post": {"operationId": f"send_{media.split('/')[1].replace('-', '_')}", "requestBody": {"required": True,
                "content": {media: {"schema": schema}}}, "responses": {"201": {"description": "ok"}}}}

    form = {"type": "object", "properties": {"name": {"type": "string"}, "count": {"type": "integer"}}}
    spec = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "servers": [{"url": f"{server}/v1"}], "paths": {
        "/form": op("application/x-www-form-urlencoded", form), "/multi": op("multipart/form-data", form),
        "/text": op("text/plain", {"type": "string"})}}
    ex = RealExecutor(spec, RealExecutorConfig(allowed_hosts=[server.removeprefix("http://")], allow_private=True, timeout_s=1.0))
    urlencoded = ex.execute_blocking("send_x_www_form_urlencoded", {"name": "lamp", "count": 2}, ExecutorState())
    assert urlencoded.response == {"path": "/v1/form", "type": "application/x-www-form-urlencoded", "raw": "name=lamp&count=2"}
    multipart = ex.execute_blocking("send_form_data", {"name": "lamp"}, ExecutorState())
    assert multipart.response["type"] == "multipart/form-data" and 'name="name"' in multipart.response["raw"]
    text = ex.execute_blocking("send_plain", {"body": "hello there"}, ExecutorState())
    assert text.response == {"path": "/v1/text", "type": "text/plain", "raw": "hello there"}

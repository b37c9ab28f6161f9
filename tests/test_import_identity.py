"""Two documents never become one API (issue 33): a vendor's client and server APIs published with the same
``info.title`` and server — here in two folders, each file named ``openapi.json`` — import as two APIs with
every operation, and the import summary's counts are the warehouse's. Re-importing (the folder, or one file
alone) keeps each API's ID; a third document with that title from elsewhere is a third API."""

import json

from flows.docs_import import import_docs
from flows.settings import load_settings
from warehouse import Warehouse


def spec(operations: list[str]) -> dict:
    return {"openapi": "3.0.3", "info": {"title": "Acme Platform API", "version": "1.0"},
            "servers": [{"url": "https://api.acme.example/v1"}],
            "paths": {f"/{op}": {"get": {"operationId": op, "summary": f"{op} of the platform.",
                                         "parameters": [{"name": "q", "in": "query", "schema": {"type": "string"}}],
                                         "responses": {"200": {"description": "ok", "content": {"application/json": {
                                             "schema": {"type": "object", "properties": {"id": {"type": "string"}}}}}}}}}
                      for op in operations}}


CLIENT = ["listOrders", "getOrder", "cancelOrder"]
SERVER = ["registerWebhook", "listWebhooks", "deleteWebhook", "rotateSecret"]


def counts(wh):
    return (wh.count("apis", "status = 'valid'"), wh.count("functions"),
            {a for (a,) in wh.execute("SELECT api_id FROM apis")})


def test_two_documents_with_one_title_and_server_are_two_apis(workdir):
    for side, ops in (("client", CLIENT), ("server", SERVER)):
        (workdir / "acme" / side).mkdir(parents=True)
        (workdir / "acme" / side / "openapi.json").write_text(json.dumps(spec(ops)))
    (workdir / "toolfactory.yaml").write_text("warehouse_path: wh.duckdb\n")
    s = load_settings()
    summary = import_docs(s, workdir / "acme")
    assert summary["usable"] == 2 and summary["operations kept"] == len(CLIENT) + len(SERVER)
    with Warehouse.open(s.warehouse_path) as wh:
        n_apis, n_functions, ids = counts(wh)
        sources = {r[0] for r in wh.execute("SELECT source FROM api_doc")}
    assert (n_apis, n_functions) == (summary["usable"], summary["operations kept"])  # the summary is the warehouse
    assert sources == {"client/openapi.json", "server/openapi.json"}

    assert import_docs(s, workdir / "acme")["usable"] == 2  # again: the same two APIs, nothing new
    assert import_docs(s, workdir / "acme" / "server" / "openapi.json")["usable"] == 1  # one file alone keeps its ID
    with Warehouse.open(s.warehouse_path) as wh:
        assert counts(wh) == (2, n_functions, ids) and wh.count("api_doc") == 2

    (workdir / "elsewhere").mkdir()
    (workdir / "elsewhere" / "acme.json").write_text(json.dumps(spec(["ping"])))
    import_docs(s, workdir / "elsewhere")
    with Warehouse.open(s.warehouse_path) as wh:
        n_apis, n_functions, later = counts(wh)
    assert n_apis == 3 and n_functions == len(CLIENT) + len(SERVER) + 1 and ids < later  # nothing of the first two lost

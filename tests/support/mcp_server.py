"""A small MCP server for the tests (issue 21, part 5): a shop of three tools, over stdio by default or over
streamable HTTP on 127.0.0.1 (``--http PORT``). With ``--log PATH`` every call is appended to that file, so a
test can tell what reached the server (a stdio server gets only a minimal environment: no variables of ours).

    python tests/support/mcp_server.py [--http PORT] [--log PATH]
"""

from __future__ import annotations

import json
import sys
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

ITEMS = {71: {"itemId": 71, "name": "desk lamp", "price": 19.5}, 72: {"itemId": 72, "name": "floor lamp", "price": 45.0}}
shop = MCPServer("Lamp Shop", version="1.2")


def _option(name: str) -> str | None:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv[:-1] else None


def _log(tool: str, arguments: dict[str, Any]) -> None:
    if _option("--log"):
        with open(str(_option("--log")), "a") as f:
            f.write(json.dumps({"tool": tool, "arguments": arguments}) + "\n")


@shop.tool(description="Search the shop's lamps by a word of their name.")
def search_items(q: str) -> dict[str, Any]:
    _log("search_items", {"q": q})
    return {"results": [{"itemId": i, "name": it["name"]} for i, it in ITEMS.items() if q.lower() in it["name"]]}


@shop.tool(description="One lamp by its itemId: name and price.")
def get_item(itemId: int) -> dict[str, Any]:  # noqa: N803  (the tool's argument name, as its clients see it)
    _log("get_item", {"itemId": itemId})
    if itemId not in ITEMS:
        raise ToolError(f"no item {itemId}")
    return ITEMS[itemId]


@shop.tool(description="A long text, for size caps.")
def catalogue_text(pages: int) -> str:
    _log("catalogue_text", {"pages": pages})
    return "lamp " * (1000 * pages)


if __name__ == "__main__":
    if _option("--http"):
        shop.run("streamable-http", host="127.0.0.1", port=int(str(_option("--http"))))
    else:
        shop.run("stdio")

"""Small OpenAPI specs the tests share."""

from __future__ import annotations

import json

SHOP = {
    "openapi": "3.0.0", "info": {"title": "Shop", "version": "1"},
    "paths": {
        "/items": {"get": {"operationId": "searchItems", "parameters": [
            {"name": "q", "in": "query", "required": True, "schema": {"type": "string"}},
            {"name": "limit", "in": "query", "schema": {"type": "integer"}},
            {"name": "sort", "in": "query", "schema": {"type": "string", "enum": ["price", "rating"]}},
            {"name": "inStock", "in": "query", "schema": {"type": "boolean"}},
            {"name": "tags", "in": "query", "schema": {"type": "array", "items": {"type": "string", "enum": ["new", "sale"]}}},
            {"name": "X-Currency", "in": "header", "schema": {"type": "string"}},
        ], "responses": {"200": {"description": "ok"}}}},
        "/items/{itemId}": {
            "parameters": [{"name": "itemId", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "get": {"operationId": "getItem", "responses": {"200": {"description": "ok"}}},
            "post": {"operationId": "reviewItem", "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Review"}}}},
                     "responses": {"200": {"description": "ok"}}},
        },
    },
    "components": {"schemas": {"Review": {"type": "object", "required": ["stars"], "properties": {
        "stars": {"type": "integer", "minimum": 1, "maximum": 5}, "text": {"type": "string"}}}}},
}

# SHOP with the response schemas an executor answers by
SHOP_WITH_RESPONSES = json.loads(json.dumps(SHOP))
SHOP_WITH_RESPONSES["paths"]["/items"]["get"]["responses"]["200"] = {"description": "Items", "content": {"application/json": {"schema": {
    "type": "object", "required": ["results"], "properties": {"results": {"type": "array", "items": {
        "type": "object", "required": ["itemId", "name"], "properties": {"itemId": {"type": "integer"}, "name": {"type": "string"}}}}}}}}}
SHOP_WITH_RESPONSES["paths"]["/items/{itemId}"]["get"]["responses"]["200"] = {"description": "One item", "content": {"application/json": {"schema": {
    "type": "object", "required": ["itemId", "price"], "properties": {"itemId": {"type": "integer"}, "price": {"type": "number"}}}}}}

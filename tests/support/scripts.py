"""Scripted agents for the fake LLM: the documenter, the moon catalog's user, assistant and judge, and the
six-API catalog the chaos runs use."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from toolfactory.testing.fake_llm import FakeRequest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


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


def user(req):
    if schema_name(req) == "instructions":
        if "leave out one detail" in req.last_user:
            return {"instructions": ["What phase will the moon be in tomorrow?"]}
        return {"instructions": ["What is the moon phase in Lisbon on 2025-06-01?", "Tell me how bright the moon is over Oslo tonight."]}
    return "I am in Lisbon."


def assistant(req):
    turns = sum(1 for m in req.messages if m["role"] == "assistant")
    first_user = req.messages[1]["content"]
    if "tomorrow" in first_user and turns == 0:
        return 'Thought: where?\nAction: ask_user\nAction Input: {"question": "Where are you?"}'
    if turns == 0 or (turns == 1 and "tomorrow" in first_user):
        return 'Thought: find the place\nAction: searchPlaces\nAction Input: {"query": "Lisbon"}'
    return "Thought: done\nFinal Answer: It is a waxing crescent."


def judge(req):
    text = req.last_user
    if "bright" in text.split("The user's request:", 1)[1].split("\n", 1)[0]:
        return {"fulfils_request": False, "arguments_grounded": True, "reason": "the answer is about the phase, not brightness"}
    return {"fulfils_request": True, "arguments_grounded": True, "reason": "answered from the search result"}


ROLES = ("documenter", "user", "assistant", "executor", "judge")


CATALOG = """name,description,category,link,auth
Moon Phases,Phase of the moon for a place and date,Science,https://moon.example,none
Tide Tables,High and low tides for a harbour,Science,https://tides.example,none
Star Charts,Which stars are visible tonight from a place,Science,https://stars.example,none
Paper Sizes,Dimensions of ISO and US paper formats,Development,https://paper.example,none
Color Names,Name the closest color to a hex code,Development,https://colors.example,apiKey
Unit Convert,Convert between units of measure,Development,https://units.example,none
"""


def agents(req: FakeRequest):
    answer = {"documenter": documenter_responder(), "user": user, "assistant": assistant, "judge": judge,
              "executor": lambda r: {"results": [{"placeId": "lis-1", "name": "Lisbon"}]}}
    return answer[req.role](req)


def script_agents(fake) -> None:
    """Every role of ``fake`` (a ``FakeLLM``) answers as ``agents`` does: the moon catalog's whole cast."""
    for role in ("documenter", "user", "assistant", "executor", "judge"):
        fake.respond(role, agents)

"""Parse one assistant turn in the ReAct format (issue #3, assistant agent)::

    Thought: I need the forecast first.
    Action: getForecast
    Action Input: {"city": "Lyon"}

or ``Final Answer: …``. Lenient on the surface — ``ASSISTANT`` prefixes, markdown bold, code fences,
case, text the model invents after its action (a made-up ``Observation:`` is cut) — and strict on
substance: one known action with a JSON-object input, or a final answer. Never raises: an unusable
turn comes back with ``error`` set (a reason code) and ``feedback()`` says what to fix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tasks.llm.jsontext import extract_json

ASK_USER = "ask_user"
ASK_USER_ALIASES = ("ask_user", "askuser", "getdetails", "get_details")
_LABEL = re.compile(
    r"^[ \t>*_#-]*(?:ASSISTANT\s+)?\**\s*(thought|action input|action_input|actioninput|action|final answer|final_answer|observation)\s*\**\s*:\s*\**",
    re.IGNORECASE | re.MULTILINE,
)


@dataclass
class ReactStep:
    kind: str  # "action" | "final" | "invalid"
    thought: str = ""
    action: str = ""
    action_input: Any = None
    action_input_text: str = ""
    final_answer: str = ""
    error: str | None = None  # empty | no_action | unknown_action | missing_input | input_not_json | input_not_object
    detail: str = ""
    parallel: list[ReactStep] = field(default_factory=list)  # the turn's other calls, made at once with this one

    @property
    def calls(self) -> list[ReactStep]:
        """This call and its parallel ones, in the order written."""
        return [self, *self.parallel]

    @property
    def asks_user(self) -> bool:
        return self.kind == "action" and self.action == ASK_USER

    def feedback(self) -> str:
        """The observation that tells the assistant what was wrong with its turn."""
        if self.error is None:
            return ""
        return f"Error: {self.detail} Reply with Thought, Action and Action Input (a JSON object), or with a Final Answer."


def _sections(text: str) -> list[tuple[str, str]]:
    """(label, content) in order of appearance; text before the first label counts as a thought."""
    marks = list(_LABEL.finditer(text))
    out: list[tuple[str, str]] = []
    head = text[: marks[0].start()].strip() if marks else text.strip()
    if head:
        out.append(("thought", head))
    for i, m in enumerate(marks):
        label = m.group(1).lower().replace("_", " ")
        label = "action input" if label in ("action input", "actioninput") else label
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        out.append((label, text[m.end():end].strip()))
    return out


_NAME = re.compile(r"[`*\"' ]*([A-Za-z_][\w.-]*)")


def _split_action(raw: str) -> tuple[str, str]:
    """(action name, what follows it on the Action line) — ``getForecast()`` and backticks tolerated."""
    m = _NAME.match(raw.strip())
    if m is None:
        return raw.strip().splitlines()[0] if raw.strip() else "", ""
    rest = raw.strip()[m.end():].lstrip("`*\"' ")
    rest = rest[2:] if rest.startswith("()") else rest
    return m.group(1).rstrip("."), rest.strip()


def parse_step(text: str | None, valid_actions: Sequence[str]) -> ReactStep:
    """Parse one assistant turn; ``valid_actions`` are the function names (ask_user is always valid)."""
    if text is None or not text.strip():
        return ReactStep("invalid", error="empty", detail="your reply was empty.")
    sections = _sections(text)
    thought = " ".join(c for label, c in sections if label == "thought").strip()
    # only what comes before the first (invented) observation counts
    cut = next((i for i, (label, _) in enumerate(sections) if label == "observation"), len(sections))
    sections = sections[:cut]
    action_at = next((i for i, (label, _) in enumerate(sections) if label == "action"), None)
    final_at = next((i for i, (label, _) in enumerate(sections) if label == "final answer"), None)
    if final_at is not None and (action_at is None or final_at < action_at):
        answer = sections[final_at][1].strip()
        if answer:
            return ReactStep("final", thought=thought, final_answer=answer)
    if action_at is None:
        return ReactStep("invalid", thought=thought, error="no_action",
                         detail="no 'Action:' line and no 'Final Answer:' was found.")
    name, rest = _split_action(sections[action_at][1])
    lookup = {a.casefold(): a for a in valid_actions}
    if name.casefold().replace(" ", "") in ASK_USER_ALIASES:
        name = ASK_USER
    elif name.casefold() in lookup:
        name = lookup[name.casefold()]
    else:
        valid = ", ".join([*valid_actions, ASK_USER])
        return ReactStep("invalid", thought=thought, action=name, error="unknown_action",
                         detail=f"{name!r} is not a valid action; valid actions: {valid}.")
    input_text = next((c for label, c in sections[action_at + 1:] if label == "action input"), None)
    if input_text is None:
        # some models put the JSON on the Action line itself
        input_text = rest if rest.startswith(("{", "[", "```")) else None
    if input_text is None:
        if name == ASK_USER:
            return ReactStep("invalid", thought=thought, action=name, error="missing_input",
                             detail='ask_user needs an Action Input such as {"question": "…"}.')
        return ReactStep("invalid", thought=thought, action=name, error="missing_input",
                         detail="no 'Action Input:' was given (use {} for a function without parameters).")
    value, why = extract_json(input_text)
    if why is not None:
        return ReactStep("invalid", thought=thought, action=name, action_input_text=input_text, error="input_not_json",
                         detail=f"the Action Input is not valid JSON ({why}).")
    if isinstance(value, list):
        return ReactStep("invalid", thought=thought, action=name, action_input_text=input_text, error="input_not_object",
                         detail="the Action Input is a list: only one function per action, with one JSON object.")
    if not isinstance(value, dict):
        return ReactStep("invalid", thought=thought, action=name, action_input_text=input_text, error="input_not_object",
                         detail="the Action Input must be a JSON object.")
    return ReactStep("action", thought=thought, action=name, action_input=value, action_input_text=input_text)


FINAL = "final_answer"


def render_json_step(value: Any) -> str:
    """A 'json' mode turn written out in the ReAct text format (what transcripts and training use)."""
    if not isinstance(value, dict):
        return ""
    thought = " ".join(str(value.get("thought") or "").split())
    action = str(value.get("action") or "")
    if action == FINAL:
        answer = value.get("final_answer")
        if not answer and isinstance(value.get("action_input"), dict):
            answer = next((v for v in value["action_input"].values() if isinstance(v, str)), "")
        return f"Thought: {thought}\nFinal Answer: {' '.join(str(answer or '').split())}"
    return f"Thought: {thought}\nAction: {action}\nAction Input: {json.dumps(value.get('action_input', {}), ensure_ascii=False)}"


def render_json_calls(value: dict[str, Any]) -> str:
    """A 'json' mode turn of parallel calls (``{"thought", "calls": [{"action", "action_input"}, …]}``) in the
    ReAct text format: the thought, then an Action / Action Input pair per call."""
    lines = [f"Thought: {' '.join(str(value.get('thought') or '').split())}"]
    for call in value.get("calls") or []:
        if isinstance(call, dict):
            lines += [f"Action: {call.get('action') or ''}", f"Action Input: {json.dumps(call.get('action_input', {}), ensure_ascii=False)}"]
    return "\n".join(lines)


def read_json_calls(value: dict[str, Any], valid_actions: Sequence[str]) -> ReactStep:
    """A parallel 'json' turn as a ReactStep: its first call, the others ``parallel``, each parsed on its own
    (``ask_user`` cannot be one of them)."""
    calls = [c for c in value.get("calls") or [] if isinstance(c, dict)]
    if not calls:
        return ReactStep("invalid", error="no_action", detail="the calls list was empty.")
    steps = [parse_step(render_json_step({"thought": "", **c, "action": str(c.get("action") or "")}), valid_actions) for c in calls]
    for s in steps:
        if s.asks_user:
            s.kind, s.error, s.detail = "invalid", "unknown_action", "ask_user cannot be called beside other functions: ask on its own."
    first = steps[0]
    first.thought, first.parallel = " ".join(str(value.get("thought") or "").split()), steps[1:]
    return first

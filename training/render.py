"""Training examples from corpus instances, with loss on the assistant's own text only.

Two formats:
  chat   ``messages`` + ``tools`` (as exported: tool-call arguments and tools as JSON text) rendered
         with the base model's chat template, so any instruct model with tool support can be the base;
  paper  ToolAlpaca's layout: a preamble listing the functions and the turn format, then ``USER:``
         and ``ASSISTANT Thought: / Action: / Action Input: / Observation: / Response:`` lines.

Both produce the full text and the character spans the model must learn to write (thoughts,
actions, inputs, answers, the end of its turns; never the prompt, the user's turns or the
observations). ``tokenize_with_mask`` tokenises the whole text once and labels each token from its
character offsets — a token is trained when it starts inside a trained span — instead of
re-tokenising segments (which shifts labels wherever a token spans a boundary, the defect of the
original code). Examples longer than the budget are returned with ``over_budget`` set, for the
caller to report; nothing is cut silently.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass, field
from typing import Any

from schemas.dialogue_records import user_turns
from schemas.views import Trajectory
from tasks.formats.chat_format import call_groups, decode_json_text
from tasks.prompts import FORMAT, PREAMBLE

IGNORE = -100



class TemplateNotPrefixStable(ValueError):
    """The chat template renders a conversation's beginning differently once more turns follow,
    so assistant spans cannot be located by character offsets."""


@dataclass
class Rendered:
    text: str
    spans: list[tuple[int, int]]
    input_ids: list[int] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    over_budget: bool = False

    @property
    def trained_tokens(self) -> int:
        return sum(label != IGNORE for label in self.labels)


def paper_text(dialogue: Trajectory, functions_doc: str, eos: str) -> tuple[str, list[tuple[int, int]]]:
    """ToolAlpaca's text for one instance and its trained spans (``eos`` closes each response). A dialogue
    with follow-ups goes on with ``USER:`` lines after a response; parallel calls are written one after
    another (their Action lines, then their Observations)."""
    parts: list[tuple[str, bool]] = [(PREAMBLE + "Functions:\n" + functions_doc.strip() + "\n" + FORMAT + "\n", False)]
    for request, steps, answer in user_turns(dialogue):
        parts.append((f"USER: {request}\n", False))
        for group in call_groups(steps):
            parts.append(("".join((f"ASSISTANT Thought: {s.thought or ''}\n" if k == 0 else "") + f"ASSISTANT Action: {s.action}\n"
                                  f"ASSISTANT Action Input: {json.dumps(s.action_input, ensure_ascii=False)}\n"
                                  for k, s in enumerate(group)), True))
            parts.append(("".join(f"ASSISTANT Observation: {s.observation or ''}\n" for s in group), False))
        final = next((s for s in reversed(steps) if not s.action), None)
        parts.append((f"ASSISTANT Thought: {final.thought if final else ''}\nASSISTANT Response: {answer}{eos}", True))
    return _join(parts)


def _join(parts: list[tuple[str, bool]]) -> tuple[str, list[tuple[int, int]]]:
    text, spans = "", []
    for piece, trained in parts:
        if trained:
            spans.append((len(text), len(text) + len(piece)))
        text += piece
    return text, spans


def chat_messages(example: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """An exported example's messages and tools, JSON text decoded (templates want mappings)."""
    messages = []
    for m in example["messages"]:
        m = {k: v for k, v in m.items() if v is not None}
        if m.get("tool_calls"):
            m["tool_calls"] = [{**c, "function": {**c["function"], "arguments": decode_json_text(c["function"].get("arguments"))}}
                               for c in m["tool_calls"]]
        messages.append(m)
    tools = example.get("tools")
    return messages, (json.loads(tools) if isinstance(tools, str) else tools) or None


def chat_text(example: dict[str, Any], tokenizer: Any) -> tuple[str, list[tuple[int, int]]]:
    """The chat template's text for one example and the spans of its assistant turns: each span
    runs from where the template's generation prompt ends to where that turn's rendering ends."""
    messages, tools = chat_messages(example)

    def render(msgs: list[dict[str, Any]], prompt: bool) -> str:
        return tokenizer.apply_chat_template(msgs, tools=tools, tokenize=False, add_generation_prompt=prompt)

    full = render(messages, False)
    spans = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        before, through = render(messages[:i], True), render(messages[: i + 1], False)
        if not (through.startswith(before) and full.startswith(through)):
            raise TemplateNotPrefixStable(f"turn {i}: the template renders earlier turns differently once later ones follow")
        spans.append((len(before), len(through)))
    return full, spans


def tokenize_with_mask(text: str, spans: list[tuple[int, int]], tokenizer: Any, max_tokens: int | None = None) -> Rendered:
    """Tokenise ``text`` once; a token is trained (label = its id) when it starts inside a span."""
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    starts = [s for s, _ in spans]
    labels = []
    for token, (start, end) in zip(enc["input_ids"], enc["offset_mapping"], strict=True):
        k = bisect.bisect_right(starts, start) - 1
        inside = end > start and k >= 0 and start < spans[k][1]
        labels.append(token if inside else IGNORE)
    out = Rendered(text, spans, list(enc["input_ids"]), labels)
    out.over_budget = max_tokens is not None and len(out.input_ids) > max_tokens
    return out

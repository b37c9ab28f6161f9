"""A process score a reader would trust: the paper judge's guidelines as rules, each decision with
its reason (issue #17). Beside the strict exact match (``tasks.evaluation.exact_match``), not instead of it.

In: the golden calls (``{"action", "action_input"}``, inputs as written — text may hold placeholders),
the predicted calls with their observations, the instruction, and the parameter table
(``function → parameter → {required, type, enum?}``). Out: ``ProcessScore`` — accepted or not, and a
reason per call.

Rules:
  - a golden placeholder for an earlier result (``${x from f}``) matches a value that appeared in an
    earlier observation of the same trajectory; any other placeholder (``{start date}``, ``<x>``,
    ``{{x}}``) matches any value;
  - a number-like ID the model gives (``sourceId: 93``) must come from the instruction or an earlier
    observation: an ID from nowhere is an invented argument;
  - values compare by form: numbers numerically, booleans by meaning, strings without case, spacing,
    hyphens and underscores, list punctuation or trailing full stops, arrays in any order, dates in common formats, free text
    (descriptions, messages, queries …) by word overlap;
  - a golden optional value the instruction does not contain (nor an earlier observation) is not
    required — but a value given for it must match, except free text; a predicted optional parameter
    the function documents is accepted;
  - extra calls the judge's guidelines allow pass — ``ask_user``/``getDetails``, a call that failed
    (an error observation) and its corrected retry, a lookup whose result feeds a later call, a
    related call on values the instruction gives; others (a successful call made again, a second
    failure of the same function, an unrelated call) do not;
  - a golden call marked ``[Optional]`` may be absent — unless the instruction gives values for it that
    no predicted call used: then part of the request was left undone.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tasks.evaluation.exact_match import arguments_of
from tasks.formats.observations import observation_status
from tasks.similarity import words
from tasks.simulation.call_check import identifier_argument, not_given
from tasks.simulation.react import ASK_USER_ALIASES

PLACEHOLDER = re.compile(r"\$\{[^{}]*\}|\{\{[^{}]*\}\}|<[^<>\"]{1,60}>|(?<![\w\"])\{[a-zA-Z][^{}\":]{0,60}\}")
_SENTINEL = "\u0000placeholder\u0000"  # a value an earlier call's result gives ("${id from search}")
_FREE = "\u0000free\u0000"  # a value the golden answer leaves open ("{start date}")
_FREE_TEXT = re.compile(r"(description|message|comment|text|content|body|note|query|reason|summary|title|review|question|bio)s?$",
                        re.IGNORECASE)
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d/%m/%Y", "%m/%d/%Y", "%B %d, %Y", "%d %B %Y", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ")
WORD_OVERLAP = 0.5


@dataclass
class ProcessScore:
    accepted: bool
    reasons: list[str] = field(default_factory=list)  # why not (empty when accepted)
    notes: list[str] = field(default_factory=list)  # what a rule allowed


def golden_arguments(text: Any) -> tuple[dict[str, Any] | None, int]:
    """The golden input as a dict, its placeholders replaced by a sentinel; and how many there were."""
    if isinstance(text, dict):
        return text, 0
    if not isinstance(text, str) or not text.strip():
        return {}, 0
    count = 0

    def mark(m: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return json.dumps(_SENTINEL if re.search(r"\bfrom\b", m.group(0)) else _FREE)

    marked = re.sub(r'"(?:\$\{[^{}]*\}|\{[^{}"]*\})"', mark, text)  # a quoted placeholder: the quotes go with it
    marked = PLACEHOLDER.sub(mark, marked)
    try:
        value = json.loads(marked)
    except ValueError:
        return None, count
    return (value if isinstance(value, dict) else None), count


def _words(value: Any) -> set[str]:
    return set(words(str(value)))


def _date(value: Any) -> str | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(str(value).strip(), fmt).date().isoformat()
        except ValueError:
            continue
    return None


def _form(value: Any) -> Any:
    """A value in a form where equal meanings compare equal."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, list):
        return sorted(json.dumps(_form(v), sort_keys=True, default=str) for v in value)
    if isinstance(value, dict):
        return {k: _form(v) for k, v in value.items()}
    text = " ".join(str(value).split()).casefold().rstrip(".!? ")
    if text in ("true", "false"):
        return text == "true"
    try:
        return float(text)
    except ValueError:
        pass
    return _date(text) or re.sub(r"\s*([,;|])\s*", r"\1", " ".join(re.sub(r"[-_]+", " ", text).split()))


def same_value(name: str, golden: Any, predicted: Any) -> bool:
    """Whether two values of the parameter ``name`` mean the same (see the module docstring)."""
    if _form(golden) == _form(predicted):
        return True
    if isinstance(golden, str) and isinstance(predicted, (list, str)):
        parts = predicted if isinstance(predicted, list) else re.split(r"\s*[,;|]\s*", predicted)
        def key(items: list[Any]) -> list[str]:
            return sorted(json.dumps(_form(x), sort_keys=True, default=str) for x in items)

        if key(re.split(r"\s*[,;|]\s*", golden)) == key(parts):
            return True
    if _FREE_TEXT.search(name) and isinstance(golden, str) and isinstance(predicted, str):
        g, p = _words(golden), _words(predicted)
        return bool(g) and len(g & p) / len(g) >= WORD_OVERLAP
    return False


def _wild_equal(name: str, golden: Any, predicted: Any) -> bool:
    """``same_value``, with placeholders nested in the golden value matching anything there."""
    if golden in (_FREE, _SENTINEL):
        return not not_given(predicted)
    if isinstance(golden, list) and isinstance(predicted, list) and any(g in (_FREE, _SENTINEL) for g in golden):
        return bool(predicted)
    if isinstance(golden, dict) and isinstance(predicted, dict):
        return all(_wild_equal(k, v, predicted.get(k)) for k, v in golden.items())
    if isinstance(golden, list) and isinstance(predicted, list) and len(golden) == len(predicted) \
            and any(isinstance(g, (dict, list)) for g in golden):
        return all(_wild_equal(name, g, p) for g, p in zip(golden, predicted, strict=True))
    return same_value(name, golden, predicted)


def grounded(value: Any, instruction: str, observations: list[str]) -> bool:
    """Whether a golden value is given by the instruction or an earlier observation (by its words)."""
    words = _words(value)
    where = _words(instruction) | set().union(*(_words(o) for o in observations))
    return bool(words) and words <= where


def _is_ask(action: str) -> bool:
    return action.casefold() in ASK_USER_ALIASES


def _failed(observation: str) -> bool:
    status = observation_status(observation)
    return (status is not None and status >= 400) or bool(re.search(r"\berror\b", (observation or "")[:200], re.IGNORECASE))


def match_arguments(function: str, golden: dict[str, Any], predicted: dict[str, Any], table: dict[str, dict[str, Any]],
                    instruction: str, observations: list[str]) -> list[str]:
    """Why the predicted arguments are not the golden ones under the rules (empty: they match)."""
    reasons = []
    for name, g in golden.items():
        p = predicted.get(name)
        required = bool(table.get(name, {}).get("required"))
        if g == _SENTINEL:
            if not_given(p):
                reasons.append(f"{function}: {name} missing (a value from an earlier result)")
            elif not any(str(p).casefold() in o.casefold() for o in observations):
                reasons.append(f"{function}: {name}={p!r} is no value an earlier result gave")
            continue
        if g == _FREE:
            if not_given(p):
                reasons.append(f"{function}: {name} missing")
            continue
        if not_given(g):
            continue
        is_grounded = grounded(g, instruction, [])  # golden values count as given only when the instruction gives them
        if not_given(p):
            if required or is_grounded:
                reasons.append(f"{function}: {name} missing")
        elif not _wild_equal(name, g, p) and (is_grounded or not _FREE_TEXT.search(name)):
            reasons.append(f"{function}: {name}={p!r}, expected {shown(g)!r}")
    for name, p in predicted.items():
        if name not in golden and not not_given(p) and table and name not in table:
            reasons.append(f"{function}: {name} is no parameter of the function")
        elif identifier_argument(name, p) and not grounded(p, instruction, observations):
            reasons.append(f"{function}: {name}={p!r} comes from neither the instruction nor an earlier result")
    return reasons


def score_process(golden: list[dict[str, Any]], predicted: list[dict[str, Any]], instruction: str,
                  params: dict[str, dict[str, dict[str, Any]]]) -> ProcessScore:
    """See the module docstring. Each golden call is looked for among the predicted calls not yet
    matched — after the last match first, then before it (independent calls, parallel ones among them,
    may come in any order; a placeholder for an earlier result still needs that result before it);
    the predicted calls left over are extra calls."""
    out = ProcessScore(True)
    used: set[int] = set()
    start = 0
    for g in golden:
        action = str(g.get("action") or "")
        optional = action.startswith("[Optional]")
        action = action.removeprefix("[Optional]").strip()
        args, _ = golden_arguments(g.get("action_input"))
        found, why = _find_call(action, args or {}, predicted, [*range(start, len(predicted)), *range(start)], used,
                                params, instruction)
        if found is None:
            unused = _unused_instruction_values(args or {}, predicted, instruction) if optional else []
            if unused:
                out.reasons.append(f"[Optional] {action} absent, but the instruction asks for it: no call used "
                                   + ", ".join(repr(v) for v in unused[:3]))
                continue
            if optional or _is_ask(action):
                out.notes.append(f"{'[Optional] ' if optional else ''}{action} absent: allowed")
                continue
            out.reasons.append(f"missing {action}" + (f" ({'; '.join(why[:3])})" if why else ""))
            continue
        used.add(found)
        start = max(start, found + 1)
    out.reasons += _extras(predicted, [k for k in range(len(predicted)) if k not in used], out.notes, instruction)
    out.accepted = not out.reasons
    return out


def _find_call(action: str, args: dict[str, Any], predicted: list[dict[str, Any]], order: list[int], used: set[int],
               params: dict[str, dict[str, dict[str, Any]]], instruction: str) -> tuple[int | None, list[str]]:
    """The first predicted call in ``order`` (not in ``used``) that matches the golden one; else
    None and why the last call of that name did not."""
    why: list[str] = []
    for k in order:
        p = predicted[k]
        if k in used or (p["action"] != action and not (_is_ask(action) and _is_ask(p["action"]))):
            continue
        # what came back before this call: a parallel call (same turn index) did not see its siblings' results
        observations = [c.get("observation") or "" for c in predicted[:k] if c.get("index") is None or c.get("index") != p.get("index")]
        why = [] if _is_ask(action) else match_arguments(action, args, arguments_of(p.get("action_input")) or {},
                                                         params.get(action, {}), instruction, observations)
        if not why:
            return k, []
    return None, why


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _leaves(v)]
    if isinstance(value, list):
        return [x for v in value for x in _leaves(v)]
    return [value]


def _unused_instruction_values(golden: dict[str, Any], predicted: list[dict[str, Any]], instruction: str) -> list[Any]:
    """The golden call's values that the instruction spells out (strings of 3+ characters, numbers of
    2+ digits, found there verbatim) and that appear in no predicted call's arguments."""
    used = json.dumps([c.get("action_input") for c in predicted], default=str).casefold()
    out = []
    for v in _leaves(golden):
        text = str(v).strip()
        if v in (_FREE, _SENTINEL) or isinstance(v, bool) or len(text) < 3 or text.casefold() not in instruction.casefold():
            continue
        if text.casefold() not in used:
            out.append(v)
    return out


def shown(value: Any) -> Any:
    """A golden value as a reader should see it: placeholders back as ``${…}``."""
    if value in (_FREE, _SENTINEL):
        return "${…}"
    if isinstance(value, dict):
        return {k: shown(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shown(v) for v in value]
    return value


def _extras(predicted: list[dict[str, Any]], indexes: list[int], notes: list[str], instruction: str = "") -> list[str]:
    """Reasons against the extra calls at ``indexes``; what the guidelines allow goes to ``notes``."""
    reasons = []
    for k in indexes:
        call = predicted[k]
        earlier = predicted[:k]
        later = json.dumps([c.get("action_input") for c in predicted[k + 1:]], default=str).casefold()
        values = re.findall(r'"(?:[^"\\]|\\.){2,}"|\b\d{2,}\b', str(call.get("observation") or ""))
        args = arguments_of(call.get("action_input")) or {}
        same_before = [c for c in earlier if c["action"] == call["action"]]
        if _is_ask(call["action"]):
            notes.append(f"{call['action']}: asking the user is allowed")
        elif _failed(str(call.get("observation") or "")) and any(_failed(str(c.get("observation") or "")) for c in same_before):
            reasons.append(f"{call['action']}: failed again (one corrected retry is allowed, not trial and error)")
        elif _failed(str(call.get("observation") or "")) or any(_failed(str(c.get("observation") or "")) for c in same_before):
            notes.append(f"{call['action']}: a failed call and its corrected retry are allowed")
        elif any(arguments_of(c.get("action_input")) == args for c in same_before):
            reasons.append(f"{call['action']}: the same call again")
        elif any(v.strip('"').casefold() in later for v in values if len(v.strip('"')) > 2):
            notes.append(f"{call['action']}: a lookup whose result feeds a later call is allowed")
        elif args and any(grounded(v, instruction, []) for v in args.values() if not not_given(v)):
            notes.append(f"{call['action']}: a related call on what the instruction gives is allowed")
        else:
            reasons.append(f"extra call {call['action']}")
    return reasons

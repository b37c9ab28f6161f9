"""ToolAlpaca's file layouts, both ways.

Training layout (``train_data.json``): a list of APIs, each with ``Name``, ``Description``,
``Category``, ``Documentation`` (the OpenAPI spec as JSON text), ``NLDocumentation``,
``Function_Description`` (function → its NL doc) and ``Instances``: ``input`` (the request),
``output`` (the final answer), ``Final Thought`` and ``intermediate_steps``, a list of
``[[action, action_input (JSON text), log (the raw Thought/Action/Action Input turn)], observation]``.
Evaluation layout: the same API fields plus ``Function_Projection``, ``Instructions`` and
``Golden_Answers`` (per instruction a list of ``{"Action", "Action_Input"}``); the real-API set adds
``Authentication``. ``Function_Projection`` (function → [path, method]) names the operations of
specs without ``operationId``s; the auth parameters ``Authentication`` names are kept out of the
functions' arguments and of the golden calls.

``read_layout`` checks a parsed file and names its layout; ``import_records`` turns one API record
into our records (via ``tasks.documentation.spec_import``, no LLM); ``export_record`` builds one API's record of
the training layout from landed dialogues. Problems with a record become Rejections, not exceptions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from schemas.dialogue_records import user_turns
from schemas.errors import InvalidInput
from schemas.ids import content_id
from schemas.records import Dialogue, GoldenAnswer, Instruction, Record, Rejection, Step
from schemas.views import DocumentedApi, Trajectory
from tasks.documentation.nl_docs import derive_functions
from tasks.documentation.spec_auth import authentication_names, declared_parameters, scrub_auth
from tasks.documentation.spec_import import import_spec
from tasks.documentation.spec_normalise import public_spec
from tasks.documentation.tool_context import make_context
from tasks.documentation.tool_definitions import operation_tools
from tasks.formats.chat_format import decode_json_text
from tasks.formats.observations import observation_status
from tasks.guards.documents import DocumentRefused

IMPORT_VERSION = "toolalpaca-import:1"


class ImportFormatError(InvalidInput):
    """The file is not in a ToolAlpaca layout; the message says what is missing."""


def read_layout(data: Any) -> str:
    """``training`` or ``evaluation``; ImportFormatError for anything else."""
    if not isinstance(data, list) or not data or not all(isinstance(r, dict) for r in data):
        raise ImportFormatError("a ToolAlpaca file is a JSON list of API records")
    keys = set().union(*(r.keys() for r in data))
    missing = {"Name", "Documentation"} - keys
    if missing:
        raise ImportFormatError(f"records lack {', '.join(sorted(missing))}")
    if "Instances" in keys:
        return "training"
    if {"Instructions", "Golden_Answers"} <= keys:
        return "evaluation"
    raise ImportFormatError("records have neither Instances (training layout) nor Instructions + Golden_Answers (evaluation layout)")


def steps_from_instance(instance: dict[str, Any], spec: Any = None) -> list[Step] | None:
    """Our steps from ``intermediate_steps`` plus the final turn; None when they are malformed. Auth values
    (``scrub_auth``: the spec's auth parameters and the usual key names) are taken out of every input, log and
    observation."""
    steps = []
    for i, item in enumerate(instance.get("intermediate_steps") or []):
        if not (isinstance(item, list | tuple) and len(item) == 2 and isinstance(item[0], list | tuple) and len(item[0]) >= 2):
            return None
        action, action_input = str(item[0][0]), scrub_auth(decode_json_text(item[0][1]), spec)
        log = str(item[0][2]) if len(item[0]) > 2 else f"Action: {action}\nAction Input: {item[0][1]}"
        log = scrub_auth(log, spec)
        thought = log.split("Action:", 1)[0].replace("Thought:", "").strip()
        observation = scrub_auth(str(item[1]), spec)
        status = observation_status(observation)
        steps.append(Step(i, log, thought, action, action_input, observation, status, status is None or status < 400, None, 0.0))
    final_thought = str(instance.get("Final Thought") or "")
    steps.append(Step(len(steps), f"Thought: {final_thought}\nFinal Answer: {instance.get('output', '')}".strip(), final_thought,
                      None, None, None, None, True, None, 0.0))
    return steps


def import_records(record: dict[str, Any], layout: str, source: str) -> list[Record]:
    """One API record of either layout → catalog entry, doc, functions, instructions, and dialogues
    (training) or golden answers (evaluation); refusals as Rejections of stage ``import``."""
    name = " ".join(str(record.get("Name") or "").split())
    where = f"{source}#{name or '?'}"

    def refuse(reason: str, detail: str) -> Rejection:
        return Rejection(content_id("rejection", "import", where, reason, detail), "import", where, reason, detail[:2000])

    spec = decode_json_text(record.get("Documentation"))
    if not name or not isinstance(spec, dict):
        return [refuse("documentation_unusable", "no Name, or Documentation is not an OpenAPI document")]
    def embedded(at: Any) -> Any:  # the record's own document; it has no files beside it to refer to
        if at == Path(where):
            return spec
        raise DocumentRefused("external_ref", f"{str(at)[:200]}: a ToolAlpaca record's documentation may not refer to other files")

    projection = record.get("Function_Projection") if isinstance(record.get("Function_Projection"), dict) else None
    auth_names = authentication_names(record.get("Authentication"), declared_parameters(spec))
    result = import_spec(Path(where), embedded, str(record.get("Category") or "Imported"), name=name,
                         link=str(record.get("Link") or ""), description=str(record.get("Description") or name), stage="import",
                         projection=projection, auth_names=auth_names, source_format="toolalpaca")
    out: list[Record] = result.records()
    if result.doc is None:
        return out
    doc = result.doc
    if isinstance(record.get("NLDocumentation"), str) and record["NLDocumentation"].strip():
        doc.nl_documentation = record["NLDocumentation"]  # theirs, as published
    model = f"toolalpaca:{Path(source).name}"
    context = None
    if layout == "training":  # what the published instances' assistant was shown: the record's own documentation
        functions = derive_functions(doc.spec or {})
        context = make_context(doc.api_id, doc.name, [(doc.doc_id, doc.api_id)], [], doc.spec or {}, [f.name for f in functions],
                               operation_tools(doc.spec or {}), doc.nl_documentation, "react", IMPORT_VERSION)
        out.append(context)
    texts = [i.get("input") for i in record.get("Instances") or []] if layout == "training" else record.get("Instructions") or []
    for n, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            out.append(refuse("instruction_missing", f"item {n} has no text"))
            continue
        iid = content_id("instruction-import", doc.doc_id, text)
        out.append(Instruction(iid, doc.api_id, doc.doc_id, "normal", text, "", IMPORT_VERSION, model))
        if layout == "evaluation":
            golden = (record.get("Golden_Answers") or [])[n] if n < len(record.get("Golden_Answers") or []) else None
            if not isinstance(golden, list):
                out.append(refuse("golden_missing", f"instruction {n} has no Golden_Answers list"))
                continue
            calls = [{"action": str(g.get("Action")), "action_input": scrub_auth(decode_json_text(g.get("Action_Input")), doc.spec)}
                     for g in golden if isinstance(g, dict) and g.get("Action")]
            out.append(GoldenAnswer(content_id("golden", iid, calls), iid, doc.api_id, calls, model))
            continue
        instance = record["Instances"][n]
        steps = steps_from_instance(instance, doc.spec)
        if steps is None:
            out.append(refuse("steps_malformed", f"instance {n}: intermediate_steps are not [[action, input, log], observation] pairs"))
            continue
        n_calls = sum(1 for s in steps if s.action)
        out.append(Dialogue(
            dialogue_id=content_id("dialogue-import", iid, steps, instance.get("output")), api_id=doc.api_id, doc_id=doc.doc_id,
            instruction_id=iid, instruction=text, instruction_kind="normal", steps=steps,
            final_answer=str(instance.get("output") or "") or None, stop_reason="final_answer", n_calls=n_calls,
            n_errors=sum(1 for s in steps if not s.valid), models={"assistant": model}, prompt_versions={"import": IMPORT_VERSION},
            prompt_tokens=0, completion_tokens=0, cost_usd=None, origin="import", context_id=context.context_id if context else None))
    return out


def _instance(request: str, steps: Sequence[Step], answer: str) -> dict[str, Any]:
    """One user turn in the layout of an instance: ``input``, ``output``, ``Final Thought``, ``intermediate_steps``."""
    final = next((s for s in reversed(steps) if not s.action), None)
    return {"input": request, "output": answer, "Final Thought": final.thought if final else "",
            "intermediate_steps": [[[s.action, json.dumps(s.action_input, ensure_ascii=False),
                                    s.text or f"Action: {s.action}\nAction Input: {json.dumps(s.action_input, ensure_ascii=False)}"],
                                   s.observation or ""] for s in steps if s.action]}


def export_record(api: DocumentedApi, description: str, dialogues: Sequence[Trajectory]) -> dict[str, Any]:
    """One API of the training layout: its doc (with ``functions``, name → NL doc), the catalog's
    description, and its instances. A dialogue with follow-ups is one instance: its first turn in the
    layout's fields, each later turn as an instance of its own in ``Follow_ups`` (our extension; readers of
    the paper's layout ignore it)."""
    instances = []
    for d in dialogues:
        first, *later = [_instance(request, steps, answer) for request, steps, answer in user_turns(d)]
        instances.append({**first, "Follow_ups": later} if later else first)
    return {"Name": api.name, "Description": description, "Category": api.category,
            "Documentation": json.dumps(public_spec(api.spec), ensure_ascii=False), "NLDocumentation": api.nl_documentation,
            "Function_Description": api.functions, "Instances": instances}

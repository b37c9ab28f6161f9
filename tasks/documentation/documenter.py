"""The documentation stage: one catalog entry → introduction, function list, OpenAPI 3.0 spec.

Three kinds of LLM call (role ``documenter``): an outline (introduction + functions), the spec,
and up to ``repair_rounds`` repairs that send the validator's and lint's problems back. The NL
documentation is then derived from the final spec by code (``tasks.documentation.nl_docs``).

In: a ``CatalogEntry`` and an LLM client. Out: a ``DocResult`` — always an ``ApiDoc`` (status
``valid`` or ``invalid`` with its problems), the functions of a valid spec, and a ``Rejection`` for
an API that ends invalid. Never raises on bad LLM output.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from schemas import load_schema, validate_record
from schemas.ids import content_id
from schemas.reasons import DocumentationCode as Code
from schemas.reasons import Reason
from schemas.records import ApiDoc, CatalogEntry, DocResult, FunctionDoc, LintIssue, Rejection
from tasks.documentation.nl_docs import derive_functions, function_records, nl_documentation
from tasks.documentation.operations import assemble_spec, issues_by_function
from tasks.documentation.spec_lint import lint_spec
from tasks.llm.types import Completer, LLMResult
from tasks.prompts import Prompt, load_prompt, read_asset

MAX_PROBLEMS_IN_REPAIR = 12


@dataclass(frozen=True)
class DocumenterConfig:
    """How the documenter works. ``spec_mode``: ``openapi`` (the LLM writes the whole document, as in
    the paper) or ``operations`` (one constrained JSON object per function, wrapped by code)."""

    repair_rounds: int = 3
    outline_max_tokens: int = 300
    spec_max_tokens: int = 900
    operation_max_tokens: int = 350
    temperature: float = 0.2
    seed: int = 0
    spec_mode: str = "openapi"


@dataclass(frozen=True)
class DocumenterPrompts:
    outline: Prompt
    spec: Prompt
    repair: Prompt
    operation: Prompt
    operation_repair: Prompt

    @property
    def version(self) -> str:
        return ",".join(f"{p.name.removeprefix('documenter_')}:{p.version}" for p in
                        (self.outline, self.spec, self.repair, self.operation, self.operation_repair))


def default_prompts() -> DocumenterPrompts:
    return DocumenterPrompts(
        outline=load_prompt("documenter_outline"),
        spec=load_prompt("documenter_spec", ("example_spec.json",)),
        repair=load_prompt("documenter_repair", ("example_spec.json",)),
        operation=load_prompt("documenter_operation", ("example_operations.json",)),
        operation_repair=load_prompt("documenter_operation_repair", ("example_operations.json",)),
    )


def doc_id_for(entry: CatalogEntry, model_signature: str, cfg: DocumenterConfig, prompts: DocumenterPrompts) -> str:
    """Content hash of everything that determines the documentation of ``entry``."""
    return content_id(
        "doc", entry.api_id, entry.name, entry.description, entry.category, entry.link,
        prompts.version, model_signature, cfg.repair_rounds, cfg.outline_max_tokens, cfg.spec_max_tokens,
        cfg.operation_max_tokens, cfg.temperature, cfg.seed, cfg.spec_mode,
    )


# --- parsers: LLM result → value or reason --------------------------------------------------------


def _reply_json(result: LLMResult, kind: str) -> tuple[Any, Reason | None]:
    """The reply's JSON value, or the reason there is none (``llm_error`` / ``<kind>_unparsable``)."""
    if not result.ok:
        return None, Reason(Code.LLM_ERROR, result.error or "")
    if result.parse_error:
        return None, Reason(Code(f"{kind}_unparsable"), result.parse_error)
    return result.parsed, None


def _llm_failed(reason: Reason | None) -> bool:
    return reason is not None and reason.code == Code.LLM_ERROR


def _reply_object(result: LLMResult, kind: str, schema: str | None = None, wrapper: str | None = None,
                  marker: str = "") -> tuple[dict[str, Any] | None, Reason | None]:
    """The reply as a JSON object of ``kind`` (``<kind>_wrong_shape`` when it is not one, or breaks
    ``schema``); ``{wrapper: {...}}`` is unwrapped when the object lacks ``marker``."""
    value, reason = _reply_json(result, kind)
    if reason:
        return None, reason
    if wrapper and isinstance(value, dict) and marker not in value and isinstance(value.get(wrapper), dict):
        value = value[wrapper]
    if not isinstance(value, dict):
        return None, Reason(Code(f"{kind}_wrong_shape"), f"expected a JSON object, got {type(value).__name__}")
    errors = validate_record(schema, value) if schema else []
    if errors:
        return None, Reason(Code(f"{kind}_wrong_shape"), "; ".join(errors[:3]))
    return value, None


def parse_outline(result: LLMResult) -> tuple[dict[str, Any] | None, Reason | None]:
    """(outline, None) or (None, reason). The outline has ``introduction`` and ``functions``."""
    return _reply_object(result, "outline", "llm_doc_outline")


def parse_operation(result: LLMResult) -> tuple[dict[str, Any] | None, Reason | None]:
    """(operation, None) or (None, reason): one function in the ``llm_operation`` shape."""
    return _reply_object(result, "operation", "llm_operation", wrapper="operation", marker="method")


def parse_spec(result: LLMResult) -> tuple[dict[str, Any] | None, Reason | None]:
    """(spec, None) or (None, reason). Accepts the spec itself or one wrapped as {"spec": …}."""
    value, reason = _reply_object(result, "spec", wrapper="spec", marker="openapi")
    if value is not None and "paths" not in value and "openapi" not in value:
        return None, Reason(Code.SPEC_WRONG_SHAPE, "no 'openapi' or 'paths' key")
    return value, reason


# --- the stage ------------------------------------------------------------------------------------


def _functions_text(outline: dict[str, Any]) -> str:
    return "\n".join(f"- {f['name']}: {f['description']}" for f in outline["functions"])


def _round_params(common: dict[str, Any], rnd: int) -> dict[str, Any]:
    """Sampling for repair round ``rnd``: a new seed and a little more temperature each round, so a
    repeated prompt does not get the same (cached) answer back."""
    out = dict(common)
    out["seed"] = int(common.get("seed") or 0) + rnd
    out["temperature"] = min(1.0, float(common.get("temperature") or 0.0) + 0.2 * rnd)
    return out


def _problems_text(issues: list[LintIssue]) -> str:
    lines = [f"- {i}" for i in issues[:MAX_PROBLEMS_IN_REPAIR]]
    if len(issues) > MAX_PROBLEMS_IN_REPAIR:
        lines.append(f"- … and {len(issues) - MAX_PROBLEMS_IN_REPAIR} more")
    return "\n".join(lines)


def document_api(
    entry: CatalogEntry,
    llm: Completer,
    cfg: DocumenterConfig = DocumenterConfig(),
    prompts: DocumenterPrompts | None = None,
) -> DocResult:
    """Document one API. Always returns an ApiDoc; invalid ones carry their problems and a Rejection."""
    prompts = prompts or default_prompts()
    signature = llm.model_signature("documenter")
    doc_id = doc_id_for(entry, signature, cfg, prompts)
    example = read_asset("example_spec.json").strip()
    common = dict(subject_id=entry.api_id, temperature=cfg.temperature, seed=cfg.seed)
    model = signature

    def finish(status: str, introduction: str, function_list: list[dict[str, str]], spec: dict[str, Any] | None,
               issues: list[LintIssue], rounds: int, reason: Reason | None) -> DocResult:
        functions: list[FunctionDoc] = []
        nl = ""
        if spec is not None and status == "valid":
            infos = derive_functions(spec)
            nl = nl_documentation(spec, infos)
            functions = function_records(doc_id, entry.api_id, infos)
        doc = ApiDoc(
            doc_id=doc_id, api_id=entry.api_id, name=entry.name, category=entry.category,
            introduction=introduction, function_list=function_list, spec=spec, nl_documentation=nl,
            status=status, lint_errors=[i.to_dict() for i in issues], repair_rounds=rounds, origin="llm",
            prompt_version=prompts.version, model=model,
        )
        rejections = []
        if status != "valid":
            code = str(reason.code if reason else Code.SPEC_INVALID)
            detail = str(reason) if reason and reason.detail else "; ".join(str(i) for i in issues[:5])
            rejections.append(Rejection(content_id("rejection", "documentation", doc_id, code), "documentation", entry.api_id, code, detail[:2000]))
        return DocResult(doc=doc, functions=functions, rejections=rejections)

    # 1. outline: introduction + function list
    outline_result = llm.complete(
        "documenter",
        prompts.outline.render(name=entry.name, category=entry.category, description=entry.description, link=entry.link or "(none)"),
        prompt_version=prompts.outline.version, json_schema=load_schema("llm_doc_outline"), schema_name="doc_outline",
        max_tokens=cfg.outline_max_tokens, **common,
    )
    model = outline_result.model or model
    outline, reason = parse_outline(outline_result)
    if outline is None:
        return finish("invalid", "", [], None, [], 0, reason)
    function_list = [{"name": f["name"], "description": f["description"]} for f in outline["functions"]]

    # 2. the spec, in the configured mode, with repair rounds
    if cfg.spec_mode == "operations":
        spec, issues, rounds, reason = _spec_by_operations(entry, outline, llm, cfg, prompts, common)
    else:
        spec, issues, rounds, reason = _spec_whole(entry, outline, llm, cfg, prompts, common, example)
    if spec is None:
        return finish("invalid", outline["introduction"], function_list, None, [], rounds, reason)
    if issues:
        return finish("invalid", outline["introduction"], function_list, spec, issues, rounds,
                      reason or Reason(Code.SPEC_INVALID, f"{len(issues)} problem(s) after {rounds} repair round(s): "
                                       + "; ".join(str(i) for i in issues[:3])))
    return finish("valid", outline["introduction"], function_list, spec, [], rounds, None)


SpecOutcome = tuple["dict[str, Any] | None", "list[LintIssue]", int, "Reason | None"]


def _spec_whole(entry: CatalogEntry, outline: dict[str, Any], llm: Completer, cfg: DocumenterConfig,
                prompts: DocumenterPrompts, common: dict[str, Any], example: str) -> SpecOutcome:
    """'openapi' mode: the LLM writes the whole document; problems go back until it passes."""
    spec_result = llm.complete(
        "documenter",
        prompts.spec.render(example=example, name=entry.name, category=entry.category,
                            introduction=outline["introduction"], functions=_functions_text(outline)),
        prompt_version=prompts.spec.version, json_schema=load_schema("llm_openapi_spec"), schema_name="openapi_spec",
        max_tokens=cfg.spec_max_tokens, **common,
    )
    spec, reason = parse_spec(spec_result)
    issues: list[LintIssue] = lint_spec(spec) if spec is not None else []
    rounds = 0
    while (spec is None or issues) and rounds < cfg.repair_rounds and not _llm_failed(reason):
        rounds += 1
        shown = json.dumps(spec, ensure_ascii=False) if spec is not None else (spec_result.text or "")[:6000]
        problems = _problems_text(issues) if spec is not None else f"- {reason}"
        repair_result = llm.complete(
            "documenter",
            prompts.repair.render(example=example, spec=shown, problems=problems),
            prompt_version=prompts.repair.version, json_schema=load_schema("llm_openapi_spec"),
            schema_name="openapi_spec", max_tokens=cfg.spec_max_tokens, **_round_params(common, rounds),
        )
        candidate, cand_reason = parse_spec(repair_result)
        if candidate is None:
            if spec is None or _llm_failed(cand_reason):
                reason = cand_reason
            continue
        spec, reason, spec_result = candidate, None, repair_result
        issues = lint_spec(spec)
    return spec, issues, rounds, reason


def _spec_by_operations(entry: CatalogEntry, outline: dict[str, Any], llm: Completer, cfg: DocumenterConfig,
                        prompts: DocumenterPrompts, common: dict[str, Any]) -> SpecOutcome:
    """'operations' mode: one constrained object per function, wrapped by code; only the functions
    with problems go back for repair. A function that never parses is left out of the spec."""
    ops: dict[str, dict[str, Any]] = {}
    failures: dict[str, str] = {}
    examples = read_asset("example_operations.json").strip()
    for f in outline["functions"]:
        op, why = parse_operation(llm.complete(
            "documenter",
            prompts.operation.render(examples=examples, name=entry.name,
                                     category=entry.category, introduction=outline["introduction"],
                                     functions=_functions_text(outline), function=f"{f['name']}: {f['description']}"),
            prompt_version=prompts.operation.version, json_schema=load_schema("llm_operation"), schema_name="operation",
            max_tokens=cfg.operation_max_tokens, **common))
        if op is None:
            failures[f["name"]] = str(why or Code.OPERATION_UNPARSABLE)
            if _llm_failed(why):
                return None, [], 0, why
        else:
            ops[f["name"]] = op
    return _repair_operations(entry, outline, llm, cfg, prompts, common, ops, failures)


def _repair_operations(entry: CatalogEntry, outline: dict[str, Any], llm: Completer, cfg: DocumenterConfig,
                       prompts: DocumenterPrompts, common: dict[str, Any], ops: dict[str, dict[str, Any]],
                       failures: dict[str, str]) -> SpecOutcome:
    """Wrap ``ops`` into a spec; send the functions with problems (lint issues, name collisions, replies
    that did not parse) back for repair, up to ``repair_rounds`` times."""
    def build() -> tuple[dict[str, Any] | None, list[LintIssue], list[tuple[str, LintIssue]]]:
        if not ops:
            return None, [], []
        spec, collisions = assemble_spec(entry, outline["introduction"], ops)
        return spec, [i for _, i in collisions] + lint_spec(spec), collisions

    descriptions = {f["name"]: f["description"] for f in outline["functions"]}
    examples = read_asset("example_operations.json").strip()
    spec, issues, collisions = build()
    rounds = 0
    while (issues or failures) and rounds < cfg.repair_rounds:
        rounds += 1
        todo = issues_by_function(ops, [i for i in issues if i.code != "operation_collision"])
        for fn, issue in collisions:
            todo.setdefault(fn, []).append(issue)
        for fn, why in failures.items():
            todo[fn] = [LintIssue("operation_unparsable", fn, why)]
        new_failures: dict[str, str] = {}
        for fn, fn_issues in todo.items():
            current = json.dumps(ops[fn], ensure_ascii=False) if fn in ops else "(none: the last attempt was not valid)"
            op, why = parse_operation(llm.complete(
                "documenter",
                prompts.operation_repair.render(examples=examples, name=entry.name,
                                                function=f"{fn}: {descriptions.get(fn, '')}", operation=current,
                                                problems=_problems_text(fn_issues)),
                prompt_version=prompts.operation_repair.version, json_schema=load_schema("llm_operation"),
                schema_name="operation", max_tokens=cfg.operation_max_tokens, **_round_params(common, rounds)))
            if op is not None:
                ops[fn] = op
            elif fn not in ops:
                new_failures[fn] = str(why or Code.OPERATION_UNPARSABLE)
            if _llm_failed(why):
                return None, [], rounds, why
        failures = new_failures
        spec, issues, collisions = build()
    if spec is None:
        detail = "; ".join(f"{fn}: {why}" for fn, why in failures.items())
        return None, [], rounds, Reason(Code.NO_OPERATION, detail[:2000 - len(Code.NO_OPERATION) - 2])
    return spec, issues, rounds, None

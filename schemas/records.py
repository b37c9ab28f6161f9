"""The record types every stage speaks: one definition each, its JSON Schema generated from it.

Each dataclass is a record; ``to_dict()`` gives the dict that is validated (by jsonschema, against the
schema ``schemas.keywords`` generates: ``schemas/json/<SCHEMA>.schema.json``) and landed. Enums are
``Literal`` types; patterns, bounds and descriptions ride on ``Annotated[T, Keywords(...)]``; a class
docstring is its schema's description. After changing a record: ``python -m schemas.generate``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal

from schemas.context_records import ToolContext  # noqa: F401  (re-exported: the record of schema tool_context)
from schemas.dialogue_records import Dialogue, FollowUp, Step  # noqa: F401  (records of schema dialogue, re-exported)
from schemas.keywords import Keywords
from schemas.record_base import ID, Count, InstructionKind, Record


def _strings_object(*names: str) -> dict[str, Any]:
    """The schema of an object whose fields ``names`` are all required strings."""
    return {"type": "object", "required": list(names), "properties": {n: {"type": "string"} for n in names}}


@dataclass
class CatalogEntry(Record):
    """One API of a public catalog, normalised. api_id is a content hash of the normalised name and link."""

    SCHEMA: ClassVar[str] = "catalog_entry"
    api_id: ID
    name: Annotated[str, Keywords(minLength=1, maxLength=200)]
    description: Annotated[str, Keywords(minLength=1, maxLength=2000)]
    category: Annotated[str, Keywords(minLength=1, maxLength=200)]
    link: Annotated[str, Keywords(maxLength=2000)]
    auth: Annotated[str, Keywords(maxLength=100)]
    https: Annotated[bool | None, Keywords(required=False)]
    cors: Annotated[str | None, Keywords(required=False, maxLength=50)]
    source: Annotated[str, Keywords(description="file the row came from")]
    locator: Annotated[str, Keywords(description="where in the file (line or index)")]
    merged_count: Annotated[int, Keywords(required=True, minimum=1, description="rows merged into this one")] = 1


@dataclass
class QuarantinedRow(Record):
    """A catalog row that was refused at import, with the reason code and a detail."""

    SCHEMA: ClassVar[str] = "catalog_quarantine"
    TITLE: ClassVar[str] = "CatalogQuarantine"
    quarantine_id: ID
    source: str
    locator: str
    reason: Literal[
        "missing_name",
        "empty_description",
        "description_too_long",
        "bad_utf8",
        "unknown_columns",
        "malformed_row",
        "name_too_long",
    ]
    detail: str
    raw: Annotated[str, Keywords(maxLength=4000, description="the row as read, cut at 4,000 characters")]


@dataclass
class LintIssue(Record):
    """One problem found in an OpenAPI spec by the validator or our lint."""

    code: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"[{self.code}] {self.where}: {self.message}"


@dataclass
class ApiDoc(Record):
    """The documentation of one API: introduction, function list, OpenAPI 3.0 spec and the derived NL
    documentation. doc_id is a content hash of the catalog entry, prompt versions, documenter models and
    repair rounds."""

    SCHEMA: ClassVar[str] = "api_doc"
    doc_id: ID
    api_id: ID
    name: Annotated[str, Keywords(minLength=1)]
    category: Annotated[str, Keywords(minLength=1)]
    introduction: str
    function_list: Annotated[list[dict[str, str]], Keywords(items=_strings_object("name", "description"))]
    spec: Annotated[dict[str, Any] | None, Keywords(description="the OpenAPI 3.0 document; null when none could be parsed")]
    nl_documentation: str
    status: Literal["valid", "invalid"]
    lint_errors: Annotated[list[dict[str, str]], Keywords(items=_strings_object("code", "where", "message"))]
    repair_rounds: Count
    origin: Literal["llm", "import"]
    prompt_version: str
    model: str
    source: Annotated[str, Keywords(description="an imported document's file name (what tells two documents of one title and "
                                                "server apart); empty for an LLM-written doc")] = ""


@dataclass
class FunctionDoc(Record):
    """One operation of a documented API, with the natural-language documentation derived from the spec by
    code."""

    SCHEMA: ClassVar[str] = "function_doc"
    function_id: ID
    doc_id: ID
    api_id: ID
    name: Annotated[str, Keywords(minLength=1)]
    method: Literal["get", "post", "put", "patch", "delete", "head", "options", "trace"]
    path: Annotated[str, Keywords(minLength=1)]
    description: str
    parameters: Annotated[
        list[dict[str, Any]],
        Keywords(
            items={
                "type": "object",
                "required": ["name", "location", "required", "type"],
                "properties": {
                    "name": {"type": "string"},
                    "location": {"type": "string"},
                    "required": {"type": "boolean"},
                    "type": {"type": "string"},
                    "enum": {"type": ["array", "null"]},
                    "description": {"type": "string"},
                },
            }
        ),
    ]
    output: str
    nl_doc: str


@dataclass
class ImportNote(Record):
    """What importing a published tool document did: a repair, an assumption, a warning or a dropped operation,
    per document or per operation."""

    SCHEMA: ClassVar[str] = "import_note"
    note_id: ID
    doc_id: ID
    api_id: ID
    source: str
    source_format: Literal["openapi3", "swagger2", "toolalpaca", "mcp", "openai_tools"]
    kind: Literal["repair", "assumption", "warning", "dropped"]
    code: Annotated[str, Keywords(minLength=1)]
    operation: str
    function: str
    detail: str


@dataclass
class ReplyToolCall(Record):
    """One native tool call of a reply, as the model wrote it (``arguments`` is its text, JSON or not)."""

    id: str
    name: str
    arguments: str


@dataclass
class LLMCall(Record):
    """One LLM call in the ledger. request_hash identifies the request (what serves it — provider, model,
    normalised api_base, deployment settings — and messages, schema, tools, sampling); the ledger doubles as
    the response cache, so a row holds every part of the reply a replay must give back: the text (None
    when the message's ``content`` was null), the native tool calls, the reasoning text and the usage."""

    SCHEMA: ClassVar[str] = "llm_call"
    NESTED: ClassVar[dict[str, type[Record]]] = {"tool_calls": ReplyToolCall}
    call_id: ID
    request_hash: ID
    role: Literal["documenter", "user", "assistant", "executor", "judge"]
    model: str
    prompt_version: str
    subject_id: Annotated[str, Keywords(description="what the call was for (an api_id, a dialogue id …)")]
    status: Literal["ok", "error"]
    prompt_tokens: Count
    completion_tokens: Count
    cost_usd: Annotated[float | None, Keywords(minimum=0)]
    latency_s: Annotated[float, Keywords(minimum=0)]
    finish_reason: str | None
    response_text: Annotated[str | None, Keywords(description="the reply's text; null for a failed call or a null content")]
    error: str | None
    tool_calls: Annotated[list[ReplyToolCall], Keywords(description="the reply's native tool calls, in order")] = field(
        default_factory=list)
    reasoning_text: Annotated[str | None, Keywords(description="the reply's reasoning text, where the provider sent one")] = None
    served_by: Annotated[str, Keywords(description="JSON text: what the request hash says serves it (cache identity)")] = ""


@dataclass
class Rejection(Record):
    """Something the factory refused: at which stage, what, and why (a reason code plus a detail)."""

    SCHEMA: ClassVar[str] = "rejection"
    rejection_id: ID
    stage: Literal["catalog", "documentation", "spec_import", "landing", "instruction", "simulation", "curation", "import"]
    subject_id: str
    reason: Annotated[str, Keywords(minLength=1)]
    detail: Annotated[str, Keywords(required=True)] = ""


@dataclass
class DocResult:
    """What documenting one API produced: the doc (if any), its functions, rejections and the calls made."""

    doc: ApiDoc | None
    functions: list[FunctionDoc] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


@dataclass
class Instruction(Record):
    """One user instruction for a documented API, of a kind; instruction_id is a content hash of the doc, kind,
    text, prompt version and model."""

    SCHEMA: ClassVar[str] = "instruction"
    instruction_id: ID
    api_id: ID
    doc_id: ID
    kind: InstructionKind
    text: Annotated[str, Keywords(minLength=10, maxLength=600)]
    details: str
    prompt_version: str
    model: str
    partner_doc_ids: Annotated[
        list[ID], Keywords(description="multi_api: the docs of the other APIs the instruction needs (same category)")
    ] = field(default_factory=list)  # the other APIs' docs of a multi-API instruction
    target_functions: Annotated[
        list[str], Keywords(description="a large API: the operations the user agent was shown (tasks.simulation.toolset_slice); empty: all")
    ] = field(default_factory=list)  # a large API's slice the user agent wrote about; [] = all
    chain: Annotated[
        list[str], Keywords(description="chain: the operations the request needs, in order, each fed by the one before (function_edge)")
    ] = field(default_factory=list)  # a chain instruction's operations in call order; [] = not a chain


@dataclass
class FunctionEdge(Record):
    """An output field of one operation that can feed a parameter of another (``tasks.simulation.function_graph``),
    with why. ``partner_doc_id`` set: an edge between an API and its multi-API partner, the functions named as
    multi-API dialogues name them (``<Prefix>_<operationId>``). edge_id hashes the doc(s) and the edge's ends."""

    SCHEMA: ClassVar[str] = "function_edge"
    edge_id: ID
    doc_id: ID
    api_id: ID
    partner_doc_id: Annotated[str | None, Keywords(pattern="^[0-9a-f]{16}$")]
    source: Annotated[str, Keywords(minLength=1)]
    output: Annotated[str, Keywords(minLength=1)]
    target: Annotated[str, Keywords(minLength=1)]
    parameter: Annotated[str, Keywords(minLength=1)]
    score: Annotated[float, Keywords(minimum=0)]
    evidence: list[str]


@dataclass
class CurationVerdict(Record):
    """One funnel stage's decision on one dialogue under one curation config: kept, or refused with a reason
    code. verdict_id is a content hash of dialogue, stage and config version."""

    SCHEMA: ClassVar[str] = "curation_verdict"
    TITLE: ClassVar[str] = "Curation verdict"
    VERSION: ClassVar[int] = 2
    SCHEMA_EXTRA: ClassVar[dict[str, Any]] = {
        "if": {"properties": {"kept": {"const": False}}},
        "then": {"properties": {"reason": {"type": "string"}}},
    }
    verdict_id: ID
    dialogue_id: ID
    api_id: ID
    stage: Literal["format", "execution", "semantic", "dedup", "length"]
    kept: bool
    reason: Annotated[str | None, Keywords(pattern="^[a-z_]+$")]
    detail: str
    config_version: ID
    n_tokens: Annotated[int | None, Keywords(required=True, minimum=0)] = None
    model: Annotated[
        str | None, Keywords(description="v2: the dialogue's assistant model (the generator the funnel is reported by)")
    ] = None  # v2: the dialogue's assistant model
    instruction_kind: InstructionKind | None = None  # v2


@dataclass
class TurnVerdict(Record):
    """The funnel's verdict on one assistant turn of a dialogue (its steps sharing ``step_index``) under one
    curation config: kept, or refused with the stage and reason of its first failing check
    (``tasks.curation.turns``). verdict_id is a content hash of dialogue, step index and config version."""

    SCHEMA: ClassVar[str] = "turn_verdict"
    TITLE: ClassVar[str] = "Turn verdict"
    verdict_id: ID
    dialogue_id: ID
    api_id: ID
    step_index: Count
    user_turn: Annotated[Count, Keywords(description="the user turn the assistant turn served (0: the instruction)")]
    stage: Literal["format", "execution"]
    kept: bool
    reason: Annotated[str | None, Keywords(pattern="^[a-z_]+$")]
    detail: str
    config_version: ID


@dataclass
class GoldenAnswer(Record):
    """The expected calls for one instruction of an evaluation set (ToolAlpaca's Golden_Answers): Action names
    with their parsed Action_Input, in order."""

    SCHEMA: ClassVar[str] = "golden_answer"
    TITLE: ClassVar[str] = "Golden answer"
    golden_id: ID
    instruction_id: ID
    api_id: ID
    calls: Annotated[
        list[dict[str, Any]],
        Keywords(
            items={
                "type": "object",
                "required": ["action", "action_input"],
                "additionalProperties": False,
                "properties": {"action": {"type": "string", "minLength": 1}, "action_input": {}, "group": {
                    "type": "integer", "minimum": 0,
                    "description": "calls with the same group were made at once (parallel calls): their order does not matter"}},
            }
        ),
    ]
    source: Annotated[str, Keywords(minLength=1)]


@dataclass
class EvalResult(Record):
    """One trial of one evaluation instruction by the model under test: its trajectory, the exact-match score
    against the golden calls, the rule-based process score with its reasons, and the judge's verdict.
    result_id is a content hash of the run, the golden answer and the trial."""

    SCHEMA: ClassVar[str] = "eval_result"
    TITLE: ClassVar[str] = "Evaluation result"
    result_id: ID
    run_id: ID
    golden_id: ID
    instruction_id: ID
    api_id: ID
    trial: Count
    steps: list[dict[str, Any]]
    final_answer: str | None
    stop_reason: Literal["final_answer", "step_limit", "gave_up", "llm_error", "crashed", "no_prediction"]
    predicted_calls: Annotated[list[dict[str, Any]], Keywords(items={"type": "object", "required": ["action", "action_input"]})]
    em_correct: bool
    names_correct: bool
    em_matched: Count
    n_golden: Count
    n_predicted: Count
    em_reasons: list[str]
    judge_status: Literal["ok", "unparsable", "error", "off", "no_call"]
    process_correct: Literal["yes", "no", "uncertain"] | None
    response_correct: Literal["yes", "no", "uncertain"] | None
    judge_reason: str
    process_rule: bool | None = None  # the deterministic process score (tasks.evaluation.process_score); None: not scored
    process_rule_reasons: list[str] = field(default_factory=list)
    context_id: Annotated[str | None, Keywords(required=False, pattern="^[0-9a-f]{16}$", description=(
        "the tool context the model under test and the judge were shown (table tool_context)"))] = None

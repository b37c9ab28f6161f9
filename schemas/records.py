"""Python record types for the JSON Schemas in ``schemas/json``.

Each dataclass mirrors one schema; ``to_dict()`` gives the dict that is validated and landed.
The ``SCHEMA`` class attribute names the schema a record is checked against.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar


@dataclass
class Record:
    SCHEMA: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CatalogEntry(Record):
    """One API of a catalog, normalised; ``api_id`` = hash(normalised name, normalised link)."""

    SCHEMA: ClassVar[str] = "catalog_entry"
    api_id: str
    name: str
    description: str
    category: str
    link: str
    auth: str
    https: bool | None
    cors: str | None
    source: str
    locator: str
    merged_count: int = 1


@dataclass
class QuarantinedRow(Record):
    """A catalog row refused at import: ``reason`` is a code, ``detail`` says more."""

    SCHEMA: ClassVar[str] = "catalog_quarantine"
    quarantine_id: str
    source: str
    locator: str
    reason: str
    detail: str
    raw: str


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
    """The documentation of one API (introduction, functions, spec, NL docs) and its verdict."""

    SCHEMA: ClassVar[str] = "api_doc"
    doc_id: str
    api_id: str
    name: str
    category: str
    introduction: str
    function_list: list[dict[str, str]]
    spec: dict[str, Any] | None
    nl_documentation: str
    status: str  # "valid" | "invalid"
    lint_errors: list[dict[str, str]]
    repair_rounds: int
    origin: str  # "llm" | "import"
    prompt_version: str
    model: str


@dataclass
class FunctionDoc(Record):
    """One operation of a documented API with its NL documentation (derived by code)."""

    SCHEMA: ClassVar[str] = "function_doc"
    function_id: str
    doc_id: str
    api_id: str
    name: str
    method: str
    path: str
    description: str
    parameters: list[dict[str, Any]]
    output: str
    nl_doc: str


@dataclass
class ImportNote(Record):
    """What importing a published tool document did (a repair, assumption, warning or dropped
    operation); ``operation`` is "GET /path" or "" for the whole document."""

    SCHEMA: ClassVar[str] = "import_note"
    note_id: str
    doc_id: str
    api_id: str
    source: str
    source_format: str
    kind: str
    code: str
    operation: str
    function: str
    detail: str


@dataclass
class LLMCall(Record):
    """One row of the LLM call ledger."""

    SCHEMA: ClassVar[str] = "llm_call"
    call_id: str
    request_hash: str
    role: str
    model: str
    prompt_version: str
    subject_id: str
    status: str  # "ok" | "error"
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    latency_s: float
    finish_reason: str | None
    response_text: str | None
    error: str | None
    tool_calls: str | None = None  # JSON text of the reply's native tool calls, when it made any


@dataclass
class Rejection(Record):
    """Something refused: stage, subject, reason code and detail."""

    SCHEMA: ClassVar[str] = "rejection"
    rejection_id: str
    stage: str
    subject_id: str
    reason: str
    detail: str = ""


@dataclass
class DocResult:
    """What documenting one API produced: the doc (if any), its functions, rejections and the calls made."""

    doc: ApiDoc | None
    functions: list[FunctionDoc] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


@dataclass
class Step(Record):
    """One assistant turn of a dialogue and what answered it."""

    index: int
    text: str
    thought: str
    action: str | None
    action_input: Any
    observation: str | None
    status: int | None
    valid: bool
    error: str | None
    latency_s: float


@dataclass
class Dialogue(Record):
    """One simulated instance (see schemas/json/dialogue.schema.json)."""

    SCHEMA: ClassVar[str] = "dialogue"
    dialogue_id: str
    api_id: str
    doc_id: str
    instruction_id: str
    instruction: str
    instruction_kind: str
    steps: list[dict[str, Any]]
    final_answer: str | None
    stop_reason: str
    n_calls: int
    n_errors: int
    models: dict[str, str]
    prompt_versions: dict[str, str]
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    partner_api_ids: list[str] = field(default_factory=list)  # the other APIs of a multi-API dialogue
    origin: str = "simulation"  # "simulation" | "import"
    toolset: list[str] = field(default_factory=list)  # the functions the assistant was shown; [] = the whole API


@dataclass
class Instruction(Record):
    """One user instruction for a documented API."""

    SCHEMA: ClassVar[str] = "instruction"
    instruction_id: str
    api_id: str
    doc_id: str
    kind: str
    text: str
    details: str
    prompt_version: str
    model: str
    partner_doc_ids: list[str] = field(default_factory=list)  # the other APIs' docs of a multi-API instruction
    target_functions: list[str] = field(default_factory=list)  # a large API's slice the user agent wrote about; [] = all


@dataclass
class CurationVerdict(Record):
    """One funnel stage's decision on one dialogue under one curation config."""

    SCHEMA: ClassVar[str] = "curation_verdict"
    verdict_id: str
    dialogue_id: str
    api_id: str
    stage: str
    kept: bool
    reason: str | None
    detail: str
    config_version: str
    n_tokens: int | None = None
    model: str | None = None  # v2: the dialogue's assistant model
    instruction_kind: str | None = None  # v2


@dataclass
class GoldenAnswer(Record):
    """The expected calls of one evaluation instruction (imported from ToolAlpaca's ``Golden_Answers``)."""

    SCHEMA: ClassVar[str] = "golden_answer"
    golden_id: str
    instruction_id: str
    api_id: str
    calls: list[dict[str, Any]]
    source: str


@dataclass
class EvalResult(Record):
    """One trial of one evaluation instruction by the model under test: trajectory, exact match, the
    rule-based process score, judge."""

    SCHEMA: ClassVar[str] = "eval_result"
    result_id: str
    run_id: str
    golden_id: str
    instruction_id: str
    api_id: str
    trial: int
    steps: list[dict[str, Any]]
    final_answer: str | None
    stop_reason: str
    predicted_calls: list[dict[str, Any]]
    em_correct: bool
    names_correct: bool
    em_matched: int
    n_golden: int
    n_predicted: int
    em_reasons: list[str]
    judge_status: str
    process_correct: str | None
    response_correct: str | None
    judge_reason: str
    process_rule: bool | None = None  # the deterministic process score (tasks.process_score); None: not scored
    process_rule_reasons: list[str] = field(default_factory=list)

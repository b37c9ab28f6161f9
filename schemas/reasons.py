"""Refusal reasons as values: a code from an enum plus a detail (datatrove's ``(False, reason)``).

A ``Reason`` is what a parser or filter returns instead of raising; callers branch on ``code``
(never on the text). It is stored as ``str(reason)`` — ``"code: detail"`` — where a row keeps one
text, and as its two parts (``reason``, ``detail``) where a row has both columns (``Rejection``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class DocumentationCode(StrEnum):
    """Why the documenter produced no valid document for an API."""

    LLM_ERROR = "llm_error"
    OUTLINE_UNPARSABLE = "outline_unparsable"
    OUTLINE_WRONG_SHAPE = "outline_wrong_shape"
    OPERATION_UNPARSABLE = "operation_unparsable"
    OPERATION_WRONG_SHAPE = "operation_wrong_shape"
    SPEC_UNPARSABLE = "spec_unparsable"
    SPEC_WRONG_SHAPE = "spec_wrong_shape"
    SPEC_INVALID = "spec_invalid"
    NO_OPERATION = "no_operation"


class ExecutorCode(StrEnum):
    """Why the simulated executor could not answer a call that passed the call check."""

    LLM_ERROR = "llm_error"
    RESPONSE_UNPARSABLE = "response_unparsable"
    RESPONSE_NONCONFORMING = "response_nonconforming"


class CurationCode(StrEnum):
    """Why a funnel stage refused a dialogue (``tasks.curation``; the ``reason`` of a ``CurationVerdict``)."""

    NO_FINAL_ANSWER = "no_final_answer"  # format
    UNPARSABLE_STEP = "unparsable_step"
    UNKNOWN_ACTION = "unknown_action"
    ARGUMENTS_NOT_JSON = "arguments_not_json"
    NO_TOOL_CALL = "no_tool_call"
    TOO_MANY_CALLS = "too_many_calls"
    CALL_INVALID = "call_invalid"  # execution
    RESPONSE_NONCONFORMING = "response_nonconforming"
    EXECUTOR_FAILED = "executor_failed"
    UNRECOVERED_ERROR = "unrecovered_error"
    CHAIN_NOT_FOLLOWED = "chain_not_followed"  # a chain instruction's dialogue did not call its chain in order
    INVENTED_ARGUMENT = "invented_argument"  # an ID-like argument from neither the user nor an earlier result (a turn's check)
    JUDGE_UNFULFILLED = "judge_unfulfilled"  # semantic
    JUDGE_INVENTED_ARGUMENTS = "judge_invented_arguments"
    JUDGE_UNPARSABLE = "judge_unparsable"
    JUDGE_ERROR = "judge_error"  # the judge crashed on this dialogue (a bug), the run goes on
    LLM_ERROR = "llm_error"  # the judge's call failed after retries: retryable, not landed
    EXACT_DUPLICATE = "exact_duplicate"  # dedup
    NEAR_DUPLICATE = "near_duplicate"
    OVER_TOKEN_BUDGET = "over_token_budget"  # length


@dataclass(frozen=True)
class Reason:
    """A refusal: ``code`` (an enum member, or a plain code where the set is open) and a detail."""

    code: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}" if self.detail else str(self.code)

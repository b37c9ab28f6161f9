"""What an assistant was shown, as a record: the tool context a dialogue references (``Dialogue.context_id``).

A ``ToolContext`` holds the toolset exactly as the assistant saw it — the documents of every API involved,
the slice of a large API, the functions, the NL documentation, the tool definitions, the spec they came
from, the step mode and the assistant's prompt version — content-hashed, so a context lands once however
many dialogues share it. Exports, the paper's renderer, the length filter and the judge read it; nothing
re-derives it from a document that may have changed since.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from schemas.keywords import Keywords
from schemas.record_base import ID, Record


@dataclass
class ToolContext(Record):
    """The toolset one or more dialogues were simulated against; ``context_id`` hashes every other field."""

    SCHEMA: ClassVar[str] = "tool_context"
    context_id: ID
    api_id: Annotated[ID, Keywords(description="the dialogue's own API")]
    name: Annotated[str, Keywords(minLength=1, description="the API's name, or \"A + B\" for a multi-API toolset")]
    doc_ids: Annotated[list[ID], Keywords(description="the documents shown: the API's own first, then its partners'")]
    api_ids: Annotated[list[ID], Keywords(description="the APIs of doc_ids, in the same order")]
    toolset: Annotated[list[str], Keywords(description="the slice shown of a large toolset; empty: every function")]
    function_names: Annotated[list[str], Keywords(description="every function shown, in the order shown")]
    nl_documentation: Annotated[str, Keywords(description="the functions' documentation as the assistant read it")]
    tools: Annotated[list[dict[str, Any]], Keywords(description="the OpenAI tool definitions of the functions shown")]
    spec: Annotated[dict[str, Any], Keywords(description="the OpenAPI document the functions were made from (sliced, combined)")]
    step_mode: Annotated[str, Keywords(description="react | json | tools; empty where it was not recorded (a backfilled context)")]
    prompt_version: Annotated[str, Keywords(description="the assistant prompt's version; empty where not recorded")]

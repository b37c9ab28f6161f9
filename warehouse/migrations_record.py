"""Migrations from 18 on (``warehouse.migrations`` appends them): the record tells what happened (issue 33) —
the ledger's replies in typed columns, the tool context each dialogue was shown, the source of an
imported document."""

from __future__ import annotations

TOOL_CALL_TYPE = "STRUCT(id VARCHAR, name VARCHAR, arguments VARCHAR)[]"
_TOOL_CALL_JSON = '[{"id":"VARCHAR","name":"VARCHAR","arguments":"VARCHAR"}]'

RECORD: list[tuple[int, str, str]] = [
    (
        18,
        "the ledger keeps every part of a reply typed (tool calls as structs, reasoning text, what served it); "
        "tool contexts; dialogue.context_id and eval_result.context_id; api_doc.source",
        f"""
        ALTER TABLE llm_call ADD COLUMN tool_calls_v18 {TOOL_CALL_TYPE} DEFAULT [];
        UPDATE llm_call SET tool_calls_v18 = CASE WHEN tool_calls IS NULL THEN []
            ELSE from_json(CASE WHEN json_type(tool_calls) = 'VARCHAR' THEN json_extract_string(tool_calls, '$')
                                ELSE CAST(tool_calls AS VARCHAR) END, '{_TOOL_CALL_JSON}') END;
        DROP VIEW IF EXISTS llm_calls;
        DROP INDEX IF EXISTS llm_call_request;
        ALTER TABLE llm_call DROP COLUMN tool_calls;
        ALTER TABLE llm_call RENAME COLUMN tool_calls_v18 TO tool_calls;
        ALTER TABLE llm_call ADD COLUMN reasoning_text VARCHAR;
        ALTER TABLE llm_call ADD COLUMN served_by VARCHAR DEFAULT '';
        CREATE INDEX llm_call_request ON llm_call (request_hash);
        CREATE OR REPLACE VIEW llm_calls AS
            SELECT call_id, created_at, role, model, prompt_version, subject_id, status, prompt_tokens,
                   completion_tokens, prompt_tokens + completion_tokens AS total_tokens, cost_usd, latency_s,
                   finish_reason, error, request_hash, length(response_text) AS response_chars, tool_calls,
                   len(tool_calls) AS n_tool_calls, reasoning_text IS NOT NULL AS has_reasoning, served_by
            FROM llm_call;
        CREATE TABLE tool_context (
            context_id VARCHAR PRIMARY KEY, api_id VARCHAR NOT NULL, name VARCHAR NOT NULL, doc_ids JSON NOT NULL,
            api_ids JSON NOT NULL, toolset JSON NOT NULL, function_names JSON NOT NULL, nl_documentation VARCHAR NOT NULL,
            tools JSON NOT NULL, spec JSON NOT NULL, step_mode VARCHAR NOT NULL, prompt_version VARCHAR NOT NULL,
            schema_version INTEGER DEFAULT 1, created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
        ALTER TABLE dialogue ADD COLUMN context_id VARCHAR;
        CREATE OR REPLACE VIEW dialogues AS
            SELECT d.dialogue_id, d.api_id, c.name AS api_name, c.category, d.instruction_id, d.instruction,
                   d.instruction_kind, len(d.steps) AS n_steps, d.n_calls, d.n_errors, d.stop_reason,
                   d.final_answer, d.models, d.prompt_versions, d.prompt_tokens, d.completion_tokens, d.cost_usd,
                   d.doc_id, d.created_at, d.partner_api_ids, d.origin, d.assistant_model, d.toolset,
                   1 + json_array_length(d.follow_ups) AS user_turns, d.follow_ups,
                   len(list_filter(d.steps, lambda s: s.call = 1)) AS parallel_turns, d.cut_from, d.context_id
            FROM dialogue d LEFT JOIN catalog_entry c USING (api_id);
        ALTER TABLE api_doc ADD COLUMN source VARCHAR DEFAULT '';
        UPDATE api_doc SET source = c.source FROM catalog_entry c  -- an import's file name, as its catalog row kept it
            WHERE api_doc.api_id = c.api_id AND api_doc.origin = 'import' AND c.source IS NOT NULL;
        ALTER TABLE eval_result ADD COLUMN context_id VARCHAR;
        CREATE OR REPLACE VIEW tool_contexts AS
            SELECT t.context_id, t.api_id, t.name, t.doc_ids, t.api_ids, len(t.toolset) > 0 AS sliced,
                   json_array_length(t.function_names) AS n_functions, length(t.nl_documentation) AS documentation_chars,
                   length(CAST(t.tools AS VARCHAR)) AS tools_chars, t.step_mode, t.prompt_version, t.created_at,
                   (SELECT count(*) FROM dialogue d WHERE d.context_id = t.context_id) AS dialogues
            FROM tool_context t;
        """,
    ),
]

"""Migrations from 10 on (``warehouse.migrations`` appends them): lineage of superseded versions, import
notes, toolset slices, the rule-based process score of evaluation results, steps stored once and typed."""

from __future__ import annotations

# a dialogue's steps (schema dialogue, items of ``steps``) as the warehouse stored them from migration 14 to 16
STEPS_TYPE_14 = ('STRUCT("index" INTEGER, "text" VARCHAR, thought VARCHAR, "action" VARCHAR, action_input JSON, '
                 'observation VARCHAR, status INTEGER, "valid" BOOLEAN, "error" VARCHAR, latency_s DOUBLE)[]')
# … and since migration 17: the user turn a step serves, its place among a turn's parallel calls, a turn's answer
STEPS_TYPE = STEPS_TYPE_14.replace("latency_s DOUBLE)", 'latency_s DOUBLE, turn INTEGER, "call" INTEGER, answer VARCHAR)')

LATER: list[tuple[int, str, str]] = [
    (
        10,
        "lineage: which doc or dialogue version superseded which, and why",
        """
        CREATE OR REPLACE VIEW doc_versions AS
            SELECT d.api_id, c.name AS api_name, d.doc_id, d.status, d.origin, d.prompt_version, d.model, d.created_at,
                   lead(d.doc_id) OVER w AS superseded_by,
                   CASE WHEN lead(d.doc_id) OVER w IS NULL THEN NULL
                        WHEN lead(d.origin) OVER w IS DISTINCT FROM d.origin THEN 'replaced by an ' || lead(d.origin) OVER w || ' doc'
                        WHEN lead(d.model) OVER w IS DISTINCT FROM d.model THEN 'documenter model changed'
                        WHEN lead(d.prompt_version) OVER w IS DISTINCT FROM d.prompt_version THEN 'documenter prompts changed'
                        ELSE 'settings or catalog entry changed' END AS superseded_because
            FROM api_doc d LEFT JOIN catalog_entry c USING (api_id)
            WINDOW w AS (PARTITION BY d.api_id ORDER BY d.created_at, d.doc_id);
        CREATE OR REPLACE VIEW dialogue_versions AS
            SELECT d.api_id, c.name AS api_name, d.instruction, d.dialogue_id, d.doc_id, d.models, d.prompt_versions, d.created_at,
                   lead(d.dialogue_id) OVER w AS superseded_by,
                   CASE WHEN lead(d.dialogue_id) OVER w IS NULL THEN NULL
                        WHEN lead(d.doc_id) OVER w IS DISTINCT FROM d.doc_id THEN 'the API doc changed'
                        WHEN CAST(lead(d.models) OVER w AS VARCHAR) IS DISTINCT FROM CAST(d.models AS VARCHAR) THEN 'models changed'
                        WHEN CAST(lead(d.prompt_versions) OVER w AS VARCHAR) IS DISTINCT FROM CAST(d.prompt_versions AS VARCHAR)
                             THEN 'prompts changed'
                        ELSE 'settings changed' END AS superseded_because
            FROM dialogue d LEFT JOIN catalog_entry c USING (api_id)
            WHERE d.origin = 'simulation'
            WINDOW w AS (PARTITION BY d.api_id, d.instruction ORDER BY d.created_at, d.dialogue_id);
        """,
    ),
    (
        11,
        "imported tool documents: what each import repaired, assumed, warned of or dropped",
        """
        CREATE TABLE import_note (
            note_id VARCHAR PRIMARY KEY, doc_id VARCHAR NOT NULL, api_id VARCHAR NOT NULL, source VARCHAR NOT NULL,
            source_format VARCHAR NOT NULL, kind VARCHAR NOT NULL, code VARCHAR NOT NULL, operation VARCHAR NOT NULL,
            "function" VARCHAR NOT NULL, detail VARCHAR NOT NULL, schema_version INTEGER DEFAULT 1,
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
        CREATE OR REPLACE VIEW import_notes AS
            SELECT n.api_id, d.name AS api_name, n.source, n.source_format, n.kind, n.code, n.operation, n."function",
                   n.detail, n.doc_id, (d.doc_id IS NOT NULL AND d.doc_id = a.doc_id) AS current_doc, n.created_at
            FROM import_note n LEFT JOIN api_doc d USING (doc_id) LEFT JOIN apis a ON a.api_id = n.api_id;
        CREATE OR REPLACE VIEW import_summary AS
            SELECT a.api_id, a.name, a.status, a.n_functions AS operations_kept,
                   count(*) FILTER (WHERE n.kind = 'dropped') AS operations_dropped,
                   count(*) FILTER (WHERE n.kind = 'repair') AS repairs,
                   count(*) FILTER (WHERE n.kind = 'assumption') AS assumptions,
                   count(*) FILTER (WHERE n.kind = 'warning') AS warnings,
                   any_value(n.source_format) AS source_format, any_value(n.source) AS source
            FROM apis a LEFT JOIN import_note n ON n.doc_id = a.doc_id
            WHERE a.origin = 'import'
            GROUP BY ALL;
        """,
    ),
    (
        12,
        "large APIs: the slice of operations an instruction and a dialogue were shown",
        """
        ALTER TABLE instruction ADD COLUMN target_functions JSON DEFAULT '[]';
        ALTER TABLE dialogue ADD COLUMN toolset JSON DEFAULT '[]';
        CREATE OR REPLACE VIEW instructions AS
            SELECT i.instruction_id, i.api_id, c.name AS api_name, c.category, i.kind, i.text, i.details, i.doc_id,
                   i.prompt_version, i.model, i.created_at, i.partner_doc_ids, i.target_functions
            FROM instruction i LEFT JOIN catalog_entry c USING (api_id);
        CREATE OR REPLACE VIEW dialogues AS
            SELECT d.dialogue_id, d.api_id, c.name AS api_name, c.category, d.instruction_id, d.instruction,
                   d.instruction_kind, json_array_length(d.steps) AS n_steps, d.n_calls, d.n_errors, d.stop_reason,
                   d.final_answer, d.models, d.prompt_versions, d.prompt_tokens, d.completion_tokens, d.cost_usd,
                   d.doc_id, d.created_at, d.partner_api_ids, d.origin, d.assistant_model, d.toolset
            FROM dialogue d LEFT JOIN catalog_entry c USING (api_id);
        """,
    ),
    (
        13,
        "evaluation: the rule-based process score beside exact match and the judge",
        """
        ALTER TABLE eval_result ADD COLUMN process_rule BOOLEAN;
        ALTER TABLE eval_result ADD COLUMN process_rule_reasons JSON DEFAULT '[]';
        ALTER VIEW eval_results RENAME TO eval_results_v9;
        ALTER VIEW eval_scores RENAME TO eval_scores_v9;
        CREATE VIEW eval_results AS
            SELECT b.*, r.process_rule, r.process_rule_reasons
            FROM eval_results_v9 b JOIN eval_result r USING (result_id);
        CREATE VIEW eval_scores AS
            SELECT b.*, round(p.process_rule, 1) AS process_rule
            FROM eval_scores_v9 b
                 JOIN (SELECT run_id, 100 * avg(process_rule::INT) AS process_rule FROM eval_result GROUP BY run_id) p USING (run_id);
        """,
    ),
    (
        14,
        "a dialogue's steps stored once, typed: dialogue.steps a list of structs, view steps unnests it (table step dropped)",
        f"""
        ALTER TABLE dialogue ALTER COLUMN steps TYPE {STEPS_TYPE_14} USING CAST(steps AS {STEPS_TYPE_14});
        DROP TABLE step;
        -- unnest in the select list: a lateral unnest (FROM dialogue, unnest(...)) is planned as a correlated join
        -- once a filter applies, 70x slower at 1M dialogues (7 s against 0.1 s for WHERE valid)
        CREATE OR REPLACE VIEW steps AS
            SELECT dialogue_id, api_id, s.index AS step_index, s.thought, s.action, s.action_input, s.observation,
                   s.status, s.valid, s.error, s.latency_s, s.text
            FROM (SELECT d.dialogue_id, d.api_id, unnest(d.steps) AS s FROM dialogue d);
        CREATE OR REPLACE VIEW dialogues AS
            SELECT d.dialogue_id, d.api_id, c.name AS api_name, c.category, d.instruction_id, d.instruction,
                   d.instruction_kind, len(d.steps) AS n_steps, d.n_calls, d.n_errors, d.stop_reason,
                   d.final_answer, d.models, d.prompt_versions, d.prompt_tokens, d.completion_tokens, d.cost_usd,
                   d.doc_id, d.created_at, d.partner_api_ids, d.origin, d.assistant_model, d.toolset
            FROM dialogue d LEFT JOIN catalog_entry c USING (api_id);
        CREATE OR REPLACE VIEW clean_instances AS
            SELECT d.dialogue_id, d.api_id, c.name AS api_name, c.category, d.instruction_id, d.instruction,
                   d.instruction_kind, to_json(d.steps) AS steps, d.final_answer, d.n_calls, v.n_tokens, d.models,
                   d.prompt_versions, d.doc_id, d.partner_api_ids, d.origin, d.created_at
            FROM current_verdicts v JOIN dialogue d USING (dialogue_id) LEFT JOIN catalog_entry c ON c.api_id = d.api_id
            WHERE v.stage = 'length' AND v.kept;
        CREATE OR REPLACE VIEW snapshot_instances AS
            SELECT m.snapshot_id, d.dialogue_id, d.api_id, c.name AS api_name, c.category, d.instruction, d.instruction_kind,
                   to_json(d.steps) AS steps, d.final_answer, d.n_calls, d.models, d.prompt_versions, d.doc_id,
                   d.partner_api_ids, d.origin
            FROM snapshot_member m JOIN dialogue d USING (dialogue_id) LEFT JOIN catalog_entry c ON c.api_id = d.api_id;
        """,
    ),
    (
        15,
        "dependent chains: the function graph with its evidence, chain instructions, operation and edge coverage",
        """
        CREATE TABLE function_edge (
            edge_id VARCHAR PRIMARY KEY, doc_id VARCHAR NOT NULL, api_id VARCHAR NOT NULL, partner_doc_id VARCHAR,
            source VARCHAR NOT NULL, output VARCHAR NOT NULL, target VARCHAR NOT NULL, parameter VARCHAR NOT NULL,
            score DOUBLE NOT NULL, evidence JSON NOT NULL, schema_version INTEGER DEFAULT 1,
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
        CREATE INDEX function_edge_doc ON function_edge (doc_id);
        ALTER TABLE instruction ADD COLUMN chain JSON DEFAULT '[]';
        CREATE OR REPLACE VIEW instructions AS
            SELECT i.instruction_id, i.api_id, c.name AS api_name, c.category, i.kind, i.text, i.details, i.doc_id,
                   i.prompt_version, i.model, i.created_at, i.partner_doc_ids, i.target_functions, i.chain
            FROM instruction i LEFT JOIN catalog_entry c USING (api_id);
        CREATE OR REPLACE VIEW operation_coverage AS
            SELECT f.api_id, f.api_name, f.category, f.name AS function, f.doc_id,
                   coalesce(u.dialogues, 0) AS dialogues, coalesce(u.chain_dialogues, 0) AS chain_dialogues
            FROM functions f LEFT JOIN (
                SELECT api_id, s.action, count(DISTINCT dialogue_id) AS dialogues,
                       count(DISTINCT dialogue_id) FILTER (WHERE kind = 'chain') AS chain_dialogues
                FROM (SELECT d.dialogue_id, d.api_id, d.instruction_kind AS kind, unnest(d.steps) AS s FROM dialogue d)
                WHERE s.valid AND s.action IS NOT NULL GROUP BY ALL) u ON u.api_id = f.api_id AND u.action = f.name;
        CREATE OR REPLACE VIEW edge_coverage AS
            SELECT e.edge_id, e.api_id, a.name AS api_name, a.category, e.doc_id, e.partner_doc_id, e.source, e.output,
                   e.target, e.parameter, e.score, e.evidence,
                   count(DISTINCT used.dialogue_id) AS dialogues,
                   (SELECT count(*) FROM instruction i WHERE i.doc_id = e.doc_id AND i.kind = 'chain'
                        AND list_contains(list_zip(CAST(i.chain AS VARCHAR[])[:-2], CAST(i.chain AS VARCHAR[])[2:]),
                                          {'a': e.source, 'b': e.target}::STRUCT(a VARCHAR, b VARCHAR))) AS chain_instructions
            FROM function_edge e
                 JOIN apis a ON a.doc_id = e.doc_id
                 LEFT JOIN (SELECT s.dialogue_id, s.api_id, s.action AS source, t.action AS target, s.observation,
                                   t.action_input
                            FROM steps s JOIN steps t ON t.dialogue_id = s.dialogue_id AND t.step_index > s.step_index
                            WHERE s.valid AND t.valid AND s.status BETWEEN 200 AND 299) used
                   ON used.api_id = e.api_id AND used.source = e.source AND used.target = e.target
                  AND length(used.action_input ->> e.parameter) >= 1
                  AND contains(used.observation, used.action_input ->> e.parameter)
            GROUP BY ALL;
        """,
    ),
    (
        16,
        "dialogue without its primary-key index: the landing keeps dialogue_id unique (anti-join), 15-25% faster bulk landing",
        f"""
        CREATE TABLE dialogue_v16 (
            dialogue_id VARCHAR NOT NULL, api_id VARCHAR NOT NULL, doc_id VARCHAR NOT NULL, instruction_id VARCHAR NOT NULL,
            instruction VARCHAR NOT NULL, instruction_kind VARCHAR NOT NULL, steps {STEPS_TYPE_14} NOT NULL, final_answer VARCHAR,
            stop_reason VARCHAR NOT NULL, n_calls INTEGER NOT NULL, n_errors INTEGER NOT NULL, models JSON NOT NULL,
            prompt_versions JSON NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, cost_usd DOUBLE,
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp, partner_api_ids JSON DEFAULT '[]',
            schema_version INTEGER DEFAULT 1, origin VARCHAR DEFAULT 'simulation', assistant_model VARCHAR,
            toolset JSON DEFAULT '[]'
        );
        INSERT INTO dialogue_v16 SELECT * FROM dialogue;
        DROP TABLE dialogue;
        ALTER TABLE dialogue_v16 RENAME TO dialogue;
        """,
    ),
    (
        17,
        "follow-up turns, parallel calls and turn-level filtering: dialogue.follow_ups and cut_from, each step's user "
        "turn, call and answer, turn_verdict and view turn_funnel",
        f"""
        ALTER TABLE dialogue ADD COLUMN follow_ups JSON DEFAULT '[]';
        ALTER TABLE dialogue ADD COLUMN cut_from VARCHAR;
        CREATE TABLE turn_verdict (
            verdict_id VARCHAR PRIMARY KEY, dialogue_id VARCHAR NOT NULL, api_id VARCHAR NOT NULL, step_index INTEGER NOT NULL,
            user_turn INTEGER NOT NULL, stage VARCHAR NOT NULL, kept BOOLEAN NOT NULL, reason VARCHAR, detail VARCHAR NOT NULL,
            config_version VARCHAR NOT NULL, schema_version INTEGER DEFAULT 1, created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
        CREATE INDEX turn_verdict_dialogue ON turn_verdict (dialogue_id);
        CREATE OR REPLACE VIEW turn_funnel AS
            SELECT t.stage, coalesce(t.reason, 'kept') AS reason, t.kept, t.user_turn > 0 AS follow_up, d.api_id,
                   c.name AS api_name, c.category, d.models->>'assistant' AS model, d.instruction_kind, count(*) AS n
            FROM turn_verdict t JOIN dialogue d USING (dialogue_id) LEFT JOIN catalog_entry c ON c.api_id = d.api_id
            WHERE t.config_version = (SELECT config_version FROM curation_run ORDER BY created_at DESC, run_id LIMIT 1)
            GROUP BY ALL;
        ALTER TABLE dialogue ALTER COLUMN steps TYPE {STEPS_TYPE}
            USING list_transform(steps, lambda s: struct_insert(s, turn := 0, "call" := 0, answer := CAST(NULL AS VARCHAR)));
        CREATE OR REPLACE VIEW steps AS
            SELECT dialogue_id, api_id, s.index AS step_index, s.turn, s.call, s.thought, s.action, s.action_input, s.observation,
                   s.status, s.valid, s.error, s.latency_s, s.text, s.answer
            FROM (SELECT d.dialogue_id, d.api_id, unnest(d.steps) AS s FROM dialogue d);
        CREATE OR REPLACE VIEW dialogues AS
            SELECT d.dialogue_id, d.api_id, c.name AS api_name, c.category, d.instruction_id, d.instruction,
                   d.instruction_kind, len(d.steps) AS n_steps, d.n_calls, d.n_errors, d.stop_reason,
                   d.final_answer, d.models, d.prompt_versions, d.prompt_tokens, d.completion_tokens, d.cost_usd,
                   d.doc_id, d.created_at, d.partner_api_ids, d.origin, d.assistant_model, d.toolset,
                   1 + json_array_length(d.follow_ups) AS user_turns, d.follow_ups,
                   len(list_filter(d.steps, lambda s: s.call = 1)) AS parallel_turns, d.cut_from
            FROM dialogue d LEFT JOIN catalog_entry c USING (api_id);
        CREATE OR REPLACE VIEW dialogue_versions AS
            SELECT d.api_id, c.name AS api_name, d.instruction, d.dialogue_id, d.doc_id, d.models, d.prompt_versions, d.created_at,
                   lead(d.dialogue_id) OVER w AS superseded_by,
                   CASE WHEN lead(d.dialogue_id) OVER w IS NULL THEN NULL
                        WHEN lead(d.doc_id) OVER w IS DISTINCT FROM d.doc_id THEN 'the API doc changed'
                        WHEN CAST(lead(d.models) OVER w AS VARCHAR) IS DISTINCT FROM CAST(d.models AS VARCHAR) THEN 'models changed'
                        WHEN CAST(lead(d.prompt_versions) OVER w AS VARCHAR) IS DISTINCT FROM CAST(d.prompt_versions AS VARCHAR)
                             THEN 'prompts changed'
                        ELSE 'settings changed' END AS superseded_because
            FROM dialogue d LEFT JOIN catalog_entry c USING (api_id)
            WHERE d.origin = 'simulation' AND d.cut_from IS NULL  -- a cut instance is part of its original, not a version
            WINDOW w AS (PARTITION BY d.api_id, d.instruction ORDER BY d.created_at, d.dialogue_id);
        CREATE OR REPLACE VIEW clean_instances AS
            SELECT d.dialogue_id, d.api_id, c.name AS api_name, c.category, d.instruction_id, d.instruction,
                   d.instruction_kind, to_json(d.steps) AS steps, d.final_answer, d.n_calls, v.n_tokens, d.models,
                   d.prompt_versions, d.doc_id, d.partner_api_ids, d.origin, d.created_at, d.follow_ups, d.cut_from
            FROM current_verdicts v JOIN dialogue d USING (dialogue_id) LEFT JOIN catalog_entry c ON c.api_id = d.api_id
            WHERE v.stage = 'length' AND v.kept;
        CREATE OR REPLACE VIEW snapshot_instances AS
            SELECT m.snapshot_id, d.dialogue_id, d.api_id, c.name AS api_name, c.category, d.instruction, d.instruction_kind,
                   to_json(d.steps) AS steps, d.final_answer, d.n_calls, d.models, d.prompt_versions, d.doc_id,
                   d.partner_api_ids, d.origin, d.follow_ups, d.cut_from
            FROM snapshot_member m JOIN dialogue d USING (dialogue_id) LEFT JOIN catalog_entry c ON c.api_id = d.api_id;
        """,
    ),
]

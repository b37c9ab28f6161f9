"""Ordered migrations. Each runs once, in order, inside a transaction; ``schema_migrations`` records them.

Append new migrations at the end; never edit one that has shipped. Views are (re)created by the
last migration that touches them. Public views (documented in docs/sql.md): ``PUBLIC_VIEWS``.
A schema whose ``version`` goes up ships with a migration that moves the old rows to it (and sets
their ``schema_version``).
"""

from __future__ import annotations

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "core tables",
        """
        CREATE TABLE catalog_import (
            import_id VARCHAR PRIMARY KEY, source VARCHAR NOT NULL, format VARCHAR NOT NULL,
            rows_read INTEGER NOT NULL, entries_new INTEGER NOT NULL, entries_existing INTEGER NOT NULL,
            duplicates_merged INTEGER NOT NULL, quarantined INTEGER NOT NULL,
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
        CREATE TABLE catalog_entry (
            api_id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, description VARCHAR NOT NULL,
            category VARCHAR NOT NULL, link VARCHAR NOT NULL, auth VARCHAR NOT NULL, https BOOLEAN,
            cors VARCHAR, source VARCHAR NOT NULL, locator VARCHAR NOT NULL, merged_count INTEGER NOT NULL,
            import_id VARCHAR, created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
        CREATE TABLE catalog_quarantine (
            quarantine_id VARCHAR PRIMARY KEY, source VARCHAR NOT NULL, locator VARCHAR NOT NULL,
            reason VARCHAR NOT NULL, detail VARCHAR NOT NULL, raw VARCHAR NOT NULL, import_id VARCHAR,
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
        CREATE TABLE api_doc (
            doc_id VARCHAR PRIMARY KEY, api_id VARCHAR NOT NULL, name VARCHAR NOT NULL, category VARCHAR NOT NULL,
            introduction VARCHAR NOT NULL, function_list JSON NOT NULL, spec JSON, nl_documentation VARCHAR NOT NULL,
            status VARCHAR NOT NULL, lint_errors JSON NOT NULL, repair_rounds INTEGER NOT NULL, origin VARCHAR NOT NULL,
            prompt_version VARCHAR NOT NULL, model VARCHAR NOT NULL, schema_version INTEGER NOT NULL,
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
        CREATE TABLE function_doc (
            function_id VARCHAR PRIMARY KEY, doc_id VARCHAR NOT NULL, api_id VARCHAR NOT NULL, name VARCHAR NOT NULL,
            method VARCHAR NOT NULL, path VARCHAR NOT NULL, description VARCHAR NOT NULL, parameters JSON NOT NULL,
            output VARCHAR NOT NULL, nl_doc VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
        CREATE TABLE llm_call (
            call_id VARCHAR PRIMARY KEY, request_hash VARCHAR NOT NULL, role VARCHAR NOT NULL, model VARCHAR NOT NULL,
            prompt_version VARCHAR NOT NULL, subject_id VARCHAR NOT NULL, status VARCHAR NOT NULL,
            prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, cost_usd DOUBLE, latency_s DOUBLE NOT NULL,
            finish_reason VARCHAR, response_text VARCHAR, error VARCHAR,
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
        CREATE INDEX llm_call_request ON llm_call (request_hash);
        CREATE TABLE rejection (
            rejection_id VARCHAR PRIMARY KEY, stage VARCHAR NOT NULL, subject_id VARCHAR NOT NULL,
            reason VARCHAR NOT NULL, detail VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
        CREATE TABLE landing_quarantine (
            quarantine_id VARCHAR PRIMARY KEY, target VARCHAR NOT NULL, record JSON NOT NULL, errors JSON NOT NULL,
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
        """,
    ),
    (
        2,
        "public views",
        """
        CREATE OR REPLACE VIEW catalog AS
            SELECT api_id, name, category, description, link, auth, https, cors, source, locator, merged_count, created_at
            FROM catalog_entry;
        CREATE OR REPLACE VIEW apis AS
            WITH latest AS (
                SELECT *, row_number() OVER (PARTITION BY api_id ORDER BY created_at DESC, doc_id) AS rn FROM api_doc
            )
            SELECT d.api_id, d.name, d.category, c.description, c.link, d.status,
                   json_array_length(d.function_list) AS n_functions_planned,
                   (SELECT count(*) FROM function_doc f WHERE f.doc_id = d.doc_id) AS n_functions,
                   d.repair_rounds, json_array_length(d.lint_errors) AS n_problems, d.origin, d.model,
                   d.prompt_version, d.doc_id, d.introduction, d.spec, d.nl_documentation, d.lint_errors, d.created_at
            FROM latest d LEFT JOIN catalog_entry c USING (api_id)
            WHERE d.rn = 1;
        CREATE OR REPLACE VIEW functions AS
            SELECT f.function_id, f.api_id, a.name AS api_name, a.category, f.name, f.method, f.path,
                   f.description, f.parameters, f.output, f.nl_doc, f.doc_id
            FROM function_doc f JOIN apis a ON a.doc_id = f.doc_id AND a.status = 'valid';
        CREATE OR REPLACE VIEW llm_calls AS
            SELECT call_id, created_at, role, model, prompt_version, subject_id, status, prompt_tokens,
                   completion_tokens, prompt_tokens + completion_tokens AS total_tokens, cost_usd, latency_s,
                   finish_reason, error, request_hash, length(response_text) AS response_chars
            FROM llm_call;
        CREATE OR REPLACE VIEW rejections AS
            SELECT 'catalog' AS stage, source || ' ' || locator AS subject_id, reason, detail, created_at FROM catalog_quarantine
            UNION ALL
            SELECT stage, subject_id, reason, detail, created_at FROM rejection;
        """,
    ),
]

MIGRATIONS.append(
    (
        3,
        "instructions and dialogues",
        """
        CREATE TABLE instruction (
            instruction_id VARCHAR PRIMARY KEY, api_id VARCHAR NOT NULL, doc_id VARCHAR NOT NULL, kind VARCHAR NOT NULL,
            text VARCHAR NOT NULL, details VARCHAR NOT NULL, prompt_version VARCHAR NOT NULL, model VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
        CREATE INDEX instruction_doc ON instruction (doc_id);
        CREATE TABLE dialogue (
            dialogue_id VARCHAR PRIMARY KEY, api_id VARCHAR NOT NULL, doc_id VARCHAR NOT NULL, instruction_id VARCHAR NOT NULL,
            instruction VARCHAR NOT NULL, instruction_kind VARCHAR NOT NULL, steps JSON NOT NULL, final_answer VARCHAR,
            stop_reason VARCHAR NOT NULL, n_calls INTEGER NOT NULL, n_errors INTEGER NOT NULL, models JSON NOT NULL,
            prompt_versions JSON NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, cost_usd DOUBLE,
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
        CREATE OR REPLACE VIEW instructions AS
            SELECT i.instruction_id, i.api_id, c.name AS api_name, c.category, i.kind, i.text, i.details, i.doc_id,
                   i.prompt_version, i.model, i.created_at
            FROM instruction i LEFT JOIN catalog_entry c USING (api_id);
        CREATE OR REPLACE VIEW dialogues AS
            SELECT d.dialogue_id, d.api_id, c.name AS api_name, c.category, d.instruction_id, d.instruction,
                   d.instruction_kind, json_array_length(d.steps) AS n_steps, d.n_calls, d.n_errors, d.stop_reason,
                   d.final_answer, d.models, d.prompt_versions, d.prompt_tokens, d.completion_tokens, d.cost_usd,
                   d.doc_id, d.created_at
            FROM dialogue d LEFT JOIN catalog_entry c USING (api_id);
        CREATE OR REPLACE VIEW steps AS
            SELECT d.dialogue_id, d.api_id, CAST(s->>'index' AS INTEGER) AS step_index, s->>'thought' AS thought,
                   s->>'action' AS action, s->'action_input' AS action_input, s->>'observation' AS observation,
                   TRY_CAST(s->>'status' AS INTEGER) AS status, CAST(s->>'valid' AS BOOLEAN) AS valid,
                   s->>'error' AS error, CAST(s->>'latency_s' AS DOUBLE) AS latency_s, s->>'text' AS text
            FROM dialogue d, unnest(CAST(d.steps AS JSON[])) AS t(s);
        """,
    )
)

MIGRATIONS.append(
    (
        4,
        "native tool calls in the ledger",
        """
        ALTER TABLE llm_call ADD COLUMN tool_calls JSON;
        CREATE OR REPLACE VIEW llm_calls AS
            SELECT call_id, created_at, role, model, prompt_version, subject_id, status, prompt_tokens,
                   completion_tokens, prompt_tokens + completion_tokens AS total_tokens, cost_usd, latency_s,
                   finish_reason, error, request_hash, length(response_text) AS response_chars, tool_calls
            FROM llm_call;
        """,
    )
)

MIGRATIONS.append(
    (
        5,
        "multi-API instructions and dialogues",
        """
        ALTER TABLE instruction ADD COLUMN partner_doc_ids JSON DEFAULT '[]';
        ALTER TABLE dialogue ADD COLUMN partner_api_ids JSON DEFAULT '[]';
        CREATE OR REPLACE VIEW instructions AS
            SELECT i.instruction_id, i.api_id, c.name AS api_name, c.category, i.kind, i.text, i.details, i.doc_id,
                   i.prompt_version, i.model, i.created_at, i.partner_doc_ids
            FROM instruction i LEFT JOIN catalog_entry c USING (api_id);
        CREATE OR REPLACE VIEW dialogues AS
            SELECT d.dialogue_id, d.api_id, c.name AS api_name, c.category, d.instruction_id, d.instruction,
                   d.instruction_kind, json_array_length(d.steps) AS n_steps, d.n_calls, d.n_errors, d.stop_reason,
                   d.final_answer, d.models, d.prompt_versions, d.prompt_tokens, d.completion_tokens, d.cost_usd,
                   d.doc_id, d.created_at, d.partner_api_ids
            FROM dialogue d LEFT JOIN catalog_entry c USING (api_id);
        """,
    )
)

MIGRATIONS.append(
    (
        6,
        "schema versions on every row; curation verdicts and runs; corpus snapshots; golden answers",
        """
        ALTER TABLE catalog_entry ADD COLUMN schema_version INTEGER DEFAULT 1;
        ALTER TABLE catalog_quarantine ADD COLUMN schema_version INTEGER DEFAULT 1;
        ALTER TABLE function_doc ADD COLUMN schema_version INTEGER DEFAULT 1;
        ALTER TABLE llm_call ADD COLUMN schema_version INTEGER DEFAULT 1;
        ALTER TABLE rejection ADD COLUMN schema_version INTEGER DEFAULT 1;
        ALTER TABLE instruction ADD COLUMN schema_version INTEGER DEFAULT 1;
        ALTER TABLE dialogue ADD COLUMN schema_version INTEGER DEFAULT 1;
        ALTER TABLE dialogue ADD COLUMN origin VARCHAR DEFAULT 'simulation';
        CREATE TABLE curation_verdict (
            verdict_id VARCHAR PRIMARY KEY, dialogue_id VARCHAR NOT NULL, api_id VARCHAR NOT NULL, stage VARCHAR NOT NULL,
            kept BOOLEAN NOT NULL, reason VARCHAR, detail VARCHAR NOT NULL, config_version VARCHAR NOT NULL,
            n_tokens INTEGER, schema_version INTEGER DEFAULT 1, created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
        CREATE INDEX curation_verdict_dialogue ON curation_verdict (dialogue_id);
        CREATE TABLE curation_run (
            run_id VARCHAR PRIMARY KEY, config_version VARCHAR NOT NULL, config JSON NOT NULL, dialogues_seen INTEGER NOT NULL,
            judged INTEGER NOT NULL, kept INTEGER NOT NULL, created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
        CREATE TABLE corpus_snapshot (
            snapshot_id VARCHAR PRIMARY KEY, parent_id VARCHAR, n_instances INTEGER NOT NULL, n_apis INTEGER NOT NULL,
            config_version VARCHAR NOT NULL, config JSON NOT NULL, prompt_versions JSON NOT NULL, models JSON NOT NULL,
            schema_version INTEGER DEFAULT 1, created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
        CREATE TABLE snapshot_member (snapshot_id VARCHAR NOT NULL, dialogue_id VARCHAR NOT NULL, PRIMARY KEY (snapshot_id, dialogue_id));
        CREATE TABLE golden_answer (
            golden_id VARCHAR PRIMARY KEY, instruction_id VARCHAR NOT NULL, api_id VARCHAR NOT NULL, calls JSON NOT NULL,
            source VARCHAR NOT NULL, schema_version INTEGER DEFAULT 1, created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
        CREATE OR REPLACE VIEW dialogues AS
            SELECT d.dialogue_id, d.api_id, c.name AS api_name, c.category, d.instruction_id, d.instruction,
                   d.instruction_kind, json_array_length(d.steps) AS n_steps, d.n_calls, d.n_errors, d.stop_reason,
                   d.final_answer, d.models, d.prompt_versions, d.prompt_tokens, d.completion_tokens, d.cost_usd,
                   d.doc_id, d.created_at, d.partner_api_ids, d.origin, d.models->>'assistant' AS assistant_model
            FROM dialogue d LEFT JOIN catalog_entry c USING (api_id);
        CREATE OR REPLACE VIEW curation_runs AS
            SELECT run_id, config_version, config, dialogues_seen, judged, kept, created_at FROM curation_run;
        CREATE OR REPLACE VIEW current_verdicts AS
            SELECT v.* FROM curation_verdict v
            WHERE v.config_version = (SELECT config_version FROM curation_run ORDER BY created_at DESC, run_id LIMIT 1);
        CREATE OR REPLACE VIEW funnel AS
            SELECT v.stage, CASE v.stage WHEN 'format' THEN 1 WHEN 'execution' THEN 2 WHEN 'semantic' THEN 3
                                         WHEN 'dedup' THEN 4 ELSE 5 END AS stage_order,
                   coalesce(v.reason, 'kept') AS reason, v.kept, d.api_id, c.name AS api_name, c.category,
                   d.models->>'assistant' AS model, d.instruction_kind, count(*) AS n
            FROM current_verdicts v JOIN dialogue d USING (dialogue_id) LEFT JOIN catalog_entry c ON c.api_id = d.api_id
            GROUP BY ALL;
        CREATE OR REPLACE VIEW clean_instances AS
            WITH passed AS (
                SELECT dialogue_id, max(n_tokens) AS n_tokens FROM current_verdicts GROUP BY dialogue_id
                HAVING count(DISTINCT stage) FILTER (WHERE kept) = 5
            )
            SELECT d.dialogue_id, d.api_id, c.name AS api_name, c.category, d.instruction_id, d.instruction,
                   d.instruction_kind, d.steps, d.final_answer, d.n_calls, p.n_tokens, d.models, d.prompt_versions,
                   d.doc_id, d.partner_api_ids, d.origin, d.created_at
            FROM passed p JOIN dialogue d USING (dialogue_id) LEFT JOIN catalog_entry c ON c.api_id = d.api_id;
        CREATE OR REPLACE VIEW corpus_snapshots AS
            SELECT snapshot_id, parent_id, n_instances, n_apis, config_version, prompt_versions, models, config, created_at
            FROM corpus_snapshot;
        CREATE OR REPLACE VIEW snapshot_instances AS
            SELECT m.snapshot_id, d.dialogue_id, d.api_id, c.name AS api_name, c.category, d.instruction, d.instruction_kind,
                   d.steps, d.final_answer, d.n_calls, d.models, d.prompt_versions, d.doc_id, d.partner_api_ids, d.origin
            FROM snapshot_member m JOIN dialogue d USING (dialogue_id) LEFT JOIN catalog_entry c ON c.api_id = d.api_id;
        CREATE OR REPLACE VIEW golden_answers AS
            SELECT g.golden_id, g.instruction_id, i.text AS instruction, g.api_id, c.name AS api_name, g.calls, g.source
            FROM golden_answer g LEFT JOIN instruction i USING (instruction_id) LEFT JOIN catalog_entry c ON c.api_id = g.api_id;
        CREATE OR REPLACE VIEW rejections AS
            SELECT 'catalog' AS stage, source || ' ' || locator AS subject_id, reason, detail, created_at FROM catalog_quarantine
            UNION ALL
            SELECT stage, subject_id, reason, detail, created_at FROM rejection
            UNION ALL
            SELECT 'curation/' || stage, dialogue_id, reason, detail, created_at FROM current_verdicts WHERE NOT kept;
        """,
    )
)

MIGRATIONS.append(
    (
        7,
        "steps materialised at landing; assistant model and instruction kind beside each verdict (curation_verdict v2)",
        """
        CREATE TABLE step (
            dialogue_id VARCHAR NOT NULL, api_id VARCHAR NOT NULL, step_index INTEGER NOT NULL, thought VARCHAR, action VARCHAR,
            action_input JSON, observation VARCHAR, status INTEGER, valid BOOLEAN, error VARCHAR, latency_s DOUBLE, text VARCHAR
        );
        INSERT INTO step
            SELECT d.dialogue_id, d.api_id, CAST(s->>'index' AS INTEGER), s->>'thought', s->>'action', s->'action_input',
                   s->>'observation', TRY_CAST(s->>'status' AS INTEGER), CAST(s->>'valid' AS BOOLEAN), s->>'error',
                   CAST(s->>'latency_s' AS DOUBLE), s->>'text'
            FROM dialogue d, unnest(CAST(d.steps AS JSON[])) AS t(s);
        CREATE OR REPLACE VIEW steps AS
            SELECT dialogue_id, api_id, step_index, thought, action, action_input, observation, status, valid, error, latency_s, text
            FROM step;
        ALTER TABLE dialogue ADD COLUMN assistant_model VARCHAR;
        UPDATE dialogue SET assistant_model = models->>'assistant';
        ALTER TABLE curation_verdict ADD COLUMN model VARCHAR;
        ALTER TABLE curation_verdict ADD COLUMN instruction_kind VARCHAR;
        UPDATE curation_verdict v SET model = d.assistant_model, instruction_kind = d.instruction_kind, schema_version = 2
            FROM dialogue d WHERE d.dialogue_id = v.dialogue_id;
        UPDATE curation_verdict SET schema_version = 2;
        CREATE OR REPLACE VIEW dialogues AS
            SELECT d.dialogue_id, d.api_id, c.name AS api_name, c.category, d.instruction_id, d.instruction,
                   d.instruction_kind, json_array_length(d.steps) AS n_steps, d.n_calls, d.n_errors, d.stop_reason,
                   d.final_answer, d.models, d.prompt_versions, d.prompt_tokens, d.completion_tokens, d.cost_usd,
                   d.doc_id, d.created_at, d.partner_api_ids, d.origin, d.assistant_model
            FROM dialogue d LEFT JOIN catalog_entry c USING (api_id);
        CREATE OR REPLACE VIEW funnel AS
            SELECT v.stage, list_position(['format', 'execution', 'semantic', 'dedup', 'length'], v.stage) AS stage_order,
                   coalesce(v.reason, 'kept') AS reason, v.kept, v.api_id, c.name AS api_name, c.category,
                   v.model, v.instruction_kind, count(*) AS n
            FROM current_verdicts v LEFT JOIN catalog_entry c ON c.api_id = v.api_id
            GROUP BY ALL;
        CREATE OR REPLACE VIEW clean_instances AS
            SELECT d.dialogue_id, d.api_id, c.name AS api_name, c.category, d.instruction_id, d.instruction,
                   d.instruction_kind, d.steps, d.final_answer, d.n_calls, v.n_tokens, d.models, d.prompt_versions,
                   d.doc_id, d.partner_api_ids, d.origin, d.created_at
            FROM current_verdicts v JOIN dialogue d USING (dialogue_id) LEFT JOIN catalog_entry c ON c.api_id = d.api_id
            WHERE v.stage = 'length' AND v.kept;
        """,
    )
)

MIGRATIONS.append(
    (
        8,
        "training runs: one row per run claimed on a snapshot, its status history in training_event",
        """
        CREATE TABLE training_run (
            run_id VARCHAR PRIMARY KEY, snapshot_id VARCHAR NOT NULL, trigger VARCHAR NOT NULL, new_instances INTEGER NOT NULL,
            base_model VARCHAR NOT NULL, format VARCHAR NOT NULL, config JSON NOT NULL, executor VARCHAR NOT NULL,
            output_dir VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
        CREATE TABLE training_event (
            run_id VARCHAR NOT NULL, seq INTEGER NOT NULL, status VARCHAR NOT NULL, detail JSON,
            event_at TIMESTAMP NOT NULL DEFAULT current_timestamp, PRIMARY KEY (run_id, seq)
        );
        CREATE OR REPLACE VIEW training_runs AS
            WITH last AS (SELECT run_id, arg_max(status, seq) AS status, arg_max(detail, seq) AS detail, max(event_at) AS updated_at
                          FROM training_event GROUP BY run_id)
            SELECT r.run_id, r.snapshot_id, s.n_instances, r.new_instances, r.trigger, r.base_model, r.format, r.executor,
                   l.status, (SELECT min(e.event_at) FROM training_event e WHERE e.run_id = r.run_id AND e.status = 'running') AS started_at,
                   CASE WHEN l.status IN ('succeeded', 'failed') THEN l.updated_at END AS finished_at,
                   CASE WHEN l.status = 'succeeded' THEN l.detail END AS metrics,
                   CASE WHEN l.status = 'failed' THEN l.detail->>'error' END AS error,
                   (SELECT arg_max(e.detail->>'flow_run_id', e.seq) FILTER (WHERE e.detail->>'flow_run_id' IS NOT NULL)
                    FROM training_event e WHERE e.run_id = r.run_id) AS flow_run_id,
                   r.output_dir, r.config, r.created_at
            FROM training_run r LEFT JOIN last l USING (run_id) LEFT JOIN corpus_snapshot s USING (snapshot_id);
        """,
    )
)

MIGRATIONS.append(
    (
        9,
        "evaluation: runs and results (exact match, judge) and the held-out split of APIs",
        """
        CREATE TABLE api_split (
            api_id VARCHAR PRIMARY KEY, split VARCHAR NOT NULL, category VARCHAR, split_version VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
        CREATE TABLE eval_run (
            run_id VARCHAR PRIMARY KEY, set_source VARCHAR NOT NULL, model VARCHAR NOT NULL, step_mode VARCHAR NOT NULL,
            trials INTEGER NOT NULL, judge_model VARCHAR, config JSON NOT NULL, n_items INTEGER NOT NULL,
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
        CREATE TABLE eval_result (
            result_id VARCHAR PRIMARY KEY, run_id VARCHAR NOT NULL, golden_id VARCHAR NOT NULL, instruction_id VARCHAR NOT NULL,
            api_id VARCHAR NOT NULL, trial INTEGER NOT NULL, steps JSON NOT NULL, final_answer VARCHAR, stop_reason VARCHAR NOT NULL,
            predicted_calls JSON NOT NULL, em_correct BOOLEAN NOT NULL, names_correct BOOLEAN NOT NULL, em_matched INTEGER NOT NULL,
            n_golden INTEGER NOT NULL, n_predicted INTEGER NOT NULL, em_reasons JSON NOT NULL, judge_status VARCHAR NOT NULL,
            process_correct VARCHAR, response_correct VARCHAR, judge_reason VARCHAR NOT NULL, schema_version INTEGER DEFAULT 1,
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
        CREATE OR REPLACE VIEW api_splits AS
            SELECT s.api_id, c.name AS api_name, s.category, s.split, s.split_version, s.created_at
            FROM api_split s LEFT JOIN catalog_entry c USING (api_id);
        CREATE OR REPLACE VIEW eval_results AS
            SELECT r.result_id, r.run_id, e.set_source, e.model, e.step_mode, r.trial, r.api_id, c.name AS api_name, c.category,
                   r.instruction_id, i.text AS instruction, r.golden_id, g.calls AS golden_calls, r.predicted_calls, r.steps,
                   r.final_answer, r.stop_reason, r.em_correct, r.names_correct, r.em_matched, r.n_golden, r.n_predicted,
                   r.em_reasons, r.judge_status, r.process_correct, r.response_correct,
                   CASE WHEN r.judge_status = 'off' THEN NULL
                        ELSE coalesce(r.process_correct = 'yes' AND r.response_correct = 'yes', false) END AS overall_correct,
                   r.judge_reason, r.created_at
            FROM eval_result r JOIN eval_run e USING (run_id) LEFT JOIN golden_answer g USING (golden_id)
                 LEFT JOIN instruction i ON i.instruction_id = r.instruction_id LEFT JOIN catalog_entry c ON c.api_id = r.api_id;
        CREATE OR REPLACE VIEW eval_scores AS
            WITH scored AS (
                SELECT *, CASE WHEN judge_status = 'off' THEN NULL ELSE (process_correct = 'yes')::INT END AS p,
                          CASE WHEN judge_status = 'off' THEN NULL ELSE (response_correct = 'yes')::INT END AS r,
                          CASE WHEN judge_status = 'off' THEN NULL
                               ELSE (coalesce(process_correct = 'yes' AND response_correct = 'yes', false))::INT END AS o
                FROM eval_result),
            per_item AS (SELECT run_id, golden_id, min(o) AS all_o, min(em_correct::INT) AS all_em FROM scored GROUP BY ALL),
            per_trial AS (SELECT run_id, trial, avg(o) AS o, avg(em_correct::INT) AS em FROM scored GROUP BY ALL),
            totals AS (
                SELECT run_id, count(DISTINCT golden_id) AS instructions, count(*) AS runs, 100 * avg(p) AS process,
                       100 * avg(r) AS response, 100 * avg(o) AS overall, 100 * avg(em_correct::INT) AS exact_match,
                       100 * sum(em_matched) / nullif(sum(n_predicted), 0) AS call_precision,
                       100 * sum(em_matched) / nullif(sum(n_golden), 0) AS call_recall
                FROM scored GROUP BY run_id)
            SELECT e.run_id, e.set_source, e.model, e.step_mode, e.trials, e.judge_model, t.instructions, t.runs,
                   round(t.process, 1) AS process, round(t.response, 1) AS response, round(t.overall, 1) AS overall,
                   round(t.exact_match, 1) AS exact_match, round(t.call_precision, 1) AS call_precision,
                   round(t.call_recall, 1) AS call_recall,
                   (SELECT round(100 * avg(all_o), 1) FROM per_item x WHERE x.run_id = e.run_id) AS pass_k,
                   (SELECT round(100 * avg(all_em), 1) FROM per_item x WHERE x.run_id = e.run_id) AS pass_k_exact,
                   (SELECT round(100 * coalesce(stddev_pop(o), 0), 1) FROM per_trial x WHERE x.run_id = e.run_id) AS overall_spread,
                   (SELECT round(100 * coalesce(stddev_pop(em), 0), 1) FROM per_trial x WHERE x.run_id = e.run_id) AS exact_spread,
                   e.created_at
            FROM eval_run e JOIN totals t USING (run_id);
        """,
    )
)

from warehouse.migrations_lineage import LATER  # noqa: E402  (migrations 10-17 live there)
from warehouse.migrations_record import RECORD  # noqa: E402  (and from 18 on, there)

MIGRATIONS.extend(LATER + RECORD)

PUBLIC_VIEWS = ("catalog", "apis", "functions", "llm_calls", "rejections", "instructions", "dialogues", "steps", "funnel",
                "clean_instances", "curation_runs", "corpus_snapshots", "snapshot_instances", "golden_answers", "training_runs",
                "api_splits", "eval_results", "eval_scores", "doc_versions", "dialogue_versions",
                "import_notes", "import_summary", "operation_coverage", "edge_coverage", "turn_funnel", "tool_contexts")

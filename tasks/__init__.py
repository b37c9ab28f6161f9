"""Plain, typed functions: prompts → LLM → parsed records. No prefect, no duckdb here."""

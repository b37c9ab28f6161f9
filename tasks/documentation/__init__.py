"""Stage 1b: tool documents — the LLM documenter, published specs imported and normalised, lint, refs, NL docs."""

"""Stage 3: the quality funnel (deterministic filters, the semantic judge)."""

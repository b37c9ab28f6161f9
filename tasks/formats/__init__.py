"""How records are written for others: OpenAI messages, ToolAlpaca layouts, observation text."""

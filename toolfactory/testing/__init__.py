"""Test and benchmark helpers that ship with ToolFactory (a local OpenAI-compatible fake server)."""

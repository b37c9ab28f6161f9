"""Stage 2: the user agent, the assistant and its step modes, the executors and the call check."""

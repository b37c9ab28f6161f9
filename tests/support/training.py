"""A dialogue and its tools for the training renderer and the SFT job."""

from __future__ import annotations

DIALOGUE = {
    "dialogue_id": "d" * 16, "instruction": "Find books by Ursula Le Guin.",
    "steps": [
        {"index": 0, "text": "", "thought": "I search by author.", "action": "searchBooks", "action_input": {"author": "Ursula Le Guin"},
         "observation": 'Status Code: 200. Response: {"books": ["Earthsea"]}', "status": 200, "valid": True, "error": None, "latency_s": 0},
        {"index": 1, "text": "", "thought": "Which one?", "action": "ask_user", "action_input": {"question": "Which decade?"},
         "observation": "User: The sixties.", "status": None, "valid": True, "error": None, "latency_s": 0},
        {"index": 2, "text": "", "thought": "I know it.", "action": None, "action_input": None, "observation": None,
         "status": None, "valid": True, "error": None, "latency_s": 0},
    ],
    "final_answer": "She wrote A Wizard of Earthsea in 1968.",
}


TOOLS = [{"type": "function", "function": {"name": "searchBooks", "description": "find books",
                                           "parameters": {"type": "object", "properties": {"author": {"type": "string"}}}}}]


SPECIAL = ["<unk>", "<eos>", "<|system|>", "<|user|>", "<|assistant|>", "<|tool|>", "<|end|>"]


TEMPLATE = (
    "{% if tools %}<|system|>TOOLS:{% for t in tools %} {{ t.function.name }}{% endfor %}<|end|>\n{% endif %}"
    "{% for m in messages %}<|{{ m.role }}|>{{ m.content or '' }}"
    "{% if m.tool_calls %}{% for c in m.tool_calls %}<call>{{ c.function.name }} {{ c.function.arguments | tojson }}</call>{% endfor %}{% endif %}"
    "<|end|>\n{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)

"""A dialogue and its tools for the training renderer and the SFT job."""

from __future__ import annotations

from schemas.records import Step
from tests.support.dialogues import dialogue

DIALOGUE = dialogue(
    "Find books by Ursula Le Guin.",
    [Step(0, "", "I search by author.", "searchBooks", {"author": "Ursula Le Guin"}, 'Status Code: 200. Response: {"books": ["Earthsea"]}',
          200, True, None, 0),
     Step(1, "", "Which one?", "ask_user", {"question": "Which decade?"}, "User: The sixties.", None, True, None, 0),
     Step(2, "", "I know it.", None, None, None, None, True, None, 0)],
    "She wrote A Wizard of Earthsea in 1968.", dialogue_id="d" * 16)


TOOLS = [{"type": "function", "function": {"name": "searchBooks", "description": "find books",
                                           "parameters": {"type": "object", "properties": {"author": {"type": "string"}}}}}]


SPECIAL = ["<unk>", "<eos>", "<|system|>", "<|user|>", "<|assistant|>", "<|tool|>", "<|end|>"]


TEMPLATE = (
    "{% if tools %}<|system|>TOOLS:{% for t in tools %} {{ t.function.name }}{% endfor %}<|end|>\n{% endif %}"
    "{% for m in messages %}<|{{ m.role }}|>{{ m.content or '' }}"
    "{% if m.tool_calls %}{% for c in m.tool_calls %}<call>{{ c.function.name }} {{ c.function.arguments | tojson }}</call>{% endfor %}{% endif %}"
    "<|end|>\n{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)

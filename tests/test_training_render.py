"""Training text and loss masks, token by token, in both formats, on an in-process tokenizer."""

from __future__ import annotations

import pytest

from tasks.formats.chat_format import to_chat_example
from tests.support.training import DIALOGUE, TOOLS
from training.render import IGNORE, TemplateNotPrefixStable, chat_text, paper_text, tokenize_with_mask


def trained_text(r, tokenizer) -> str:
    return tokenizer.decode([t for t, label in zip(r.input_ids, r.labels, strict=True) if label != IGNORE])


def untrained_text(r, tokenizer) -> str:
    return tokenizer.decode([t for t, label in zip(r.input_ids, r.labels, strict=True) if label == IGNORE])


def test_paper_format_trains_on_the_assistant_lines_only(tokenizer):
    text, spans = paper_text(DIALOGUE, "searchBooks: find books by author", tokenizer.eos_token)
    r = tokenize_with_mask(text, spans, tokenizer)
    learnt = trained_text(r, tokenizer)
    assert learnt == "".join(text[s:e] for s, e in spans)  # labels line up with the spans exactly
    assert learnt.startswith("ASSISTANT Thought: I search by author.\nASSISTANT Action: searchBooks\n"
                             'ASSISTANT Action Input: {"author": "Ursula Le Guin"}\n')
    assert learnt.endswith("ASSISTANT Response: She wrote A Wizard of Earthsea in 1968.<eos>")
    assert r.labels[-1] == tokenizer.eos_token_id
    ignored = untrained_text(r, tokenizer)
    for never in ("Functions:", "USER: Find books", "ASSISTANT Observation: Status Code: 200", "User: The sixties."):
        assert never in ignored and never not in learnt
    for token, label in zip(r.input_ids, r.labels, strict=True):  # token by token: a label is the token or IGNORE
        assert label in (token, IGNORE)


def test_chat_format_trains_on_the_assistant_turns_only(tokenizer):
    example = to_chat_example(DIALOGUE, TOOLS)
    text, spans = chat_text(example, tokenizer)
    assert text.startswith("<|system|>TOOLS: searchBooks<|end|>")
    assert len(spans) == 3  # two calls (search, ask_user) and the answer
    r = tokenize_with_mask(text, spans, tokenizer)
    learnt = trained_text(r, tokenizer)
    assert learnt == "".join(text[s:e] for s, e in spans)
    assert '<call>searchBooks {"author": "Ursula Le Guin"}</call><|end|>' in learnt  # arguments decoded for the template
    assert learnt.endswith("She wrote A Wizard of Earthsea in 1968.<|end|>\n")
    ignored = untrained_text(r, tokenizer)
    for never in ("Find books by Ursula Le Guin.", "Status Code: 200", "User: The sixties.", "<|assistant|>"):
        assert never in ignored and never not in learnt


def test_a_template_that_rewrites_earlier_turns_is_refused(tokenizer):
    import copy

    tok = copy.copy(tokenizer)
    tok.chat_template = "{% for m in messages %}{% if loop.last %}LAST {% endif %}{{ m.content or '' }}\n{% endfor %}"
    with pytest.raises(TemplateNotPrefixStable, match="turn"):
        chat_text(to_chat_example(DIALOGUE, TOOLS), tok)


def test_examples_over_the_budget_are_flagged_not_cut(tokenizer):
    text, spans = paper_text(DIALOGUE, "searchBooks: find books", tokenizer.eos_token)
    full = tokenize_with_mask(text, spans, tokenizer)
    tight = tokenize_with_mask(text, spans, tokenizer, max_tokens=len(full.input_ids) - 1)
    assert tight.over_budget and tight.input_ids == full.input_ids and not full.over_budget


def test_segment_retokenising_would_misalign_labels(tokenizer):
    """Why offsets: tokenising the pieces apart gives other tokens than the whole text."""
    text, spans = paper_text(DIALOGUE, "searchBooks: find books", tokenizer.eos_token)
    whole = tokenizer(text, add_special_tokens=False)["input_ids"]
    mid = text.index("Earthsea") + 4  # a boundary inside a word
    split = tokenizer(text[:mid], add_special_tokens=False)["input_ids"] + tokenizer(text[mid:], add_special_tokens=False)["input_ids"]
    assert split != whole and len(split) != len(whole)  # every label after the cut would sit on the wrong token

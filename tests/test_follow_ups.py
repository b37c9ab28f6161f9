"""Follow-up turns (issue 21, part 1): after an answer the user agent goes on — a follow-up, a correction, a
related new goal — and the dialogue is stored turn by turn, curated per turn, exported with every turn and
rendered for training with the assistant's text alone trained, in every turn."""

import asyncio
import json
from collections import Counter

import pytest

from flows.corpus_export import export_snapshot, take_snapshot
from flows.curate import run_curate
from flows.simulate_corpus import run_simulate_corpus
from schemas.records import FollowUp
from tasks.curation.filters import execution_check, format_check
from tasks.formats.toolalpaca_format import export_record
from tasks.llm.backend import LLMClient
from tasks.llm.config import load_backend_config
from tasks.simulation.assistant import AssistantConfig, Task, run_conversation
from tasks.simulation.executor import SimulatedExecutor
from tasks.simulation.follow_ups import FOLLOW_UP_KINDS, plan_follow_ups, tidy_follow_up
from tests.support.dialogues import dialogue, step
from tests.support.scripts import schema_name
from tests.support.shop_project import shop_executor, shop_project
from tests.support.specs import SHOP_WITH_RESPONSES
from training.render import IGNORE, chat_text, paper_text, tokenize_with_mask
from warehouse import Warehouse
from warehouse.corpus import DIALOGUE_COLUMNS, dialogue_of

FOLLOW_UP = "Good. Now tell me the price of item 71."
CORRECTION = "Sorry, I meant item 72: what does that one cost?"


def test_the_plan_continues_the_share_it_is_given_with_every_kind_and_length():
    plans = [plan_follow_ups(f"{i:016x}", 0.3, 3) for i in range(3000)]
    assert 0.27 < sum(bool(p) for p in plans) / len(plans) < 0.33
    assert Counter(len(p) for p in plans if p).keys() == {1, 2}  # 2 … max_user_turns user turns
    assert set().union(*plans) == set(FOLLOW_UP_KINDS)
    assert plans == [plan_follow_ups(f"{i:016x}", 0.3, 3) for i in range(3000)]  # a hash, not a random draw
    assert not any(plan_follow_ups(f"{i:016x}", 0.3, 1) for i in range(300))  # one user turn: none
    assert not any(plan_follow_ups(f"{i:016x}", 0.0, 3) for i in range(300))
    assert all(len(plan_follow_ups(f"{i:016x}", 1.0, 2)) == 1 for i in range(300))


def test_a_follow_up_is_tidied_or_refused_with_its_reason():
    assert tidy_follow_up('You: "What about   Paris?"', ["Weather in Lyon?"]) == ("What about Paris?", None)
    assert tidy_follow_up("  ", []) == ("", "empty_follow_up")
    assert tidy_follow_up("weather in lyon", ["Weather in Lyon?"])[1] == "repeated_request"
    long = "Tell me more. " * 60
    text, reason = tidy_follow_up(long, [])
    assert reason is None and len(text) <= 400 and text.endswith(".")


def user(req):
    if schema_name(req) == "instructions":
        return {"instructions": ["Show me desk lamps that are in stock.", "Find a lamp for my desk, please."]}
    if "The conversation so far" in req.last_user:
        return CORRECTION if "Correct one detail" in req.messages[0]["content"] else FOLLOW_UP
    return "Any lamp will do."


def assistant(req):
    """Searches for the first request, looks the item up for a follow-up, answers once it has a result."""
    last = req.messages[-1]["content"] or ""
    answered = sum("Final Answer" in (m["content"] or "") for m in req.messages if m["role"] == "assistant")
    if last.startswith("Observation:"):
        return f"Thought: done\nFinal Answer: Answer {answered}: item 71 is a desk lamp for 19.5."
    if len(req.messages) == 2:
        return 'Thought: search\nAction: searchItems\nAction Input: {"q": "desk lamp"}'
    return 'Thought: its price\nAction: getItem\nAction Input: {"itemId": 71}'


def test_a_conversation_serves_each_user_turn_and_keeps_it(fake_llm):
    fake_llm.respond("user", user).respond("assistant", assistant).respond("executor", shop_executor)
    client = LLMClient(load_backend_config("fake"), num_retries=0, max_continuations=0)
    task = Task("a" * 16, "d" * 16, "i" * 16, "Show me desk lamps that are in stock.", follow_ups=("follow_up", "correction"))
    run = run_conversation(task, "searchItems: …\ngetItem: …", ["searchItems", "getItem", "reviewItem"], client,
                           SimulatedExecutor(SHOP_WITH_RESPONSES, client), {"assistant": "fake"}, AssistantConfig(step_limit=4))
    conversation = asyncio.run(run)
    d = conversation.dialogue
    assert conversation.follow_up_problem is None and d.stop_reason == "final_answer"
    assert d.follow_ups == [FollowUp(1, "follow_up", FOLLOW_UP), FollowUp(2, "correction", CORRECTION)]
    assert [(s.turn, s.action) for s in d.steps] == [(0, "searchItems"), (0, None), (1, "getItem"), (1, None),
                                                      (2, "getItem"), (2, None)]
    assert [s.index for s in d.steps] == list(range(6))  # indexes run on across turns
    assert [s.answer for s in d.steps if not s.action] == [f"Answer {n}: item 71 is a desk lamp for 19.5." for n in range(3)]
    assert d.final_answer == d.steps[-1].answer and "user_follow_up" in d.prompt_versions
    (first, second) = fake_llm.calls_for("user")
    assert "Assistant: Answer 0: item 71" in first.last_user and "Correct one detail" in second.messages[0]["content"]
    assert f"You: {FOLLOW_UP}\nAssistant: Answer 1:" in second.last_user
    turn_1 = fake_llm.calls_for("assistant")[2].messages  # the assistant sees the first answer, then the follow-up
    assert turn_1[-2] == {"role": "assistant", "content": "Thought: done\nFinal Answer: Answer 0: item 71 is a desk lamp for 19.5."}
    assert turn_1[-1] == {"role": "user", "content": FOLLOW_UP}


def test_an_unusable_follow_up_ends_the_dialogue_at_the_answer_with_the_reason(fake_llm):
    fake_llm.respond("assistant", assistant).respond("executor", shop_executor).queue("user", "  \"\"  ")
    client = LLMClient(load_backend_config("fake"), num_retries=0, max_continuations=0)
    task = Task("a" * 16, "d" * 16, "i" * 16, "Show me desk lamps that are in stock.", follow_ups=("new_goal",))
    conversation = asyncio.run(run_conversation(task, "searchItems: …", ["searchItems", "getItem"], client,
                                                SimulatedExecutor(SHOP_WITH_RESPONSES, client), {"assistant": "fake"}))
    assert conversation.follow_up_problem == "empty_follow_up"
    assert conversation.dialogue.follow_ups == [] and conversation.dialogue.stop_reason == "final_answer"
    assert {s.turn for s in conversation.dialogue.steps} == {0}


def _two_turns(first_status: int, second_status: int):
    steps = [step(0, "searchItems", {"q": "lamp"}, status=first_status, obs="Status Code: x"), step(1, thought="ok"),
             step(2, "getItem", {"itemId": 71}, status=second_status, obs="Status Code: y"), step(3, thought="ok")]
    for s, turn in zip(steps, (0, 0, 1, 1), strict=True):
        s.turn = turn
    steps[1].answer, steps[3].answer = "first", "second"
    return dialogue("Find a lamp.", steps, "second", follow_ups=[FollowUp(1, "follow_up", "Its price?")])


def test_the_funnel_judges_errors_and_call_counts_per_user_turn():
    assert execution_check(_two_turns(200, 200)).kept
    # an error in the first turn is not made good by a call that serves the next request
    refused = execution_check(_two_turns(404, 200))
    assert refused.reason == "unrecovered_error" and "step 0" in refused.detail
    many = _two_turns(200, 200)
    assert format_check(many, max_calls=1).kept  # one call in each turn
    extra = step(2, "getItem", {"itemId": 72}, status=200, obs="y")
    extra.turn = 1
    many.steps.insert(3, extra)
    assert format_check(many, max_calls=1).reason == "too_many_calls"


def test_the_paper_layout_keeps_later_turns_in_follow_ups():
    from schemas.views import DocumentedApi

    api = DocumentedApi("b" * 16, "c" * 16, "Shop", "Shopping", SHOP_WITH_RESPONSES, "…")
    (instance,) = export_record(api, "A shop", [_two_turns(200, 200)])["Instances"]
    assert (instance["input"], instance["output"]) == ("Find a lamp.", "first")
    assert [c[0][0] for c in instance["intermediate_steps"]] == ["searchItems"]
    (later,) = instance["Follow_ups"]
    assert (later["input"], later["output"], [c[0][0] for c in later["intermediate_steps"]]) == ("Its price?", "second", ["getItem"])


# the flow --------------------------------------------------------------------------------------
@pytest.fixture
def project(workdir):
    return shop_project(workdir, follow_up_share=1, max_user_turns=2)


def test_follow_ups_from_simulation_to_the_training_masks(prefect_harness, project, fake_llm, tmp_path, tokenizer):
    fake_llm.respond("user", user).respond("assistant", assistant).respond("executor", shop_executor)
    summary = run_simulate_corpus(project)
    assert summary["dialogues"] == 2 and summary["stop_reasons"] == {"final_answer": 2}
    assert summary["by_shape"] == {"follow-ups": {"dialogues": 2}, "parallel calls": {
        "dialogues": 0, "why": "off (the react step mode keeps the paper's one call a turn)"}}
    with Warehouse.open(project.warehouse_path) as wh:
        assert wh.execute("SELECT user_turns, count(*) FROM dialogues GROUP BY ALL") == [(2, 2)]
        assert wh.execute("SELECT turn, action, answer IS NOT NULL FROM steps ORDER BY dialogue_id, step_index")[:4] == \
            [(0, "searchItems", False), (0, None, True), (1, "getItem", False), (1, None, True)]
    assert run_curate(project)["funnel"]["length/kept"] == 2
    snap = take_snapshot(project)
    export_snapshot(project, ["jsonl"], tmp_path / "out", snap["snapshot_id"])
    line = json.loads((tmp_path / "out" / snap["snapshot_id"] / "train.jsonl").read_text().splitlines()[0])
    roles = [m["role"] for m in line["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "user", "assistant", "tool", "assistant"]
    said = line["messages"][5]["content"]
    assert said in (FOLLOW_UP, CORRECTION) and line["messages"][-1]["content"].startswith("Answer 1:")
    text, spans = chat_text({**line, "tools": json.dumps([])}, tokenizer)
    r = tokenize_with_mask(text, spans, tokenizer)
    learnt = tokenizer.decode([t for t, label in zip(r.input_ids, r.labels, strict=True) if label != IGNORE])
    assert learnt == "".join(text[a:b] for a, b in spans) and len(spans) == 4  # every assistant turn, of both user turns
    assert "Answer 0:" in learnt and "Answer 1:" in learnt and said not in learnt and "desk lamps that are" not in learnt
    with Warehouse.open(project.warehouse_path) as wh:
        row = wh.frame(f"SELECT {DIALOGUE_COLUMNS} FROM dialogue d ORDER BY dialogue_id LIMIT 1").to_dicts()[0]
    stored = dialogue_of(row)
    paper, paper_spans = paper_text(stored, "searchItems, getItem", "</s>")
    trained = "".join(paper[a:b] for a, b in paper_spans)
    said = stored.follow_ups[0].text
    assert trained.count("</s>") == 2 and f"USER: {said}" in paper and said not in trained


def test_a_follow_up_not_written_is_a_refusal_and_the_dialogue_keeps_its_turns(prefect_harness, project, fake_llm):
    def terse_user(req):
        return "" if "The conversation so far" in req.last_user else user(req)

    fake_llm.respond("user", terse_user).respond("assistant", assistant).respond("executor", shop_executor)
    summary = run_simulate_corpus(project)
    assert summary["dialogues"] == 2
    assert summary["by_shape"]["follow-ups"]["why"] == \
        "2 of 2 dialogues planned one: 0 ended before their first answer, 2 follow-ups not written (empty_follow_up)"
    with Warehouse.open(project.warehouse_path) as wh:
        assert wh.execute("SELECT user_turns, count(*) FROM dialogues GROUP BY ALL") == [(1, 2)]
        refusals = wh.execute("SELECT reason, detail FROM rejections WHERE stage = 'simulation'")
    assert [r[0] for r in refusals] == ["follow_up_not_written"] * 2
    assert all("turn 1 (" in d and d.endswith("empty_follow_up") for _, d in refusals)

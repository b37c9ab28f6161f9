"""Turn-level filtering (issue 21, part 4): every assistant turn gets its own verdict; a dialogue that goes bad
after a good user turn is cut there and kept as a shorter instance; one bad from the start is refused with
the turn and reason; the funnel shows turn-level counts."""

import json

import pytest

from flows.corpus_export import export_snapshot, take_snapshot
from flows.curate import run_curate
from flows.simulate_corpus import run_simulate_corpus
from schemas.records import FollowUp
from tasks.curation.turns import check_turns, cut_dialogue, cut_point
from tests.support.dialogues import dialogue, step
from tests.support.scripts import schema_name
from tests.support.shop_project import shop_project
from warehouse import Warehouse


def _turn(s, turn, answer=None):
    s.turn, s.answer = turn, answer
    return s


def three_turns(last_steps, stop_reason="final_answer"):
    steps = [_turn(step(0, "searchItems", {"q": "lamp"}, status=200, obs='{"results": [{"itemId": 71}]}'), 0),
             _turn(step(1), 0, "Item 71."),
             _turn(step(2, "getItem", {"itemId": 71}, status=200, obs='{"price": 19.5}'), 1),
             _turn(step(3), 1, "It costs 19.5."),
             *last_steps]
    return dialogue("Find a lamp.", steps, "Done." if stop_reason == "final_answer" else None, stop_reason=stop_reason,
                    follow_ups=[FollowUp(1, "follow_up", "Its price?"), FollowUp(2, "new_goal", "Review it, 5 stars.")])


def test_a_bad_last_turn_cuts_the_dialogue_to_the_good_ones():
    d = three_turns([_turn(step(4, text="Thought: hmm", error="no_action", valid=False), 2), _turn(step(5), 2, "Done.")])
    checks = check_turns(d)
    assert [(c.index, c.turn, c.verdict.reason) for c in checks] == \
        [(0, 0, None), (1, 0, None), (2, 1, None), (3, 1, None), (4, 2, "unparsable_step"), (5, 2, None)]
    keep, why = cut_point(d, checks)
    assert keep == 2 and (why.stage, why.reason) == ("format", "unparsable_step") and why.detail.startswith("user turn 2: step 4")
    cut = cut_dialogue(d, keep)
    assert cut.cut_from == d.dialogue_id and cut.dialogue_id != d.dialogue_id and cut_dialogue(d, keep).dialogue_id == cut.dialogue_id
    assert [s.index for s in cut.steps] == [0, 1, 2, 3] and cut.follow_ups == d.follow_ups[:1]
    assert (cut.final_answer, cut.stop_reason, cut.n_calls, cut.cost_usd) == ("It costs 19.5.", "final_answer", 2, 0.0)


def test_a_last_turn_without_an_answer_is_cut_off():
    d = three_turns([_turn(step(4, "reviewItem", {"itemId": 71, "stars": 5}, status=200, obs="{}"), 2)], stop_reason="step_limit")
    assert cut_point(d, check_turns(d))[0] == 2
    assert cut_point(d, check_turns(d))[1].reason == "no_final_answer"


def test_an_invented_id_is_refused_and_one_the_user_or_an_observation_gave_is_not():
    invented = dialogue("Find a lamp.", [step(0, "getItem", {"itemId": 4411}, status=200, obs="{}"), step(1)], "It is a lamp.")
    (first, _), why = check_turns(invented), cut_point(invented, check_turns(invented))[1]
    assert first.verdict.reason == "invented_argument" and "itemId=4411" in first.verdict.detail
    assert cut_point(invented, check_turns(invented))[0] == 0 and why.reason == "invented_argument"
    told = dialogue("Show me item 4411.", [step(0, "getItem", {"itemId": 4411}, status=200, obs="{}"), step(1)], "It is a lamp.")
    asked = dialogue("Show me my item.", [step(0, "ask_user", {"question": "Which?"}, obs="User: number 4411"),
                                          step(1, "getItem", {"itemId": 4411}, status=200, obs="{}"), step(2)], "It is a lamp.")
    assert all(c.verdict.kept for d in (told, asked) for c in check_turns(d))
    assert cut_point(three_turns([_turn(step(4), 2, "Done.")]), check_turns(three_turns([_turn(step(4), 2, "Done.")])))[1] is None


# the flow --------------------------------------------------------------------------------------
def user(req):
    if schema_name(req) == "instructions":
        return {"instructions": ["Show me desk lamps that are in stock.", "Find a lamp for my desk, please."]}
    return "Now review the one you found, five stars."


def assistant(req):
    """Searches, answers; on the follow-up reviews an item whose id it made up."""
    last = req.messages[-1]["content"] or ""
    if last.startswith("Observation:"):
        return "Thought: done\nFinal Answer: Item 71 is a desk lamp."
    if len(req.messages) == 2:
        return 'Thought: search\nAction: searchItems\nAction Input: {"q": "desk lamp"}'
    return 'Thought: review\nAction: reviewItem\nAction Input: {"itemId": 5550, "stars": 5}'


def executor(req):
    return {"results": [{"itemId": 71, "name": "desk lamp"}]} if "GET /items" in req.last_user else {}


@pytest.fixture
def project(workdir):
    return shop_project(workdir, follow_up_share=1, max_user_turns=2)


def test_a_dialogue_that_goes_bad_in_its_follow_up_is_kept_cut(prefect_harness, project, fake_llm, tmp_path):
    fake_llm.respond("user", user).respond("assistant", assistant).respond("executor", executor)
    assert run_simulate_corpus(project)["dialogues"] == 2
    summary = run_curate(project)
    assert summary["funnel"]["execution/invented_argument"] == 2  # the originals, refused with the turn and reason
    assert summary["funnel"]["length/kept"] == 2 and summary["cut_now"] == 2  # their first user turns, kept
    with Warehouse.open(project.warehouse_path) as wh:
        originals = wh.execute("SELECT dialogue_id FROM dialogues WHERE cut_from IS NULL ORDER BY dialogue_id")
        kept = wh.execute("SELECT d.cut_from, d.user_turns, d.n_steps FROM clean_instances JOIN dialogues d USING (dialogue_id) ORDER BY 1")
        assert kept == [(o[0], 1, 2) for o in originals]
        details = wh.execute("SELECT detail FROM curation_verdict WHERE reason = 'invented_argument'")
        assert all(d.startswith("user turn 1: step 2 reviewItem: itemId=5550") and "kept as dialogue" in d for (d,) in details)
        turns = dict(wh.execute("SELECT coalesce(reason, 'kept'), sum(n) FROM turn_funnel GROUP BY ALL"))
    assert turns == {"kept": 2 * 3 + 2 * 2, "invented_argument": 2}  # the originals' 3 good turns and 1 bad, the cut ones' 2
    snap = take_snapshot(project)
    export_snapshot(project, ["jsonl"], tmp_path / "out", snap["snapshot_id"])
    lines = [json.loads(x) for x in (tmp_path / "out" / snap["snapshot_id"] / "train.jsonl").read_text().splitlines()]
    assert len(lines) == 2 and all(sum(m["role"] == "user" for m in line["messages"]) == 1 for line in lines)
    assert not any("5550" in json.dumps(line) for line in lines)

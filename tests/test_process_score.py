"""The lenient process score (issue #17): each rule both ways."""

from tasks.evaluation.process_score import golden_arguments, same_value, score_process

PARAMS = {"search": {"query": {"required": True, "type": "string"}, "page": {"required": False, "type": "integer"},
                     "tags": {"required": False, "type": "string"}},
          "details": {"itemId": {"required": True, "type": "string"}},
          "report": {"comment": {"required": True, "type": "string"}}}


def call(action, args, observation="Status Code: 200. Response: {}"):
    return {"action": action, "action_input": args, "observation": observation}


def score(golden, predicted, instruction="Find red shoes, item 4711.", params=PARAMS):
    return score_process(golden, predicted, instruction, params)


def test_a_placeholder_for_an_earlier_result_must_come_from_one():
    golden = [{"action": "search", "action_input": '{"query": "red shoes"}'},
              {"action": "details", "action_input": '{"itemId": ${itemId from search}}'}]
    found = call("search", {"query": "red shoes"}, 'Status Code: 200. Response: {"items": [{"itemId": "sh-981"}]}')
    assert score(golden, [found, call("details", {"itemId": "sh-981"})]).accepted
    bad = score(golden, [found, call("details", {"itemId": "sh-000"})])
    assert not bad.accepted and "no value an earlier result gave" in bad.reasons[0]
    assert golden_arguments('{"itemId": ${itemId from search}, "d": "{start date}"}')[1] == 2


def test_values_equal_in_meaning():
    assert same_value("tags", "GOLD, BTC", "gold,btc") and same_value("tags", "GOLD,BTC", ["BTC", "GOLD"])
    assert same_value("page", 3, "3") and same_value("q", "Your Lie in April.", "your lie in april")
    assert same_value("holidayId", "Chinese New Year", "chinese-new-year") and same_value("day", "2024-05-01", "May 1, 2024")
    assert same_value("description", "broken screen on the phone", "The phone has a broken screen")
    assert not same_value("query", "red shoes", "blue hats") and not same_value("page", 1, 2)


def test_an_ungrounded_optional_golden_value_may_be_absent_but_not_different():
    golden = [{"action": "search", "action_input": '{"query": "red shoes", "page": 1}'}]
    assert score(golden, [call("search", {"query": "red shoes"})]).accepted  # the instruction never says page 1
    assert not score(golden, [call("search", {"query": "red shoes", "page": 20})]).accepted
    assert not score(golden, [call("search", {"query": "red shoes", "colour": "red"})]).accepted  # no such parameter
    assert score(golden, [call("search", {"query": "red shoes", "tags": "sale"})]).accepted  # a documented optional one


def test_extra_calls_the_guidelines_allow_and_those_they_do_not():
    golden = [{"action": "search", "action_input": '{"query": "red shoes"}'}]
    ok = call("search", {"query": "red shoes"})
    failed = call("search", {"query": "red shoe"}, "Parameter type error: query")
    assert score(golden, [failed, ok]).accepted  # one corrected retry
    assert not score(golden, [failed, failed, ok]).accepted  # trial and error
    assert score(golden, [call("ask_user", {"question": "Which size?"}), ok]).accepted
    assert not score(golden, [ok, ok]).accepted  # the same successful call again
    assert score(golden, [ok, call("details", {"itemId": "4711"})]).accepted  # related: the instruction gives 4711
    assert not score(golden, [ok, call("report", {"comment": "hello"})]).accepted  # unrelated


def test_optional_and_ask_user_golden_calls_may_be_absent_and_ids_may_not_be_invented():
    golden = [{"action": "search", "action_input": '{"query": "red shoes"}'},
              {"action": "[Optional]details", "action_input": '{"itemId": ${itemId from search}}'},
              {"action": "getDetails", "action_input": "{}"}]
    assert score(golden, [call("search", {"query": "red shoes"})]).accepted
    invented = score([{"action": "details", "action_input": '{"itemId": "4711"}'}], [call("details", {"itemId": "93"})],
                     instruction="Show item 4711.")
    assert not invented.accepted


def test_an_optional_call_the_instruction_spells_out_may_not_be_skipped():
    """``[Optional]`` covers a call the task may not need, not one carrying values the user gave: skipping
    those leaves part of the request undone (the paper's judge refused such a trajectory)."""
    golden = [{"action": "search", "action_input": '{"query": "red shoes"}'},
              {"action": "[Optional]details", "action_input": '{"itemId": "4711"}'}]
    skipped = score(golden, [call("search", {"query": "red shoes"})])
    assert not skipped.accepted and "'4711'" in skipped.reasons[0]
    assert score(golden, [call("search", {"query": "red shoes"}), call("details", {"itemId": "4711"})]).accepted
    assert score(golden, [call("search", {"query": "red shoes"})], instruction="Find red shoes.").accepted


def test_reasons_show_placeholders_as_a_reader_wrote_them():
    golden = [{"action": "search", "action_input": '{"query": "red shoes", "tags": [{"name": "sale", "id": ${id from x}}]}'}]
    bad = score(golden, [call("search", {"query": "red shoes", "tags": [{"name": "new", "id": 7}]})], instruction="Find red shoes.")
    assert not bad.accepted and "${…}" in bad.reasons[0] and "\x00" not in bad.reasons[0]


def test_independent_calls_in_either_order_but_a_result_before_its_use():
    golden = [{"action": "details", "action_input": '{"itemId": "4711"}'}, {"action": "details", "action_input": '{"itemId": "4712"}'}]
    swapped = [call("details", {"itemId": "4712"}), call("details", {"itemId": "4711"})]
    assert score(golden, swapped, instruction="Items 4711 and 4712.").accepted
    chained = [{"action": "search", "action_input": '{"query": "red shoes"}'},
               {"action": "details", "action_input": '{"itemId": ${itemId from search}}'}]
    backwards = [call("details", {"itemId": "sh-981"}),
                 call("search", {"query": "red shoes"}, 'Status Code: 200. Response: {"items": [{"itemId": "sh-981"}]}')]
    assert not score(chained, backwards).accepted  # the ID was used before any result gave it

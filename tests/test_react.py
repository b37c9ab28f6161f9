import pytest

from tasks.simulation.react import ASK_USER, parse_step

FUNCS = ["getForecast", "searchCities"]


def test_a_well_formed_action():
    s = parse_step('Thought: I need the weather.\nAction: getForecast\nAction Input: {"city": "Lyon", "days": 3}', FUNCS)
    assert s.kind == "action" and s.error is None
    assert (s.thought, s.action, s.action_input) == ("I need the weather.", "getForecast", {"city": "Lyon", "days": 3})


def test_a_final_answer():
    s = parse_step("Thought: I have it.\nFinal Answer: It will rain in Lyon on Tuesday.", FUNCS)
    assert s.kind == "final" and s.final_answer == "It will rain in Lyon on Tuesday."


@pytest.mark.parametrize("text", [
    'ASSISTANT Thought: x\nASSISTANT Action: getForecast\nASSISTANT Action Input: {"city": "Lyon"}',
    '**Thought:** x\n**Action:** `getForecast`\n**Action Input:**\n```json\n{"city": "Lyon"}\n```',
    'thought: x\naction: getforecast\naction input: {"city": "Lyon"}',
    'Thought: x\nAction: getForecast\nAction Input: {"city": "Lyon"}\nObservation: {"temp": 30}\nFinal Answer: hot',
    'I should check.\nAction: getForecast()\nAction_Input: {"city": "Lyon"}',
    'Thought: x\nAction: getForecast {"city": "Lyon"}',
])
def test_surface_variants_are_accepted(text):
    s = parse_step(text, FUNCS)
    assert s.kind == "action" and s.action == "getForecast" and s.action_input == {"city": "Lyon"}, s


def test_an_invented_observation_does_not_count():
    s = parse_step("Action: getForecast\nAction Input: {}\nObservation: sunny\nFinal Answer: sunny", FUNCS)
    assert s.kind == "action" and s.action_input == {}


@pytest.mark.parametrize("text, error, words", [
    ("", "empty", "empty"),
    ("I think it will rain.", "no_action", "Final Answer"),
    ('Action: deleteCity\nAction Input: {}', "unknown_action", "getForecast, searchCities, ask_user"),
    ("Action: getForecast", "missing_input", "Action Input"),
    ("Action: getForecast\nAction Input: city=Lyon", "input_not_json", "not valid JSON"),
    ('Action: getForecast\nAction Input: [{"city": "Lyon"}, {"city": "Nice"}]', "input_not_object", "only one function"),
    ('Action: getForecast\nAction Input: "Lyon"', "input_not_object", "JSON object"),
])
def test_bad_turns_get_a_reason_and_feedback(text, error, words):
    s = parse_step(text, FUNCS)
    assert s.kind == "invalid" and s.error == error
    assert words in s.feedback()


def test_ask_user_and_its_aliases():
    for name in ("ask_user", "getDetails", "AskUser"):
        s = parse_step(f'Action: {name}\nAction Input: {{"question": "Which city?"}}', FUNCS)
        assert s.asks_user and s.action == ASK_USER and s.action_input == {"question": "Which city?"}


def test_action_before_final_answer_wins():
    s = parse_step('Action: searchCities\nAction Input: {"q": "Ly"}\nFinal Answer: done', FUNCS)
    assert s.kind == "action" and s.action == "searchCities"


def test_json_step_mode_schema_and_rendering():
    from tasks.simulation.react import FINAL, render_json_step
    from tasks.simulation.step_modes import JsonMode, Turn

    choices = lambda turn: [o["properties"]["action"]["const"] for o in JsonMode(FUNCS).turn_schema(turn)["anyOf"]]  # noqa: E731
    assert choices(Turn()) == ["getForecast", "searchCities", "ask_user"]
    assert choices(Turn(index=1, calls_ok=1)) == ["getForecast", "searchCities", "final_answer"]
    text = render_json_step({"thought": "need it", "action": "getForecast", "action_input": {"city": "Lyon"}})
    assert text == 'Thought: need it\nAction: getForecast\nAction Input: {"city": "Lyon"}'
    s = parse_step(text, FUNCS)
    assert s.kind == "action" and s.action_input == {"city": "Lyon"}
    done = render_json_step({"thought": "ok", "action": FINAL, "action_input": {"answer": "Rain."}})
    assert parse_step(done, FUNCS).final_answer == "Rain."
    assert render_json_step([1]) == ""

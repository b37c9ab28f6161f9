"""The house's layering, read from the source (every import, lazy ones inside functions included):
schemas ← tasks ← (warehouse, training) ← flows ← toolfactory; inside ``tasks``, the stages in their
order; no import cycles between modules; prefect, duckdb and litellm each in their own place."""

from __future__ import annotations

from tests.support.imports import (
    PACKAGE_RANK,
    TASKS_RANK,
    import_graph,
    layer_violations,
    module_cycles,
    modules_importing_tests,
    third_party_violations,
)


def test_every_package_imports_only_itself_and_the_layers_below():
    assert layer_violations(import_graph(), PACKAGE_RANK, depth=1) == []


def test_every_stage_in_tasks_imports_only_itself_and_the_stages_before_it():
    graph = {m: deps for m, deps in import_graph().items() if m.startswith("tasks.")}
    assert layer_violations(graph, TASKS_RANK, depth=2) == []


def test_no_module_imports_itself_back_through_others():
    assert module_cycles(import_graph()) == []


def test_prefect_duckdb_and_litellm_stay_in_their_layers():
    assert third_party_violations() == []


def test_the_checks_see_a_violation_when_there_is_one():
    graph = {"tasks.simulation.executor": {"flows.settings"}, "flows.settings": {"tasks.simulation.executor"},
             "tasks.documentation.spec_lint": {"tasks.simulation.react"}, "tasks.simulation.react": set()}
    assert layer_violations(graph, PACKAGE_RANK, depth=1) == ["tasks.simulation.executor imports flows.settings"]
    assert layer_violations(graph, TASKS_RANK, depth=2) == [
        "tasks.documentation.spec_lint imports tasks.simulation.react"]
    assert module_cycles(graph) == [["flows.settings", "tasks.simulation.executor"]]


def test_no_test_imports_another_test_module():
    assert modules_importing_tests() == []

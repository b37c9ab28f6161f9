import pytest

from flows.settings import Settings, SettingsError, load_settings


def test_defaults_without_file_or_env(workdir):
    s = load_settings(env={})
    assert s == Settings()
    assert s.warehouse_path == "./data/warehouse.duckdb"
    assert s.repair_rounds == 3


def test_yaml_then_env_precedence(workdir):
    (workdir / "toolfactory.yaml").write_text("repair_rounds: 5\nwarehouse_path: w.duckdb\nmax_concurrent_apis: 2\n")
    s = load_settings(env={"TOOLFACTORY_REPAIR_ROUNDS": "1", "TOOLFACTORY_RUN_MAX_APIS": "7"})
    assert s.repair_rounds == 1  # environment wins over the file
    assert s.warehouse_path == "w.duckdb"
    assert s.max_concurrent_apis == 2
    assert s.run_max_apis == 7


def test_config_env_points_to_file(workdir):
    path = workdir / "other.yaml"
    path.write_text("documenter_temperature: 0.5\nbackends_file: null\n")
    s = load_settings(env={"TOOLFACTORY_CONFIG": str(path)})
    assert s.documenter_temperature == 0.5
    assert s.backends_file is None


@pytest.mark.parametrize(
    "text, needle",
    [
        ("repair_rounds: lots\n", "repair_rounds"),
        ("no_such_key: 1\n", "no_such_key"),
        ("repair_rounds: -1\n", "repair_rounds"),
        ("documenter_spec_mode: freestyle\n", "documenter_spec_mode"),
        ("- a list\n", "mapping"),
        ("repair_rounds: [1\n", "not valid YAML"),
        ("max_concurrent_apis: 2.5\n", "max_concurrent_apis"),
        ("warehouse_path: null\n", "warehouse_path"),
    ],
)
def test_bad_file_names_the_key(workdir, text, needle):
    (workdir / "toolfactory.yaml").write_text(text)
    with pytest.raises(SettingsError) as err:
        load_settings(env={})
    assert needle in str(err.value)
    assert "toolfactory.yaml" in str(err.value)


def test_bad_env_value_names_the_variable(workdir):
    with pytest.raises(SettingsError, match="TOOLFACTORY_MAX_CONCURRENT_LLM_CALLS"):
        load_settings(env={"TOOLFACTORY_MAX_CONCURRENT_LLM_CALLS": "many"})
    with pytest.raises(SettingsError, match="TOOLFACTORY_NOPE"):
        load_settings(env={"TOOLFACTORY_NOPE": "1"})


def test_missing_file_is_an_error(workdir):
    with pytest.raises(SettingsError, match="not found"):
        load_settings("missing.yaml", env={})


def test_overrides_are_checked():
    s = Settings().with_overrides(run_max_apis=3)
    assert s.run_max_apis == 3
    with pytest.raises(SettingsError, match="run_max_apis"):
        Settings().with_overrides(run_max_apis=0)


def test_instruction_shares_may_not_exceed_the_whole():
    with pytest.raises(SettingsError, match="add up to at most 1"):
        load_settings(env={"TOOLFACTORY_MULTI_API_SHARE": "0.5", "TOOLFACTORY_UNANSWERABLE_SHARE": "0.6"})


@pytest.mark.parametrize("text, needle", [
    ("llm_timeout_s: .nan\n", "llm_timeout_s (toolfactory.yaml): must be a finite number"),
    ("llm_timeout_s: .inf\n", "must be a finite number"),
    ("max_cost_usd: -.inf\n", "must be a finite number"),
    ("repair_rounds: .inf\n", "expected an integer"),
    ("warehouse_wait_s: -5\n", "must be at least"),
    ("sql_timeout_s: -1\n", "must be at least"),
    ("warehouse_path: \"wh\\0.duckdb\"\n", "control characters"),
    ("a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
     "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nseed: *e\n", "alias_expansion"),
    ("seed: &s [*s]\n", "self_reference"),
])
def test_bad_values_and_yaml_bombs_are_refused(workdir, text, needle):
    (workdir / "toolfactory.yaml").write_text(text)
    with pytest.raises(SettingsError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        load_settings()


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
def test_nan_and_infinity_from_the_environment_are_refused(workdir, value):
    with pytest.raises(SettingsError, match="TOOLFACTORY_LLM_TIMEOUT_S.*finite"):
        load_settings(env={"TOOLFACTORY_LLM_TIMEOUT_S": value})


@pytest.mark.parametrize("text, needle", [
    ("model_list: [{model_name: a, litellm_params: {model: openai/x}}]\nroles: {documenter: [x]}\n",
     "roles.documenter: must name one model group"),
    ("model_list: [{model_name: documenter, litellm_params: {model: openai/x}}]\n",
     "no model group for role\\(s\\) user, assistant, executor, judge"),
    ("model_list: [{model_name: a, litellm_params: {model: openai/x}}]\nroles: {documenter: a, user: a, assistant: a, "
     "executor: a}\n", "no model group for role\\(s\\) judge"),
    ("model_list: &m [{model_name: a, litellm_params: {model: openai/x}}, *m, *m]\n", "self_reference"),
])
def test_backends_files_that_leave_a_role_unserved_are_config_errors(tmp_path, text, needle):
    from tasks.llm.config import BackendConfigError, load_backend_config

    (tmp_path / "backends.yaml").write_text(text)
    with pytest.raises(BackendConfigError, match=needle):
        load_backend_config(tmp_path / "backends.yaml").require(("documenter", "user", "assistant", "executor", "judge"))


def test_roles_mapped_to_one_group_are_enough(tmp_path):
    from tasks.llm.config import load_backend_config

    (tmp_path / "backends.yaml").write_text("model_list: [{model_name: a, litellm_params: {model: openai/x}}]\n"
                                            "roles: {documenter: a, user: a, assistant: a, executor: a, judge: a}\n")
    config = load_backend_config(tmp_path / "backends.yaml")
    config.require(("documenter", "user", "assistant", "executor", "judge"))
    assert config.models_of("judge") == ["openai/x"]


def test_a_group_section_sets_its_settings_and_every_setting_has_one_group(workdir):
    from flows.settings import GROUPS, describe, describe_groups

    (workdir / "toolfactory.yaml").write_text(
        "llm:\n  timeout_s: 30\n  backends_file: fake\nevaluation:\n  trials: 3\n  eval_judge: false\nseed: 4\n")
    s = load_settings(env={"TOOLFACTORY_EVAL_TRIALS": "2"})
    assert (s.llm_timeout_s, s.backends_file, s.eval_trials, s.eval_judge, s.seed) == (30.0, "fake", 2, False, 4)
    assert s.group("evaluation")["eval_trials"] == 2 and set(describe_groups(s)) == set(GROUPS)
    flat = [k for group in describe_groups(s).values() for k in group]
    assert sorted(flat) == sorted(describe(s)) and len(flat) == len(set(flat))  # each setting in exactly one group


def test_a_key_that_its_group_does_not_have_is_named_with_the_group(workdir):
    (workdir / "toolfactory.yaml").write_text("llm:\n  trials: 3\n")
    with pytest.raises(SettingsError, match=r"llm.trials \(toolfactory.yaml\): not a setting of group llm"):
        load_settings(env={})


@pytest.mark.parametrize("value, parsed", [("on", True), ("off", False), ("YES", True), ("0", False)])
def test_booleans_read_as_people_write_them(workdir, value, parsed):
    assert load_settings(env={"TOOLFACTORY_CURATION_JUDGE": value}).curation_judge is parsed


def test_none_words_clear_an_optional_setting_and_numbers_are_text_where_text_is_wanted(workdir):
    (workdir / "toolfactory.yaml").write_text("backends_file: none\nwarehouse_path: 5\nmax_cost_usd: null\n")
    s = load_settings(env={})
    assert (s.backends_file, s.warehouse_path, s.max_cost_usd) == (None, "5", None)


def test_a_boolean_is_not_a_number(workdir):
    (workdir / "toolfactory.yaml").write_text("max_concurrent_apis: true\n")
    with pytest.raises(SettingsError, match=r"max_concurrent_apis \(toolfactory.yaml\): expected an integer, got True"):
        load_settings(env={})


@pytest.mark.parametrize("given, seen", [(None, "180"), ("45", "45")])
def test_prefects_temporary_server_gets_minutes_to_start_unless_the_user_says(given, seen):
    """Prefect's 20 s wait ended commands on a busy machine; importing the CLI raises it, a user's value stays."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"}
    if given is not None:
        env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = given
    probe = ("import toolfactory.cli, flows\nfrom prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS as s\n"
             "print(s.value())")
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == seen

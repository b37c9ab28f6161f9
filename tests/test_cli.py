"""The console script end to end (in-process through main(), and once as a real subprocess)."""

import json
import subprocess
import sys

from toolfactory.cli import main


def test_catalog_import_then_sql(workdir, fixtures, capsys):
    assert main(["catalog", "import", str(fixtures / "public_apis_sample.md")]) == 0
    out = capsys.readouterr().out
    assert "rows_read" in out and "quarantined" in out and "unknown_columns: 1" in out
    assert main(["catalog", "import", "sample"]) == 0
    capsys.readouterr()
    assert main(["sql", "SELECT count(*) AS n FROM catalog", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"n": 32 + 4}]
    assert main(["sql", "SELECT reason, count(*) AS n FROM rejections GROUP BY reason ORDER BY reason", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == ["reason,n", "empty_description,1", "malformed_row,2", "unknown_columns,1"]


def test_refused_sql_exits_2_with_a_message(workdir, capsys):
    main(["catalog", "import", "sample"])
    capsys.readouterr()
    assert main(["sql", "DELETE FROM catalog_entry"]) == 2
    assert "refused: DELETE statements are refused" in capsys.readouterr().err


def test_settings_errors_exit_2(workdir, capsys):
    (workdir / "toolfactory.yaml").write_text("repair_rounds: many\n")
    assert main(["config"]) == 2
    assert "repair_rounds" in capsys.readouterr().err


def test_bad_catalog_and_missing_paths(workdir, capsys):
    (workdir / "x.json").write_text("{")
    assert main(["catalog", "import", "x.json"]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert main(["docs", "import", "nowhere"]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["sql", "SELECT 1"]) == 2
    assert "no warehouse" in capsys.readouterr().err


def test_docs_import_folder(workdir, fixtures, capsys):
    assert main(["docs", "import", str(fixtures / "specs")]) == 0
    out = capsys.readouterr().out
    assert "usable                     2" in out and "unusable                   0" in out and "refused                    2" in out
    assert "broken.json: usable, 1 kept, 0 dropped" in out and "book.yaml: refused — not_openapi" in out
    assert main(["sql", "SELECT name, category, status, origin FROM apis ORDER BY name", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"name": "Little Library", "category": "Books", "status": "valid", "origin": "import"} in rows
    assert main(["sql", "SELECT name, operations_kept, repairs, source_format FROM import_summary ORDER BY name", "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert {"name": "Broken", "operations_kept": 1, "repairs": 2, "source_format": "openapi3"} in summary


def test_console_script_runs_as_a_program(workdir):
    out = subprocess.run([sys.executable, "-m", "toolfactory.cli", "config"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and json.loads(out.stdout)["warehouse_path"] == "./data/warehouse.duckdb"
    (workdir / "toolfactory.yaml").write_text("warehouse:\n  path: w.duckdb\n")
    out = subprocess.run([sys.executable, "-m", "toolfactory.cli", "config", "--groups"], capture_output=True, text=True, timeout=120)
    grouped = json.loads(out.stdout)
    assert out.returncode == 0 and grouped["warehouse"]["warehouse_path"] == "w.duckdb" and grouped["llm"]["seed"] == 0


def test_evaluate_asks_only_for_the_roles_it_calls(workdir, capsys):
    from flows.settings import Settings
    from toolfactory.cli_evaluate import evaluation_roles

    s = Settings()
    args = dict(predictions=None, model=None, no_judge=False, set_source="toolalpaca:x.json")
    assert evaluation_roles(s, **args) == ("user", "executor", "assistant", "judge")
    assert evaluation_roles(s, **{**args, "predictions": "p.jsonl"}) == ("judge",)
    assert evaluation_roles(s, **{**args, "predictions": "p.jsonl", "no_judge": True}) == ()
    assert evaluation_roles(s, **{**args, "set_source": "bfcl:simple"}) == ("assistant",)
    assert evaluation_roles(s, **{**args, "set_source": "bfcl:simple", "model": "m"}) == ()
    (workdir / "toolfactory.yaml").write_text("backends_file: fake\nwarehouse_path: wh.duckdb\n")
    assert main(["evaluate", "--set", "bfcl:simple", "--predictions", "p.jsonl"]) == 2
    assert "BFCL categories run a model" in capsys.readouterr().err


def test_global_options_work_after_the_command_too(workdir, capsys):
    from toolfactory.cli import global_options_first

    (workdir / "other.yaml").write_text("seed: 7\n")
    assert main(["config", "--config", "other.yaml", "--progress", "off"]) == 0
    assert json.loads(capsys.readouterr().out)["seed"] == 7
    assert main(["config", "--config=other.yaml"]) == 0
    assert json.loads(capsys.readouterr().out)["seed"] == 7
    assert main(["config"]) == 0 and json.loads(capsys.readouterr().out)["seed"] != 7
    assert main(["config", "--progress", "sometimes"]) == 2  # still checked where it stands
    assert "sometimes" in capsys.readouterr().err
    args = ["sql", "SELECT 1", "--format", "csv", "--config", "a.yaml", "--", "--progress"]
    assert global_options_first(args) == ["--config", "a.yaml", "sql", "SELECT 1", "--format", "csv", "--", "--progress"]


def test_the_ui_talks_to_its_own_api_on_any_port_and_host():
    from toolfactory.cli import ui_environment

    env = ui_environment("127.0.0.1", 4299, {"PREFECT_API_URL": "http://127.0.0.1:4200/api", "HOME": "/h"})
    assert env["PREFECT_UI_API_URL"] == "http://127.0.0.1:4299/api" and env["PREFECT_SERVER_API_PORT"] == "4299"
    assert "PREFECT_API_URL" not in env and env["HOME"] == "/h"  # a client setting for another server is not the UI's
    assert ui_environment("0.0.0.0", 8080, {})["PREFECT_UI_URL"] == "http://127.0.0.1:8080"
    assert ui_environment("::1", 8080, {})["PREFECT_UI_API_URL"] == "http://[::1]:8080/api"
    behind_proxy = ui_environment("0.0.0.0", 8080, {"PREFECT_UI_API_URL": "https://factory.example/api"})
    assert behind_proxy["PREFECT_UI_API_URL"] == "https://factory.example/api"

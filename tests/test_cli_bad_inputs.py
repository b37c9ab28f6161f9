"""The command line over a table of hostile and broken inputs (``toolfactory.testing.bad_inputs``):
each case exits with its status, says one line on stderr when it fails (never a traceback), stays
under 1 GB of memory, and lands nothing from outside its inputs."""

import pytest

from schemas.errors import NotFound
from toolfactory.testing.bad_inputs import CASES, LEAKS, leaked, run_case


@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_bad_input_gives_one_line_and_its_exit_status(case, tmp_path):
    out = run_case(case, tmp_path)
    terminal = out.stdout + out.stderr
    assert "Traceback" not in terminal, terminal[-2000:]
    assert out.code == case.expect_code, (out.code, terminal[-2000:])
    if out.code != 0:
        assert len(out.stderr.strip().splitlines()) == 1 and out.stderr.startswith("toolfactory: "), out.stderr
        assert case.expect_text in out.stderr
    else:
        assert case.expect_text in out.stdout and out.stderr.strip() == ""
    assert out.peak_mb < 1024, f"{out.peak_mb:.0f} MB"
    assert not any(leak in terminal for leak in LEAKS)
    assert leaked(tmp_path) == []


def test_an_internal_error_is_one_line_with_its_traceback_in_the_log(workdir, capsys, monkeypatch):
    import flows.status
    import toolfactory.cli as cli

    def broken(settings):
        raise RuntimeError("something inside broke\nsecond line")

    monkeypatch.setattr(flows.status, "status", broken)
    (workdir / "toolfactory.yaml").write_text("log_dir: logs\n")
    assert cli.main(["status"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("toolfactory: internal error: RuntimeError: something inside broke, details in ")
    (log,) = (workdir / "logs").iterdir()
    assert str(log) in err and "Traceback (most recent call last)" in log.read_text() and "second line" in log.read_text()


def test_a_failed_flow_prints_no_traceback(workdir, capsys, monkeypatch, prefect_harness):
    """Prefect logs a crashed flow with its traceback: the terminal gets its first line, the log file the rest."""
    import io
    import logging

    from prefect import flow

    from toolfactory.errors import ErrorLog, quiet_tracebacks

    @flow(name="crashes")
    def crashes():
        raise ValueError("deep inside a flow")

    log = ErrorLog(workdir / "logs")
    console = io.StringIO()
    terminal = logging.StreamHandler(console)  # a console handler like Prefect's (which writes through rich)
    root = logging.getLogger()
    root.addHandler(terminal)
    quiet_tracebacks(log)
    try:
        with pytest.raises(ValueError):
            crashes()
    finally:
        root.removeHandler(terminal)
        for h in root.handlers:
            h.filters = [f for f in h.filters if type(f).__name__ != "_TracebacksToFile"]
    err = console.getvalue()
    assert "deep inside a flow" in err and "Traceback" not in err and str(log.path) in err
    assert "Traceback (most recent call last)" in log.path.read_text()


@pytest.mark.parametrize("raised, code, start", [
    (KeyError("api_id"), 1, "toolfactory: internal error: KeyError: 'api_id', details in "),
    (NotFound("no snapshot s1: see `toolfactory corpus list`"), 2, "toolfactory: error: no snapshot s1"),
    (LookupError("a bug's lookup"), 1, "toolfactory: internal error: LookupError: a bug's lookup"),
])
def test_only_user_errors_exit_2_and_a_bugs_lookup_error_is_internal(workdir, capsys, monkeypatch, raised, code, start):
    import flows.status

    def broken(settings):
        raise raised

    monkeypatch.setattr(flows.status, "status", broken)
    (workdir / "toolfactory.yaml").write_text("log_dir: logs\n")
    from toolfactory.cli import main

    assert main(["status"]) == code
    assert capsys.readouterr().err.startswith(start)

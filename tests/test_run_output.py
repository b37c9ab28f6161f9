"""What `toolfactory run` shows a user's terminal: the estimate, one line per stage, what they have now;
Prefect's log lines, the flows' prints, warnings and anything written to the file descriptors go to the
run's log file instead."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from toolfactory.run_output import noise_to, stage_line

ROOT = Path(__file__).resolve().parents[1]


def test_noise_goes_to_the_log_and_our_lines_to_the_terminal(tmp_path, capfd):
    log = tmp_path / "logs" / "run.log"
    with noise_to(log) as (out, err):
        print("a flow's print")
        os.write(1, b"native code on fd 1\n")
        os.write(2, b"native code on fd 2\n")
        warnings.warn("a library warning", UserWarning, stacklevel=1)
        print("[1/7] ours", file=out, flush=True)
        print("a bar", file=err, flush=True)
    print("after the block")
    terminal = capfd.readouterr()
    assert terminal.out == "[1/7] ours\nafter the block\n" and terminal.err == "a bar\n"
    text = log.read_text()
    for noise in ("a flow's print", "native code on fd 1", "native code on fd 2", "a library warning"):
        assert noise in text


def test_stage_lines_say_what_each_stage_did():
    assert stage_line("seed", None, 0) == "[4/7] seed corpus  skipped"
    line = stage_line("simulation", {"dialogues": 6, "apis": 2, "stop_reasons": {"final_answer": 5, "step_limit": 1},
                                     "skipped_existing": 0, "llm_calls": 16, "task_failures": 1}, 75.2)
    assert line == ("[3/7] simulation   6 dialogues on 2 APIs (final_answer 5, step_limit 1), 0 found done, 16 LLM calls; "
                    "1 tasks FAILED (see the log)  (1 min 15 s)")
    kinds = {"normal": {"dialogues": 4, "clean": 3}, "chain": {"dialogues": 0, "clean": 0, "why": "no_chain on 2 APIs (…)"}}
    assert stage_line("simulation", {"dialogues": 4, "apis": 2, "stop_reasons": {"final_answer": 4}, "skipped_existing": 0,
                                     "by_kind": kinds}, 0).splitlines()[1] == \
        "                    by kind: normal 4; chain 0 (none: no_chain on 2 APIs (…))"
    assert stage_line("training", {"started": False, "reason": "3 new; the threshold is 10"}, 0.1) == \
        "[7/7] training     not started: 3 new; the threshold is 10"


@pytest.mark.slow  # over 10 s
def test_a_run_in_a_terminal_is_a_few_readable_lines(tmp_path):
    run = subprocess.run([sys.executable, "-m", "tests.support.run_once", str(tmp_path), "--max-apis", "2", "--instructions", "2"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home")})
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()
    stage_lines = [line for line in lines if re.match(r"\[\d/7\] ", line)]
    assert [line.split()[1] for line in stage_lines] == ["catalog", "toolset", "simulation", "seed", "curation", "snapshot", "training"]
    assert "== what you have now" in lines and len(lines) < 45  # fits on a screen
    assert run.stderr == ""  # no warning, no log line, no progress bar (stderr is not a terminal)
    log = Path(tmp_path, next(line.split()[-1] for line in lines if line.startswith("  full log ")))
    text = log.read_text()
    assert "Finished in state Completed" in text and "== simulation" in text  # Prefect's lines and the summaries
    assert "Finished in state" not in run.stdout

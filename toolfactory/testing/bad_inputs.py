"""A table of hostile and broken inputs for the command line, each run as its own process in a
fresh folder: the exit status, what reached the terminal, wall time and peak memory (``VmHWM``).
``tests/test_cli_bad_inputs.py`` checks every row; ``benchmarks/bad_inputs.py`` prints the table.

Every case's folder has ``outside/secret.txt`` (a canary, beside the import folder ``in/``): after
each run nothing of it — and nothing of ``/etc/passwd`` — may be in the warehouse or the output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CANARY = "CANARY-7c1e-outside-the-import-folder"
LEAKS = (CANARY, "root:x:0:0")
SETTINGS = "warehouse_path: wh.duckdb\nlog_dir: logs\nsql_timeout_s: 2\n"


@dataclass(frozen=True)
class Case:
    name: str
    argv: list[str]
    expect_code: int
    expect_text: str  # in the one stderr line (exit ≠ 0) or in stdout (exit 0)
    setup: Callable[[Path], None] = lambda folder: None


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float


def spec(ref: str) -> str:
    return json.dumps({"openapi": "3.0.3", "info": {"title": "Trap", "version": "1"}, "paths": {"/x": {"get": {
        "operationId": "getX", "responses": {"200": {"description": "ok", "content": {"application/json": {
            "schema": {"$ref": ref}}}}}}}}})


def _write(name: str, text: str | bytes) -> Callable[[Path], None]:
    def setup(folder: Path) -> None:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return setup


def _both(*setups: Callable[[Path], None]) -> Callable[[Path], None]:
    def setup(folder: Path) -> None:
        for s in setups:
            s(folder)
    return setup


def _link(name: str, target: str) -> Callable[[Path], None]:
    def setup(folder: Path) -> None:
        (folder / "in").mkdir(exist_ok=True)
        (folder / "in" / name).symlink_to(target)
    return setup


def _fifo(name: str) -> Callable[[Path], None]:
    return lambda folder: os.mkfifo(folder / name)


BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8))
ROLES = ("documenter", "user", "assistant", "executor", "judge")
CATALOG_HEAD = "name,description,category,link,auth\n"


def _garbage_rows(n: int) -> bytes:
    import random

    rng = random.Random(7)
    lines = [CATALOG_HEAD.encode()]
    for i in range(n):
        kind = i % 4
        if kind == 0:
            lines.append(bytes(rng.randrange(32, 127) for _ in range(rng.randrange(5, 60))) + b"\n")
        elif kind == 1:
            lines.append(b'"unclosed,' + bytes(rng.randrange(97, 123) for _ in range(20)) + b",,,,,,,\n")
        elif kind == 2:
            lines.append(b",,,,,\n" if i % 8 == 2 else b"name only\n")
        else:
            lines.append(f"Api {i},d\x00esc {i},Cat\x1b,javascript:alert({i}),none\n".encode())
    return b"".join(lines)


CASES = [
    Case("spec $ref to /etc/passwd", ["docs", "import", "in/spec.json"], 2, "absolute_ref",
         _write("in/spec.json", spec("/etc/passwd"))),
    Case("spec $ref ../outside (parent escape)", ["docs", "import", "in/spec.json"], 2, "outside_root",
         _write("in/spec.json", spec("../outside/secret.txt"))),
    Case("spec $ref to ../../.env", ["docs", "import", "in/sub/spec.json"], 2, "outside_root",
         _both(_write("in/sub/spec.json", spec("../../.env")), _write(".env", f"KEY={CANARY}\n"))),
    Case("spec $ref to /dev/zero", ["docs", "import", "in/spec.json"], 2, "absolute_ref", _write("in/spec.json", spec("/dev/zero"))),
    Case("spec $ref to a link to /dev/zero", ["docs", "import", "in/spec.json"], 2, "outside_root",
         _both(_write("in/spec.json", spec("zero.yaml")), _link("zero.yaml", "/dev/zero"))),
    Case("spec $ref to a FIFO", ["docs", "import", "in/spec.json"], 2, "not_a_file",
         _both(_write("in/spec.json", spec("pipe.yaml")), _fifo("in/pipe.yaml"))),
    Case("spec $ref file:// URL", ["docs", "import", "in/spec.json"], 2, "ref_scheme", _write("in/spec.json", spec("file:///etc/passwd"))),
    Case("spec $ref http URL (remote off)", ["docs", "import", "in/spec.json"], 2, "remote_ref",
         _write("in/spec.json", spec("http://169.254.169.254/latest/meta-data"))),
    Case("spec YAML alias bomb", ["docs", "import", "in/bomb.yaml"], 2, "alias_expansion", _write("in/bomb.yaml", "openapi: 3.0.3\n" + BOMB)),
    Case("spec nested 900 deep", ["docs", "import", "in/deep.json"], 2, "too_deep",
         _write("in/deep.json", '{"openapi": "3.0.3", "x": ' + "[" * 900 + "]" * 900 + "}")),
    Case("spec of 50 MB", ["docs", "import", "in/big.json"], 2, "file_too_large",
         _write("in/big.json", '{"openapi": "3.0.3", "x": "' + "x" * 50_000_000 + '"}')),
    Case("settings YAML alias bomb", ["config"], 2, "alias_expansion", _write("toolfactory.yaml", SETTINGS + BOMB)),
    Case("settings llm_timeout_s: .nan", ["config"], 2, "must be a finite number", _write("toolfactory.yaml", SETTINGS + "llm_timeout_s: .nan\n")),
    Case("settings negative duration", ["config"], 2, "must be at least", _write("toolfactory.yaml", SETTINGS + "warehouse_wait_s: -1\n")),
    Case("settings not UTF-8", ["config"], 2, "not_utf8", _write("toolfactory.yaml", b"seed: \xff\xfe\n")),
    Case("backends roles: {documenter: [x]}", ["docs", "build"], 2, "roles.documenter: must name one model group",
         _both(_write("toolfactory.yaml", SETTINGS + "backends_file: b.yaml\n"),
               _write("b.yaml", "model_list: [{model_name: x, litellm_params: {model: openai/x}}]\nroles: {documenter: [x]}\n"))),
    Case("backends role without a model group", ["docs", "build"], 2, "no model group for role(s) documenter",
         _both(_write("toolfactory.yaml", SETTINGS + "backends_file: b.yaml\n"), _write("b.yaml", "model_list:\n" + "".join(
             f"  - {{model_name: {r}, litellm_params: {{model: openai/x}}}}\n" for r in ROLES[1:])))),
    Case("backends without the judge, then run", ["run", "--max-apis", "1"], 2, "no model group for role(s) judge",
         _both(_write("toolfactory.yaml", SETTINGS + "backends_file: b.yaml\n"), _write("b.yaml", "model_list:\n" + "".join(
             f"  - {{model_name: {r}, litellm_params: {{model: openai/x}}}}\n" for r in ROLES[:-1])))),
    Case("sql duckdb_settings() as CSV", ["sql", "SELECT * FROM duckdb_settings()", "--format", "csv"], 0, "memory_limit",
         _write("in/c.csv", CATALOG_HEAD + "A,b,c,https://a.example,none\n")),
    Case("sql UPDATE EXTENSIONS", ["sql", "UPDATE EXTENSIONS"], 2, "refused"),
    Case("sql past sql_timeout_s", ["sql", "SELECT sum(hash(a.range * b.range)) FROM range(400000) a, range(400000) b"], 2,
         "ran past 2 s"),
    Case("catalog with NUL bytes and javascript: links", ["catalog", "import", "in/c.csv"], 0, "entries_new",
         _write("in/c.csv", CATALOG_HEAD + "Ev\x00il,Does \x00things,Te\x00st,javascript:alert(1),none\n")),
    Case("catalog with a 1 MB description", ["catalog", "import", "in/c.csv"], 0, "description_too_long: 1",
         _write("in/c.csv", CATALOG_HEAD + "Big," + "d" * 1_000_000 + ",Cat,https://big.example,none\n")),
    Case("catalog not UTF-8", ["catalog", "import", "in/c.csv"], 0, "bad_utf8",
         _write("in/c.csv", CATALOG_HEAD.encode() + b"Bad\xff\xfeName,desc,Cat,https://x.example,none\n")),
    Case("catalog of 100k garbage rows", ["catalog", "import", "in/c.csv"], 0, "quarantined",
         lambda folder: _write("in/c.csv", _garbage_rows(100_000))(folder)),
    Case("catalog that is a FIFO", ["catalog", "import", "in/c.csv", "--format", "csv"], 2, "not_a_file", _fifo("in/c.csv")),
    Case("catalog JSON nested 100k deep", ["catalog", "import", "in/c.json"], 2, "too_deep",
         _write("in/c.json", "[" * 100_000 + "]" * 100_000)),
    Case("import (ToolAlpaca) not JSON", ["import", "in/t.json"], 2, "unparsable", _write("in/t.json", "{not json")),
    Case("warehouse path is a folder", ["sql", "SELECT 1"], 2, "cannot open the warehouse",
         _write("toolfactory.yaml", "warehouse_path: in\nlog_dir: logs\n")),
    Case("unknown command option", ["sql"], 2, "Missing argument 'query'"),
]


def prepare(case: Case, folder: Path) -> None:
    """The case's folder: settings, the canary outside the import folder, the case's own files."""
    (folder / "in").mkdir(parents=True, exist_ok=True)
    (folder / "outside").mkdir(exist_ok=True)
    (folder / "outside" / "secret.txt").write_text(f"{CANARY}\n")
    (folder / "toolfactory.yaml").write_text(SETTINGS)
    case.setup(folder)
    if not (folder / "wh.duckdb").exists() and case.argv[0] == "sql" and "warehouse_path: in" not in (folder / "toolfactory.yaml").read_text():
        run(["catalog", "import", "sample"], folder)


def _peak_kb(pid: int) -> int:
    """The process's own peak resident memory so far (``VmHWM``; a forked child's ``ru_maxrss``
    would count the parent's memory at the fork)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def run(argv: list[str], folder: Path, timeout_s: float = 120) -> Outcome:
    """``toolfactory ARGV`` in ``folder`` as a child process; its peak memory (``VmHWM``, read every
    20 ms until it exits)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOOLFACTORY_", "PREFECT_API"))}
    env["PREFECT_HOME"] = str(folder / "prefect-home")
    started = time.perf_counter()
    with open(folder / ".stdout", "w+b") as out, open(folder / ".stderr", "w+b") as err:
        proc = subprocess.Popen([sys.executable, "-m", "toolfactory.cli", *argv], cwd=folder, env=env, stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL)
        deadline, peak = time.monotonic() + timeout_s, 0
        while True:
            peak = max(peak, _peak_kb(proc.pid))  # readable until the child is reaped
            pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, _ = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Outcome(proc.returncode, out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"),
                       time.perf_counter() - started, peak / 1024)


def leaked(folder: Path) -> list[str]:
    """What of the canary or /etc/passwd is in the warehouse (every table, as text)."""
    path = folder / "wh.duckdb"
    if not path.is_file():
        return []
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        found = []
        for (table,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall():
            text = json.dumps(con.execute(f'SELECT * FROM "{table}"').fetchall(), default=str)
            found += [f"{table}: {leak}" for leak in LEAKS if leak in text]
        return found
    finally:
        con.close()


def run_case(case: Case, folder: Path) -> Outcome:
    prepare(case, folder)
    return run(case.argv, folder)

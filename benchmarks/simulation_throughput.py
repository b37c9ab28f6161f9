"""Benchmark: dialogues per second of the factory's simulation against the fake OpenAI server,
beside the ideal, a bare asyncio + litellm loop and a raw aiohttp loop making the same calls (issues #3, #20).

For each regime (server latency, in-flight cap) the driver runs five workers, each in a process of its
own (so CPU and peak memory are theirs) against a fresh fake server of its own (so each one's peak of
requests in flight is its own):

- ``factory fast``: the real path — ``simulate-corpus`` (Prefect flow, warehouse, ledger, dialogues as
  coroutines on the LLM loop) over pre-landed instructions, on the fast transport (``llm_transport:
  fast``: aiohttp straight to the server); one warm-up dialogue first (it starts Prefect's server, and
  its requests are the ones the loops below replay);
- ``factory fast, 2 processes``: the same on the processes runner (``simulation_processes: 2``);
- ``factory litellm``: the same on ``llm_transport: litellm``;
- ``bare``: ``asyncio.gather`` of dialogues under a semaphore of the same cap, each dialogue the
  warm-up's requests sent one after the other with ``litellm.acompletion``;
- ``raw``: the same with one ``aiohttp`` session and ``orjson`` (the HTTP floor).

Ideal: cap / (LLM calls per dialogue × latency). CPU seconds per call: the worker's user + system
time over the measured window / calls; peak memory: the worker's peak RSS.

    .venv/bin/python benchmarks/simulation_throughput.py            # all regimes, ~10 minutes
    .venv/bin/python benchmarks/simulation_throughput.py --quick    # small caps, a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
STEPS = 2  # each dialogue: assistant → executor → assistant, whose second call meets the step limit = 3 LLM calls
N_APIS = 4
SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "Bench Shop", "version": "1.0.0", "description": "A shop to search."},
    "servers": [{"url": "https://shop.example/v1"}],
    "paths": {"/items": {"get": {
        "operationId": "searchItems", "summary": "Search the shop's items by keyword.",
        "parameters": [{"name": "q", "in": "query", "required": False, "schema": {"type": "string"},
                        "description": "Keyword to search for."}],
        "responses": {"200": {"description": "Matching items", "content": {"application/json": {"schema": {
            "type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {
                "type": "object", "required": ["id", "name"],
                "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}}}}}}}},
    }}},
}


def _cpu() -> float:
    """CPU seconds of this process and of its children that have ended (the processes runner's pool)."""
    return sum(ru.ru_utime + ru.ru_stime for ru in (resource.getrusage(resource.RUSAGE_SELF),
                                                     resource.getrusage(resource.RUSAGE_CHILDREN)))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# workers ----------------------------------------------------------------------------------------
def bench_folder(base_url: str, prefix: str, apis: int = N_APIS) -> Path:
    """A fresh working folder (made the current one) with a backends file whose every role is the fake
    server at ``base_url`` (comma-separated URLs: one deployment each, which the client rotates over),
    and ``specs/`` holding ``apis`` bench APIs."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    os.chdir(work)
    os.environ["TF_BENCH_KEY"] = "sk-bench"
    (work / "backends.yaml").write_text("model_list:\n" + "".join(
        f"  - model_name: {role}\n    litellm_params: {{model: openai/fake-model, api_base: '{url}', "
        "api_key: os.environ/TF_BENCH_KEY}\n" for role in ("documenter", "user", "assistant", "executor", "judge")
        for url in base_url.split(",")))
    (work / "specs").mkdir()
    for i in range(apis):
        spec = json.loads(json.dumps(SPEC))
        spec["info"]["title"] = f"Bench Shop {i}"
        (work / "specs" / f"shop{i}.json").write_text(json.dumps(spec))
    return work


def factory_worker(base_url: str, cap: int, dialogues: int, transport: str, processes: int = 0,
                   apis: int = N_APIS) -> dict[str, Any]:
    from flows.docs_import import import_docs
    from flows.settings import Settings
    from flows.simulate_corpus import run_simulate_corpus
    from schemas.ids import content_id
    from schemas.records import Instruction
    from tasks.llm.config import load_backend_config
    from tasks.prompts import load_prompt
    from warehouse import Warehouse

    work = bench_folder(base_url, "tf-bench-", apis)
    specs = work / "specs"
    base = Settings().with_overrides(backends_file="backends.yaml", warehouse_path=str(work / "wh.duckdb"),
                                     assistant_step_mode="json", dialogue_step_limit=STEPS, llm_num_retries=0,
                                     max_concurrent_apis=apis, llm_max_continuations=0, missing_detail_share=0.0,
                                     unanswerable_share=0.0, multi_api_share=0.0,  # only the pre-landed instructions
                                     executor_share_responses=False,  # every call its own
                                     llm_transport=transport)
    import_docs(base, specs)
    user_model = load_backend_config("backends.yaml").signature("user")
    version = load_prompt("user_instructions").version

    def land_instructions(per_api: int, tag: str, apis: int) -> list[str]:
        with Warehouse.open(base.warehouse_path) as wh:
            docs = wh.valid_docs()[:apis]
            wh.land([Instruction(content_id("bench", tag, d.doc_id, i), d.api_id, d.doc_id, "normal",
                                 f"Find items number {tag}-{i} in {d.name}.", "", version, user_model)
                     for d in docs for i in range(per_api)])
            return [d.api_id for d in docs]

    warm_api = land_instructions(1, "warm", 1)
    warm = run_simulate_corpus(base.with_overrides(instructions_per_api=1), api_ids=warm_api)
    assert warm["dialogues"] == 1, warm
    per_api = max(1, dialogues // apis)
    with Warehouse.open(base.warehouse_path) as wh:  # the warm-up API gets the new instructions too
        wh.execute("DELETE FROM instruction")
    land_instructions(per_api, "run", apis)
    settings = base.with_overrides(instructions_per_api=per_api, max_concurrent_dialogues=cap, max_concurrent_llm_calls=cap)
    if processes:  # the API tasks on a pool of worker processes, each with its own client and its share of the cap
        settings = settings.with_overrides(simulation_task_runner="processes", simulation_processes=processes,
                                           max_concurrent_dialogues=cap // processes, max_concurrent_llm_calls=cap // processes)
    cpu0 = _cpu()
    summary = run_simulate_corpus(settings)
    cpu = _cpu() - cpu0
    return {"dialogues": summary["dialogues"], "calls": summary["llm_calls"], "errors": summary["llm_errors"],
            "seconds": summary["seconds"], "cpu_s": round(cpu, 2), "peak_rss_mb": round(_peak_rss_mb(), 1),
            "stop_reasons": summary["stop_reasons"], "warm_calls": warm["llm_calls"]}


def bare_worker(base_url: str, cap: int, dialogues: int, bodies: list[dict[str, Any]]) -> dict[str, Any]:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    # the same HTTP pool as the factory's client (tasks/llm/backend.py), so both can have `cap` requests open
    os.environ.setdefault("AIOHTTP_CONNECTOR_LIMIT", "100000")
    os.environ.setdefault("AIOHTTP_CONNECTOR_LIMIT_PER_HOST", "100000")
    import litellm

    keys = ("response_format", "max_tokens", "temperature", "seed")
    errors = 0

    async def dialogue(gate: asyncio.Semaphore) -> None:
        nonlocal errors
        async with gate:
            for body in bodies:
                try:
                    await litellm.acompletion(model="openai/fake-model", api_base=base_url, api_key="sk-bench",
                                              messages=body["messages"], **{k: body[k] for k in keys if k in body})
                except Exception:
                    errors += 1

    async def main() -> float:
        gate = asyncio.Semaphore(cap)
        await dialogue(gate)  # warm-up: imports, client pools
        cpu0, t0 = _cpu(), time.perf_counter()
        await asyncio.gather(*(dialogue(gate) for _ in range(dialogues)))
        return cpu0, time.perf_counter() - t0

    cpu0, seconds = asyncio.run(main())
    return {"dialogues": dialogues, "calls": dialogues * len(bodies), "errors": errors, "seconds": round(seconds, 1),
            "cpu_s": round(_cpu() - cpu0, 2), "peak_rss_mb": round(_peak_rss_mb(), 1)}


def raw_worker(base_url: str, cap: int, dialogues: int, bodies: list[dict[str, Any]]) -> dict[str, Any]:
    """The same requests as ``bare_worker`` over one aiohttp session with orjson: the HTTP floor."""
    import aiohttp
    import orjson

    errors = 0
    payloads = [orjson.dumps({**b, "model": "fake-model"}) for b in bodies]
    headers = {"Content-Type": "application/json", "Authorization": "Bearer sk-bench"}

    async def dialogue(session: aiohttp.ClientSession, gate: asyncio.Semaphore) -> None:
        nonlocal errors
        async with gate:
            for payload in payloads:
                async with session.post(f"{base_url}/chat/completions", data=payload, headers=headers) as resp:
                    reply = orjson.loads(await resp.read())
                    errors += resp.status != 200 or not reply.get("choices")

    async def main() -> tuple[float, float]:
        gate = asyncio.Semaphore(cap)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            await dialogue(session, gate)
            cpu0, t0 = _cpu(), time.perf_counter()
            await asyncio.gather(*(dialogue(session, gate) for _ in range(dialogues)))
            return cpu0, time.perf_counter() - t0

    cpu0, seconds = asyncio.run(main())
    return {"dialogues": dialogues, "calls": dialogues * len(bodies), "errors": errors, "seconds": round(seconds, 1),
            "cpu_s": round(_cpu() - cpu0, 2), "peak_rss_mb": round(_peak_rss_mb(), 1)}


# driver -----------------------------------------------------------------------------------------
def _spawn_worker(args: list[str], stdin: str = "") -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, *args], input=stdin, capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"worker {args} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


class Server:
    def __init__(self, latency: float):
        self.proc = subprocess.Popen([sys.executable, "-m", "toolfactory.testing.fake_openai_server", "--latency", str(latency),
                                      "--keep-requests", str(2 * STEPS)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"the fake server did not start: {line!r}")
        self.url = line.split("listening on ", 1)[1].strip()

    def requests(self) -> list[dict[str, Any]]:
        return httpx.get(f"{self.url}/requests").json()

    def stats(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/stats").json()

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


WORKERS = ("factory fast", "factory fast, 2 processes", "factory litellm", "bare", "raw")


def _run_on_fresh_server(latency: float, args: list[str], stdin: str = "") -> dict[str, Any]:
    """The worker's result against a server of its own, with the server's peak in flight and the bodies it kept."""
    server = Server(latency)
    try:
        result = _spawn_worker([*args, "--base-url", f"{server.url}/v1"], stdin)
        result["server_peak_in_flight"] = server.stats()["peak_in_flight"]
        result["_bodies"] = server.requests()
    finally:
        server.close()
    return result


def regime(latency: float, cap: int, dialogues: int) -> dict[str, Any]:
    """The five workers, one after the other, each on a fresh server."""
    results: dict[str, dict[str, Any]] = {}
    results["factory fast"] = _run_on_fresh_server(latency, ["--worker", "factory", "--transport", "fast", "--cap", str(cap),
                                                                "--dialogues", str(dialogues)])
    warm_calls = results["factory fast"]["warm_calls"]  # the loops replay the warm-up dialogue's calls, no more
    bodies = results["factory fast"]["_bodies"][:warm_calls]
    assert len(bodies) == warm_calls == round(results["factory fast"]["calls"] / results["factory fast"]["dialogues"]), (
        f"the loops would replay {len(bodies)} calls a dialogue; the factory made {warm_calls} in its warm-up")
    n = str(results["factory fast"]["dialogues"])
    results["factory fast, 2 processes"] = _run_on_fresh_server(latency, [
        "--worker", "factory", "--transport", "fast", "--processes", "2", "--cap", str(cap), "--dialogues", str(dialogues)])
    results["factory litellm"] = _run_on_fresh_server(latency, ["--worker", "factory", "--transport", "litellm",
                                                                   "--cap", str(cap), "--dialogues", str(dialogues)])
    for name in ("bare", "raw"):
        results[name] = _run_on_fresh_server(latency, ["--worker", name, "--cap", str(cap), "--dialogues", n], json.dumps(bodies))
    calls_per_dialogue = results["factory fast"]["calls"] / max(1, results["factory fast"]["dialogues"])
    ideal = cap / (calls_per_dialogue * latency)
    out: dict[str, Any] = {"latency_s": latency, "cap": cap, "calls_per_dialogue": round(calls_per_dialogue, 2),
                           "ideal_dps": round(ideal, 1)}
    for name, r in results.items():
        r.pop("_bodies")
        out[name] = {**r, "dps": round(r["dialogues"] / r["seconds"], 1), "cpu_ms_per_call": round(1000 * r["cpu_s"] / r["calls"], 3),
                     "vs_ideal": round(r["dialogues"] / r["seconds"] / ideal, 3)}
    out["fast_vs_bare"] = round(out["factory fast"]["dps"] / out["bare"]["dps"], 2)
    out["fast_vs_raw"] = round(out["factory fast"]["dps"] / out["raw"]["dps"], 2)
    out["litellm_vs_bare"] = round(out["factory litellm"]["dps"] / out["bare"]["dps"], 2)
    return out


def table(rows: list[dict[str, Any]]) -> str:
    head = ("| latency | cap | worker | dialogues | d/s | of ideal | CPU ms/call | peak RSS MB | peak in flight |\n"
            "|---:|---:|---|---:|---:|---:|---:|---:|---:|\n")
    body = "".join(f"| {r['latency_s']} s | {r['cap']} | {w} | {r[w]['dialogues']} | {r[w]['dps']} | {r[w]['vs_ideal']} "
                   f"| {r[w]['cpu_ms_per_call']} | {r[w]['peak_rss_mb']} | {r[w]['server_peak_in_flight']} |\n"
                   for r in rows for w in WORKERS)
    ratios = "".join(f"\n{r['latency_s']} s / {r['cap']}: factory fast / bare litellm {r['fast_vs_bare']}, fast / raw "
                     f"{r['fast_vs_raw']}, factory litellm / bare {r['litellm_vs_bare']} (ideal {r['ideal_dps']} d/s)"
                     for r in rows)
    return head + body + ratios + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", choices=["factory", "bare", "raw"])
    ap.add_argument("--transport", choices=["fast", "litellm"], default="fast")
    ap.add_argument("--processes", type=int, default=0, help="factory worker: the processes runner with this many")
    ap.add_argument("--apis", type=int, default=N_APIS, help="factory worker: this many bench APIs (one task each)")
    ap.add_argument("--base-url")
    ap.add_argument("--cap", type=int)
    ap.add_argument("--dialogues", type=int)
    ap.add_argument("--quick", action="store_true", help="small caps and counts: a smoke run of the benchmark itself")
    ap.add_argument("--out", help="also write the rows as JSON here")
    ap.add_argument("--regime", action="append", metavar="LATENCY,CAP,DIALOGUES",
                    help="run this regime instead of the default ones (repeatable), e.g. 20,3000,3000")
    args = ap.parse_args()
    if args.worker == "factory":
        print("RESULT " + json.dumps(factory_worker(args.base_url, args.cap, args.dialogues, args.transport, args.processes,
                                                        args.apis)), flush=True)
        return
    if args.worker in ("bare", "raw"):
        loop_worker = bare_worker if args.worker == "bare" else raw_worker
        print("RESULT " + json.dumps(loop_worker(args.base_url, args.cap, args.dialogues, json.loads(sys.stdin.read()))), flush=True)
        return
    # (latency s, cap, dialogues): the latency-bound runs are 4 waves of `cap` dialogues (ideal 4 × 4 × 2 s = 32 s)
    plan = [(0.5, 20, 80), (0.1, 50, 200)] if args.quick else [(2.0, 100, 400), (2.0, 1000, 4000), (0.2, 1000, 3000)]
    if args.regime:
        plan = [(float(lat), int(cap), int(n)) for lat, cap, n in (r.split(",") for r in args.regime)]
    rows = []
    for latency, cap, n in plan:
        started = time.perf_counter()
        rows.append(regime(latency, cap, n))
        print(f"latency {latency} s, cap {cap}: done in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    print(table(rows))
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()

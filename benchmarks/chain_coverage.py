"""Chain instructions on published specs: how much of each API's function graph the chains the user agent
is given cover, when each pick favours links not yet covered (``tasks.simulation.chain_plan.pick_chain``,
what the flow does) against picking a chain uniformly at random. Each spec is imported the way
``toolfactory docs import`` does it; a "pick" is one chain batch (one ``chain`` instruction at the default
``instructions_per_api: 10``, ``chain_share: 0.1``, per run or top-up).

    .venv/bin/python benchmarks/chain_coverage.py [--data ../shared/data] [--picks 1,3,10] [--seeds 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from function_graph import valid_specs  # noqa: E402  (benchmarks/function_graph.py, beside this script)

from tasks.simulation.chain_plan import CANDIDATES, MAX_OPERATIONS, PlannedChain, pick_chain  # noqa: E402
from tasks.simulation.function_graph import chains, graph  # noqa: E402


def covered_after(edges: list, picks: int, seed: int, favour: bool) -> tuple[set, set]:
    """(links, operations) the first ``picks`` chains cover, picked the flow's way or at random."""
    links: set[tuple[str, str]] = set()
    ops: set[str] = set()
    found = chains(edges, MAX_OPERATIONS, CANDIDATES)
    rng = random.Random(seed)
    for k in range(picks):
        chain = pick_chain(edges, links, seed + k) if favour else PlannedChain(rng.choice(found))
        if chain is None:
            break
        links |= set(chain.links)
        ops |= set(chain.operations)
    return links, ops


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--picks", default="1,3,10")
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    graphs = {n: e for n, e in ((n, graph(s)) for n, s in valid_specs(Path(args.data)).items()) if e}
    all_links = {n: {(e.source, e.target) for e in es} for n, es in graphs.items()}
    all_ops = {n: {e.source for e in es} | {e.target for e in es} for n, es in graphs.items()}
    print(f"{len(graphs)} APIs with an edge; links (operation pairs) {sum(len(v) for v in all_links.values())}, "
          f"operations on an edge {sum(len(v) for v in all_ops.values())}\n")
    print("| chains per API | links covered, favouring uncovered | at random | operations covered, favouring | at random |")
    print("|---:|---:|---:|---:|---:|")
    for picks in (int(x) for x in args.picks.split(",")):
        row = []
        for favour in (True, False):
            link_share, op_share = [], []
            for seed in range(args.seeds):
                got = {n: covered_after(es, picks, seed, favour) for n, es in graphs.items()}
                link_share.append(sum(len(got[n][0]) for n in graphs) / sum(len(all_links[n]) for n in graphs))
                op_share.append(sum(len(got[n][1]) for n in graphs) / sum(len(all_ops[n]) for n in graphs))
            row.append((statistics.mean(link_share), statistics.mean(op_share)))
        print(f"| {picks} | {row[0][0]:.1%} | {row[1][0]:.1%} | {row[0][1]:.1%} | {row[1][1]:.1%} |")


if __name__ == "__main__":
    main()

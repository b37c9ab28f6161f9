"""Dependent chains for the user agent (issue 21): an API's function graph as records, and the chain a
``chain`` instruction is written about.

``edge_records`` turns ``tasks.simulation.function_graph``'s edges of a doc (or of a doc and its multi-API
partner, named as those dialogues name functions) into ``FunctionEdge`` records with their evidence.
``pick_chain`` samples one chain of 2–4 operations, favouring the links (source → target pairs) no
dialogue or earlier chain instruction has covered: the chains with the most uncovered links are the
candidates, the seed picks among them. ``PlannedChain.rule`` is what the user agent is told. Never raises.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from schemas.ids import content_id
from schemas.records import FunctionEdge
from tasks.simulation.function_graph import Edge, chains, graph

MAX_OPERATIONS = 4
CANDIDATES = 2_000  # chains considered per pick (shortest first): enough for every API of the published specs' median


@dataclass(frozen=True)
class PlannedChain:
    """A chain of calls, each fed by the one before: ``edges[i]`` links ``operations[i]`` to ``operations[i + 1]``."""

    edges: tuple[Edge, ...]

    @property
    def operations(self) -> tuple[str, ...]:
        return (self.edges[0].source, *(e.target for e in self.edges))

    @property
    def links(self) -> list[tuple[str, str]]:
        return [(e.source, e.target) for e in self.edges]

    def describe(self) -> str:
        """One line: ``listPets → getPet (its petId from items[].id) → …``."""
        return " → ".join([self.edges[0].source, *(f"{e.target} (its {e.parameter} from {e.output})" for e in self.edges)])

    def rule(self) -> str:
        """The user agent's rule for a batch about this chain."""
        return ("Each request must need these functions in this order, each one using a value the one before returns: "
                f"{self.describe()}. Ask for the final result in plain words; do not name the functions or say which "
                "value to pass, and do not give the value the later calls need (the earlier calls find it).")


def edge_records(doc_id: str, api_id: str, edges: Iterable[Edge], partner_doc_id: str | None = None) -> list[FunctionEdge]:
    """The graph's edges as records (``partner_doc_id``: edges between a doc and its multi-API partner)."""
    return [FunctionEdge(content_id("edge", doc_id, partner_doc_id or "", e.source, e.output, e.target, e.parameter),
                         doc_id, api_id, partner_doc_id, e.source, e.output, e.target, e.parameter, float(e.score),
                         list(e.evidence)) for e in edges]


def cross_edges(combined_spec: Any, prefixes: list[str]) -> list[Edge]:
    """The edges of a combined multi-API spec that go from one API to the other (names carry their prefix)."""
    def owner(name: str) -> str:
        return next((p for p in prefixes if name.startswith(f"{p}_")), "")

    return [e for e in graph(combined_spec) if owner(e.source) and owner(e.target) and owner(e.source) != owner(e.target)]


def pick_chain(edges: list[Edge], covered: set[tuple[str, str]], seed: int) -> PlannedChain | None:
    """A chain of 2 to ``MAX_OPERATIONS`` operations from ``edges``, with the most links not in ``covered``
    (ties: the seed picks); None when no two operations feed each other."""
    found = chains(edges, MAX_OPERATIONS, CANDIDATES)
    if not found:
        return None

    def fresh(chain: tuple[Edge, ...]) -> int:
        return sum((e.source, e.target) not in covered for e in chain)

    best = max(fresh(c) for c in found)
    candidates = [c for c in found if fresh(c) == best]
    return PlannedChain(random.Random(seed).choice(candidates))

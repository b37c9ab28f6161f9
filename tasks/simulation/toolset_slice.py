"""Bounded prompts for large APIs: every operation is kept, but an instruction's agents see a slice.

An API with more than ``slice_max`` operations (published specs reach hundreds) is too big to show
the user agent and the assistant whole. ``ToolsetSlicer`` shows them a slice:
  - the user agent writes each batch of instructions about a few *target* operations — a window of
    ``targets_size`` consecutive operations (specs list related operations together), chosen by the
    batch's seed so top-ups and later runs move on through the API;
  - the assistant sees the instruction's targets plus up to ``slice_max`` others (their neighbours
    in the spec's order, so it must still choose among similar functions).
The slice is recorded on the instruction (``target_functions``) and the dialogue (``toolset``).
Small APIs are not sliced (``large`` is False; an empty toolset means the whole API).

In: a spec and ``slice_max``. Out: target windows, slices, and the sliced spec (its NL docs and tool
definitions are made from it as from any spec; the executor keeps the whole spec).
"""

from __future__ import annotations

from typing import Any

from tasks.documentation.nl_docs import nl_documentation
from tasks.documentation.spec_lint import HTTP_METHODS, iter_operations
from tasks.documentation.tool_context import referenced_only


class ToolsetSlicer:
    """``max_chars`` (0: no bound) bounds a slice by what it shows as well as by count: the characters of the NL
    documentation of its operations (their shared components included), its targets always, then neighbours
    while the documentation stays within it."""

    def __init__(self, spec: dict[str, Any], slice_max: int = 20, max_chars: int = 0):
        self.spec = spec
        self.slice_max = max(1, slice_max)
        self.max_chars = max_chars
        self.names = [op["operationId"] for _, _, op, _ in iter_operations(spec) if isinstance(op.get("operationId"), str)]
        self.targets_size = max(1, self.slice_max // 4)
        self._chars: dict[tuple[str, ...], int] = {}
        self._slices: dict[tuple[str, ...], list[str]] = {}

    def shown_chars(self, names: list[str]) -> int:
        """Characters of the NL documentation a slice of ``names`` shows (measured once per set of names)."""
        key = tuple(sorted(names))
        if key not in self._chars:
            self._chars[key] = len(nl_documentation(self.spec_for(list(key))))
        return self._chars[key]

    def _fits(self, names: list[str]) -> bool:
        return not self.max_chars or self.shown_chars(names) <= self.max_chars

    @property
    def large(self) -> bool:
        return len(self.names) > self.slice_max

    def targets(self, seed: int) -> list[str]:
        """The window of target operations for a batch with this seed (every window in turn)."""
        windows = max(1, -(-len(self.names) // self.targets_size))
        start = (seed % windows) * self.targets_size
        return self._fitting(self.names[start:start + self.targets_size])

    def _fitting(self, names: list[str], share: int = 1) -> list[str]:
        """The first of ``names`` whose documentation fits ``max_chars // share`` together (always the first one)."""
        out: list[str] = names[:1]
        for name in names[1:]:
            if self.max_chars and self.shown_chars([*out, name]) > self.max_chars // share:
                break
            out.append(name)
        return out

    def targets_across(self, prefixes: list[str], seed: int) -> list[str]:
        """A multi-API toolset's targets (its names carry each API's prefix): a window of each API's operations, the
        windows together about ``targets_size`` long, chosen by ``seed`` — so the request is about both APIs."""
        per = max(1, self.targets_size // max(1, len(prefixes)))
        out: list[str] = []
        for prefix in prefixes:
            names = [n for n in self.names if n.startswith(f"{prefix}_")]
            windows = max(1, -(-len(names) // per))
            start = (seed % windows) * per
            out += self._fitting(names[start:start + per], max(1, len(prefixes)))
        return out

    def slice_for(self, targets: list[str]) -> list[str]:
        """The targets plus up to ``slice_max`` other operations: their neighbours, nearest first, while the
        documentation shown stays within ``max_chars`` (a neighbour that does not fit is passed over)."""
        known = [t for t in targets if t in self.names]
        if not known:
            return []
        key = tuple(known)
        if key not in self._slices:
            self._slices[key] = self._grown(known)
        return list(self._slices[key])

    def _grown(self, known: list[str]) -> list[str]:
        first, last = self.names.index(known[0]), self.names.index(known[-1])
        others: list[str] = []
        passed = 0  # neighbours that did not fit: after as many as a slice holds, the rest are farther and no likelier
        step = 1
        while len(others) < self.slice_max and passed < self.slice_max and (first - step >= 0 or last + step < len(self.names)):
            for i in (last + step, first - step):
                if 0 <= i < len(self.names) and self.names[i] not in known and len(others) < self.slice_max:
                    if self._fits([*known, *others, self.names[i]]):
                        others.append(self.names[i])
                    else:
                        passed += 1
            step += 1
        chosen = set(known) | set(others)
        return [n for n in self.names if n in chosen]

    def spec_for(self, names: list[str]) -> dict[str, Any]:
        """The spec with only the operations ``names``, and only the components they refer to (everything else
        kept): the NL documentation's shared components are the slice's, not the whole API's."""
        wanted = set(names)
        paths: dict[str, Any] = {}
        for path, item in (self.spec.get("paths") or {}).items():
            if not isinstance(item, dict):
                continue
            kept = {k: v for k, v in item.items() if k not in HTTP_METHODS
                    or (isinstance(v, dict) and v.get("operationId") in wanted)}
            if any(m in kept for m in HTTP_METHODS):
                paths[path] = kept
        return referenced_only({**self.spec, "paths": paths})

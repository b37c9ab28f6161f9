"""A run's spend cap: calls are charged their cost; once the cap is reached, no new call is made.

``SpendCap(limit_usd)`` (None: no cap) is shared by a run's LLM client. A call refused by the cap
comes back as an ``LLMResult`` whose error starts with ``SPEND_CAP`` — the flows see it, stop
starting new work, and do not land the work it cut short, so the next run (with more budget)
redoes exactly that. Calls already in flight finish: the spend can pass the cap by what those cost.
Calls whose price is unknown are counted, not charged.
"""

from __future__ import annotations

import threading

SPEND_CAP = "spend_cap_reached"


class SpendCap:
    def __init__(self, limit_usd: float | None = None):
        self.limit_usd = limit_usd
        self.spent_usd = 0.0
        self.unpriced_calls = 0
        self.refused_calls = 0
        self._lock = threading.Lock()

    @property
    def exhausted(self) -> bool:
        return self.limit_usd is not None and self.spent_usd >= self.limit_usd

    def charge(self, cost_usd: float | None) -> None:
        with self._lock:
            if cost_usd is None:
                self.unpriced_calls += 1
            else:
                self.spent_usd += cost_usd

    def refuse(self) -> str:
        """Count a refused call; the error text for its result."""
        with self._lock:
            self.refused_calls += 1
        return f"{SPEND_CAP}: spent ${self.spent_usd:.4f} of the run's cap ${self.limit_usd:.4f} (max_cost_usd)"

    def count_refused(self, n: int) -> None:
        """Count calls another client (a worker's, on this run's behalf) refused."""
        with self._lock:
            self.refused_calls += n

    @property
    def left_usd(self) -> float | None:
        """What is left of the cap (None: no cap)."""
        return None if self.limit_usd is None else max(0.0, self.limit_usd - self.spent_usd)

    def summary(self) -> dict[str, float | int | None]:
        return {"spend_cap_usd": self.limit_usd, "spent_usd": round(self.spent_usd, 6), "calls_refused_by_cap": self.refused_calls}

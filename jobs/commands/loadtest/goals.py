"""The goals the echo service is held to, written once: ``ray101 loadtest --check``
enforces them, docs/echo.md states them (a test keeps the two equal) and
``make bench``'s page judges its figures by them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Goals:
    # The echo's req/s over the bare-ASGI baseline's, measured in the same run:
    # a ratio, because absolute figures move with the machine and its load.
    ratio: float = 0.5
    # The echo's p99 latency, in milliseconds.
    p99_ms: float = 10.0
    # ... and at most this many times the baseline's p99 in the same run: the
    # latency Serve adds, apart from what the machine's load adds to both.
    p99_over_baseline: float = 4.0

    def sentence(self) -> str:
        """The goals in words, as docs/echo.md states them."""
        return (
            f"at least {self.ratio:.0%} of the bare ASGI baseline's requests per second, "
            f"and a p99 latency of at most {self.p99_ms:g} ms and at most "
            f"{self.p99_over_baseline:g} times the baseline's p99"
        )

    def missed(
        self, echo: dict[str, Any], ratio: float | None, baseline_p99_ms: float | None = None
    ) -> list[str]:
        """What the echo's summary (its ratio to the baseline, and its p99 next to
        the baseline's) misses; [] when all met.

        A ratio that could not be measured (no baseline, or a baseline that
        answered nothing) is a miss: the goal was not shown to hold.
        """
        misses = []
        if ratio is None:
            misses.append("no baseline throughput to compare with")
        elif ratio < self.ratio:
            misses.append(f"throughput {ratio:.1%} of the baseline (goal >= {self.ratio:.0%})")
        if echo["p99_ms"] > self.p99_ms:
            misses.append(f"p99 {echo['p99_ms']:.1f} ms (goal <= {self.p99_ms:g} ms)")
        if baseline_p99_ms and echo["p99_ms"] > self.p99_over_baseline * baseline_p99_ms:
            misses.append(
                f"p99 {echo['p99_ms'] / baseline_p99_ms:.1f}x the baseline's "
                f"(goal <= {self.p99_over_baseline:g}x)"
            )
        return misses


GOALS = Goals()

"""What one load client measures of one target in one round."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

# The percentiles each measurement keeps, enough to draw its latency distribution:
# every percent, and the tail in finer steps.
CDF_PERCENTILES: tuple[float, ...] = (*range(1, 100), 99.5, 99.9, 99.99)


@dataclass
class Measurement:
    """One target under load for one round."""

    target: str
    client: str
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: int
    wrong_body: int = 0
    # [percentile, latency in ms] at each of CDF_PERCENTILES.
    latency_cdf_ms: list[list[float]] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors + self.wrong_body

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "errors": self.errors}


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, -(-len(sorted_values) * pct // 100))  # ceil without floats drifting
    return sorted_values[int(rank) - 1]


def cdf(sorted_ms: Sequence[float]) -> list[list[float]]:
    """[percentile, ms] at each of CDF_PERCENTILES, of an ascending list of latencies."""
    return [[p, percentile(sorted_ms, p)] for p in CDF_PERCENTILES] if sorted_ms else []

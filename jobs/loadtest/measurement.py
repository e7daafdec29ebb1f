"""What one load client measures of one target in one round."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


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

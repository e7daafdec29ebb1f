"""What a pipeline returned, kept small enough for the object store: a count,
a checksum of every document's BSON bytes, and the rows of small results.

An ordered checksum compares in order; an order-free one is a sum of hashes,
so the checksums of disjoint partitions add up to the whole collection's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

_MOD = 1 << 128


@dataclass
class Outcome:
    """A pipeline's result as every mode reports it."""

    count: int
    digest: str
    rows: list[dict[str, Any]] | None
    seconds: float = 0.0
    where: str = ""

    def same_as(self, other: Outcome) -> bool:
        return self.count == other.count and self.digest == other.digest


def doc_hash(raw: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(raw, digest_size=16).digest(), "big")


class Checksum:
    """Checksum of BSON documents as they stream by: in order, or as a multiset
    (a sum of hashes, so the checksums of disjoint parts add up to the whole's)."""

    def __init__(self, ordered: bool) -> None:
        self.ordered = ordered
        self._stream = hashlib.blake2b(digest_size=16)
        self._total = 0

    def add(self, raw: bytes) -> None:
        if self.ordered:
            self._stream.update(raw)  # BSON documents carry their length: no separator needed
        else:
            self._total = (self._total + doc_hash(raw)) % _MOD

    def hexdigest(self) -> str:
        if self.ordered:
            return "seq:" + self._stream.hexdigest()
        return f"set:{self._total:032x}"


def merge(outcomes: Sequence[Outcome]) -> Outcome:
    """The outcome of a pipeline from the outcomes of its disjoint partitions."""
    if any(o.digest.startswith("seq:") for o in outcomes):
        raise ValueError("ordered results cannot be merged by adding checksums")
    total = sum(int(o.digest[4:], 16) for o in outcomes) % _MOD
    rows = None
    if all(o.rows is not None for o in outcomes):
        rows = [row for o in outcomes for row in o.rows or []]
    return Outcome(
        count=sum(o.count for o in outcomes),
        digest=f"set:{total:032x}",
        rows=rows,
        seconds=max((o.seconds for o in outcomes), default=0.0),
        where=", ".join(sorted({o.where for o in outcomes})),
    )

"""What the `mongo` workload's tests compare against: the scratch database and its
size, the plain-Python reference of every built-in pipeline computed from the
loaded documents, and deep equality up to summation order."""

from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict
from typing import Any

import bson

from jobs.mongo.checksum import Outcome
from jobs.mongo.data import Dataset
from jobs.mongo.pipelines import PIPELINES
from tests.support import per_worker

DB = per_worker("ray101_test_aggregate")
MOVIES, COMMENTS = 2_000, 4_000


def same_values(a: Any, b: Any, rel_tol: float = 1e-9) -> bool:
    """Deep equality where floats may differ by summation order."""
    if isinstance(a, float) or isinstance(b, float):
        return (
            isinstance(a, int | float)
            and isinstance(b, int | float)
            and math.isclose(a, b, rel_tol=rel_tol, abs_tol=1e-12)
        )
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_values(a[k], b[k], rel_tol) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(
            same_values(x, y, rel_tol) for x, y in zip(a, b, strict=True)
        )
    return a == b


def _set_digest(docs: list[dict]) -> str:
    total = 0
    for doc in docs:
        total += int.from_bytes(hashlib.blake2b(bson.encode(doc), digest_size=16).digest(), "big")
    return f"set:{total % (1 << 128):032x}"


def reference(dataset: Dataset) -> dict[str, Any]:
    """What each built-in pipeline must return, computed in plain Python."""
    genres: dict[str, list] = defaultdict(lambda: [0, []])
    for movie in dataset.movies:
        for genre in movie.get("genres", []):
            genres[genre][0] += 1
            if "rating" in movie["imdb"]:
                genres[genre][1].append(movie["imdb"]["rating"])
    top_genres = [
        {"_id": g, "count": n, "avg_rating": math.fsum(r) / len(r) if r else None}
        for g, (n, r) in sorted(genres.items(), key=lambda kv: (-kv[1][0], kv[0]))
    ]
    decades = Counter(m["year"] - m["year"] % 10 for m in dataset.movies)
    by_id = {m["_id"]: m for m in dataset.movies}
    commented = sorted(
        Counter(c["movie_id"] for c in dataset.comments).items(), key=lambda kv: (-kv[1], kv[0])
    )
    return {
        "movies": (len(dataset.movies), _set_digest(dataset.movies)),
        "comments": (len(dataset.comments), _set_digest(dataset.comments)),
        "top_genres": top_genres,
        "movies_per_decade": [{"_id": d, "count": n} for d, n in sorted(decades.items())],
        "most_commented": [
            {"_id": i, "comments": n, "title": by_id[i]["title"], "year": by_id[i]["year"]}
            for i, n in commented[:10]
        ],
    }


def assert_matches_reference(
    outcomes: list[Outcome], expected: dict[str, Any], standin: bool
) -> None:
    got = dict(zip([p.name for p in PIPELINES], outcomes, strict=True))
    for scan in ("movies", "comments"):
        assert (got[scan].count, got[scan].digest) == expected[scan], scan
    for name in ("top_genres", "movies_per_decade", "most_commented"):
        rows, want = got[name].rows, expected[name]
        assert got[name].count == len(want), name
        if standin and name == "top_genres":
            # Known stand-in defect: this $sort is ignored; the rows must still be right.
            rows = sorted(rows, key=lambda r: (-r["count"], r["_id"]))
        # 1990 == 1990.0: the stand-in returns decades as doubles (tests/README.md).
        assert same_values(rows, want), f"{name}: {rows[:3]} != {want[:3]}"

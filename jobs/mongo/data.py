"""sample_mflix-shaped data: a deterministic generator, and the flags that name
a data set (``ray101 data load`` and the stand-in of the ``mongo`` workload).

The same (seed, movies, comments) always gives byte-for-byte the same
documents, ``_id`` values included, so a second load finds every document in
place and adds nothing, and tests can compute expected answers in plain
Python from the very documents the server holds.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING

from jobs.mongo import client
from jobs.runtime import flags

# The sizes of the real sample_mflix data set.
DEFAULT_MOVIES = 21_349
DEFAULT_COMMENTS = 41_079
DEFAULT_SEED = 101

# Indexes the workload's pipelines use: year ranges partition the movies,
# comments are looked up by the movie they belong to.
INDEXES: dict[str, list[tuple[str, int]]] = {
    "movies": [("year", ASCENDING)],
    "comments": [("movie_id", ASCENDING)],
}

GENRES = (
    ("Drama", 120), ("Comedy", 70), ("Romance", 35), ("Crime", 30), ("Thriller", 28),
    ("Action", 27), ("Adventure", 20), ("Documentary", 18), ("Horror", 14), ("Mystery", 12),
    ("Biography", 11), ("Family", 9), ("Fantasy", 9), ("Sci-Fi", 8), ("History", 8),
    ("Animation", 7), ("Music", 7), ("War", 6), ("Sport", 5), ("Musical", 4), ("Short", 4),
    ("Western", 3), ("Film-Noir", 2), ("News", 1),
)  # fmt: skip
RATED = ("G", "PG", "PG-13", "R", "NOT RATED", "APPROVED", "TV-14", "UNRATED")
COUNTRIES = ("USA", "UK", "France", "Germany", "Italy", "Japan", "Canada", "India", "Spain")
LANGUAGES = ("English", "French", "German", "Italian", "Japanese", "Spanish", "Hindi")
FIRST = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
    "Sarah", "Charles", "Karen", "Ned", "Catelyn", "Jon", "Arya", "Sansa", "Bran", "Tyrion",
)  # fmt: skip
LAST = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson",
    "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Lopez",
    "Lee", "Harris", "Clark", "Lewis", "Walker", "Hall", "Young", "Stark", "Lannister",
)  # fmt: skip
WORDS = (
    "the", "a", "of", "and", "to", "in", "his", "her", "young", "man", "woman", "family",
    "life", "love", "war", "city", "town", "night", "world", "story", "friend", "secret",
    "journey", "past", "home", "after", "new", "two", "old", "finds", "must", "becomes",
    "their", "small", "dark", "true", "lost", "last", "first", "escape", "murder", "dream",
    "between", "against", "mysterious", "brother", "sister", "father", "mother", "wife",
    "husband", "daughter", "son", "school", "police", "detective", "killer", "soldier",
    "king", "queen", "river", "mountain", "sea", "island", "train", "road", "summer",
)  # fmt: skip
TITLE_WORDS = (
    "Silent", "River", "Night", "Last", "Stranger", "Empire", "Shadow", "Garden", "Road",
    "Crimson", "Winter", "Summer", "Iron", "Golden", "Broken", "Hidden", "City", "Storm",
    "Echo", "Harbor", "Wild", "Paper", "Glass", "Fire", "Moon", "Island", "Kingdom", "Ghost",
)  # fmt: skip

# ObjectId timestamps in the range of the real data set's ids.
_MOVIE_EPOCH = 0x573A1390
_COMMENT_EPOCH = 0x5A942764


@dataclass(frozen=True)
class Dataset:
    movies: list[dict[str, Any]]
    comments: list[dict[str, Any]]


def object_id(kind: str, index: int, tag: bytes) -> ObjectId:
    """A deterministic ObjectId: timestamp, 5-byte data-set tag, 3-byte counter."""
    epoch = _MOVIE_EPOCH if kind == "movies" else _COMMENT_EPOCH
    return ObjectId(
        struct.pack(">I", epoch + index // 0x1000000) + tag + (index % 0x1000000).to_bytes(3, "big")
    )


def dataset_tag(kind: str, seed: int, movies: int, comments: int) -> bytes:
    """Five bytes that differ between data sets, so two never share an ``_id``."""
    return hashlib.blake2b(f"{kind}:{seed}:{movies}:{comments}".encode(), digest_size=5).digest()


def _sentence(rng: random.Random, low: int, high: int) -> str:
    words = rng.choices(WORDS, k=rng.randint(low, high))
    return " ".join(words).capitalize() + "."


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _year(rng: random.Random) -> int:
    # Like sample_mflix: 1896..2016, most of it after 1980.
    return max(1896, 2016 - int(rng.expovariate(1 / 22)))


def _movie(rng: random.Random, index: int, _id: ObjectId) -> dict[str, Any]:
    year = _year(rng)
    genre_names, weights = zip(*GENRES, strict=True)
    genres = sorted(set(rng.choices(genre_names, weights=weights, k=rng.randint(1, 3))))
    released = datetime(year, rng.randint(1, 12), rng.randint(1, 28))
    doc: dict[str, Any] = {
        "_id": _id,
        "plot": _sentence(rng, 12, 30),
        "genres": genres,
        "runtime": rng.randint(62, 198),
        "cast": [_person(rng) for _ in range(rng.randint(2, 5))],
        "num_mflix_comments": 0,  # filled in once the comments are drawn
        "title": f"{rng.choice(TITLE_WORDS)} {rng.choice(TITLE_WORDS)} {index}",
        "fullplot": _sentence(rng, 40, 90),
        "languages": rng.sample(LANGUAGES, k=rng.randint(1, 2)),
        "released": released,
        "directors": [_person(rng) for _ in range(rng.randint(1, 2))],
        "rated": rng.choice(RATED),
        "awards": {"wins": rng.randint(0, 9), "nominations": rng.randint(0, 15)},
        "lastupdated": f"2015-0{rng.randint(1, 9)}-1{rng.randint(0, 9)} 00:00:00.000000000",
        "year": year,
        "imdb": {
            "rating": round(min(9.6, max(1.2, rng.gauss(6.6, 1.1))), 1),
            "votes": int(rng.lognormvariate(7.5, 1.6)) + 5,
            "id": 1_000 + index,
        },
        "countries": rng.sample(COUNTRIES, k=rng.randint(1, 2)),
        "type": "movie",
    }
    # Some real movies have no genres and some no rating; the pipelines must
    # cope ($unwind drops the former, $avg ignores the latter).
    if rng.random() < 0.01:
        del doc["genres"]
    if rng.random() < 0.02:
        del doc["imdb"]["rating"]
    return doc


def generate(
    movies: int = DEFAULT_MOVIES, comments: int = DEFAULT_COMMENTS, seed: int = DEFAULT_SEED
) -> Dataset:
    """The documents for (movies, comments, seed); the same arguments, the same bytes."""
    if movies < 1 or comments < 0:
        raise ValueError("need at least one movie and no negative comment count")
    movie_tag = dataset_tag("movies", seed, movies, comments)
    comment_tag = dataset_tag("comments", seed, movies, comments)
    rng = random.Random(seed)
    movie_docs = [_movie(rng, i, object_id("movies", i, movie_tag)) for i in range(movies)]

    # A few movies draw most comments (as in the real data, where the top
    # movie has ~160): Zipf-like weights over a shuffled order of movies.
    order = list(range(movies))
    rng.shuffle(order)
    cumulative, total = [], 0.0
    for rank in range(movies):
        total += 1.0 / (rank + 3) ** 0.9
        cumulative.append(total)
    targets = rng.choices(order, cum_weights=cumulative, k=comments)

    start = datetime(1975, 1, 1)
    comment_docs = []
    for j, target in enumerate(targets):
        movie_docs[target]["num_mflix_comments"] += 1
        name = _person(rng)
        comment_docs.append(
            {
                "_id": object_id("comments", j, comment_tag),
                "name": name,
                "email": f"{name.lower().replace(' ', '_')}@fakegmail.com",
                "movie_id": movie_docs[target]["_id"],
                "text": _sentence(rng, 15, 45),
                # Whole milliseconds: BSON dates keep no finer time.
                "date": start + timedelta(milliseconds=rng.randrange(0, 42 * 365 * 86_400_000)),
            }
        )
    return Dataset(movies=movie_docs, comments=comment_docs)


@dataclass(frozen=True)
class DataSpec:
    """Which data set to generate: the flags ``--movies``, ``--comments``, ``--seed``."""

    movies: int = DEFAULT_MOVIES
    comments: int = DEFAULT_COMMENTS
    seed: int = DEFAULT_SEED

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> DataSpec:
        return cls(args.movies, args.comments, args.seed)

    def generate(self) -> Dataset:
        return generate(self.movies, self.comments, self.seed)


def add_dataset_arguments(parser: argparse.ArgumentParser, purpose: str = "") -> None:
    """Where the data lives and what to generate: shared by `ray101 data load`
    and the mongo workload (which generates only for the stand-in)."""
    parser.add_argument(
        "--uri", default=None, help=f"MongoDB connection string (default: ${client.URI_ENV})"
    )
    parser.add_argument(
        "--db", default=client.DEFAULT_DB, help="database name (default: sample_mflix)"
    )
    parser.add_argument(
        "--movies",
        type=flags.positive_int,
        default=DEFAULT_MOVIES,
        help=f"movies to generate{purpose} (default {DEFAULT_MOVIES}, the real data set's size)",
    )
    parser.add_argument(
        "--comments",
        type=flags.positive_int,
        default=DEFAULT_COMMENTS,
        help=f"comments to generate{purpose} (default {DEFAULT_COMMENTS})",
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"generator seed (default {DEFAULT_SEED})"
    )

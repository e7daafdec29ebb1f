"""The sample_mflix generator, `ray101 data load`, the stand-in and URI redaction.

MongoDB is the session's ``mongo_server`` (tests/conftest.py): MONGODB_URI's
server (a scratch database, dropped afterwards), else the nx-27017 stand-in.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter

import bson
import pytest
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from pymongo import MongoClient
from pymongo.errors import PyMongoError

from jobs.commands import data as data_load
from jobs.mongo import client as mongo_client
from jobs.mongo import standin
from jobs.mongo.data import generate
from jobs.mongo.load import load
from jobs.runtime.errors import UsageError
from jobs.runtime.ports import free_port
from tests.support import per_worker, run_cli

pytestmark = pytest.mark.mongodb

DB = per_worker("ray101_test_data")


@pytest.fixture
def mongo_uri(mongo_server):
    yield mongo_server.uri
    with MongoClient(mongo_server.uri) as client:
        client.drop_database(DB)


@pytest.fixture
def db(mongo_uri):
    client = mongo_client.connect(mongo_uri)
    client.drop_database(DB)
    yield client[DB]
    client.close()


def _load(uri: str, *flags: str) -> int:
    return data_load.main(["--uri", uri, "--db", DB, "--quiet", *flags])


# ---------------------------------------------------------------- generator


def test_generator_is_deterministic_and_shaped_like_sample_mflix():
    a = generate(60, 150, seed=7)
    b = generate(60, 150, seed=7)
    assert [bson.encode(d) for d in a.movies + a.comments] == [
        bson.encode(d) for d in b.movies + b.comments
    ]
    other = generate(60, 150, seed=8)
    assert [m["title"] for m in other.movies] != [m["title"] for m in a.movies]

    assert len(a.movies) == 60 and len(a.comments) == 150
    ids = [d["_id"] for d in a.movies + a.comments]
    assert len(set(ids)) == len(ids) and all(isinstance(i, bson.ObjectId) for i in ids)
    for movie in a.movies:
        assert {"title", "year", "cast", "directors", "runtime", "released", "imdb"} <= movie.keys()
        assert isinstance(movie["year"], int) and 1896 <= movie["year"] <= 2016
        assert isinstance(movie["imdb"]["votes"], int)
    movie_ids = {m["_id"] for m in a.movies}
    assert all(c["movie_id"] in movie_ids for c in a.comments)
    per_movie = Counter(c["movie_id"] for c in a.comments)
    assert all(m["num_mflix_comments"] == per_movie[m["_id"]] for m in a.movies)


def test_data_sets_of_other_sizes_never_share_an_id():
    small = generate(50, 80, seed=1)
    bigger = generate(51, 80, seed=1)
    assert not {m["_id"] for m in small.movies} & {m["_id"] for m in bigger.movies}


def test_default_sizes_are_the_real_data_sets():
    args = data_load.build_parser().parse_args([])
    assert (args.movies, args.comments, args.db) == (21_349, 41_079, "sample_mflix")


# ---------------------------------------------------------------- loader


def test_load_twice_counts_indexes_and_same_bytes(mongo_uri, db, capsys):
    assert _load(mongo_uri, "--movies", "300", "--comments", "700") == 0
    first = capsys.readouterr().out
    assert "movies: 300 documents (300 inserted" in first
    assert "comments: 700 documents (700 inserted" in first
    assert f"Loaded {DB} in" in first

    assert _load(mongo_uri, "--movies", "300", "--comments", "700") == 0
    second = capsys.readouterr().out
    assert "movies: 300 documents (0 inserted, 300 already there)" in second
    assert "comments: 700 documents (0 inserted, 700 already there)" in second
    assert db.movies.count_documents({}) == 300
    assert db.comments.count_documents({}) == 700

    # Index names differ on the stand-in (idx_movies_year): compare keys only.
    keys = {
        name: [list(ix["key"].items()) for ix in db[name].list_indexes()]
        for name in ("movies", "comments")
    }
    assert [("year", 1)] in keys["movies"]
    assert [("movie_id", 1)] in keys["comments"]

    # The server holds exactly the generated documents, byte for byte.
    expected = generate(300, 700)
    raw = CodecOptions(document_class=RawBSONDocument)
    stored = {d["_id"]: d.raw for d in db.get_collection("movies", codec_options=raw).find()}
    assert stored == {m["_id"]: bson.encode(m) for m in expected.movies}


def test_load_resumes_an_interrupted_load(mongo_uri, db):
    dataset = generate(200, 400)
    db.movies.insert_many([dict(m) for m in dataset.movies[:120]])
    reports = load(db, dataset, batch_size=50, progress=False)
    assert [(r.inserted, r.total) for r in reports] == [(80, 200), (400, 400)]


def test_other_data_set_needs_replace(mongo_uri, db, capsys):
    assert _load(mongo_uri, "--movies", "100", "--comments", "100") == 0
    capsys.readouterr()
    assert _load(mongo_uri, "--movies", "100", "--comments", "100", "--seed", "5") == 2
    assert "pass --replace" in capsys.readouterr().err
    assert _load(mongo_uri, "--movies", "100", "--comments", "100", "--seed", "5", "--replace") == 0
    expected = {m["_id"] for m in generate(100, 100, seed=5).movies}
    assert {d["_id"] for d in db.movies.find({}, {"_id": 1})} == expected


def test_data_load_standin_is_a_dry_run():
    done = run_cli("data", "load", "--standin", "--movies", "50", "--comments", "80", "--quiet")
    assert done.returncode == 0, done.stderr
    assert "movies: 50 documents (50 inserted" in done.stdout
    assert "this was a dry run" in done.stdout
    assert "nx-27017" in done.stderr and "not MongoDB" in done.stderr


def test_load_without_a_server_exits_2(monkeypatch, capsys):
    monkeypatch.delenv("MONGODB_URI", raising=False)
    assert data_load.main(["--movies", "10"]) == 2
    err = capsys.readouterr().err
    assert "MONGODB_URI" in err and "--uri" in err and "--standin" in err


def test_archive_without_mongorestore_exits_2(mongo_uri, tmp_path, monkeypatch, capsys):
    archive = tmp_path / "sample_mflix.archive"
    archive.write_bytes(b"not really an archive")
    monkeypatch.setenv("PATH", str(tmp_path))  # no mongorestore here
    assert _load(mongo_uri, "--archive", str(archive)) == 2
    assert "mongorestore" in capsys.readouterr().err


def test_archive_goes_through_mongorestore(mongo_uri, db, tmp_path, monkeypatch, capsys):
    # A recording mongorestore: the real tool is not installed here; what
    # matters is the command ray101 builds and that it then indexes the data.
    calls = tmp_path / "calls"
    tool = tmp_path / "mongorestore"
    tool.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {calls}\n')
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    archive = tmp_path / "sample_mflix.archive.gz"
    archive.write_bytes(b"\x1f\x8b")
    assert _load(mongo_uri, "--archive", str(archive), "--replace") == 0
    args = calls.read_text().splitlines()
    assert f"--uri={mongo_uri}" in args and f"--archive={archive}" in args
    assert {"--nsInclude=sample_mflix.*", "--gzip", "--drop", f"--nsTo={DB}.*"} <= set(args)
    assert [("year", 1)] in [list(ix["key"].items()) for ix in db.movies.list_indexes()]
    assert "movies: 0 documents" in capsys.readouterr().out


def test_failed_restore_exits_1_with_passwords_masked(mongo_uri, tmp_path, monkeypatch, capsys):
    tool = tmp_path / "mongorestore"
    tool.write_text(
        '#!/bin/sh\necho "Failed: no reply from mongodb://app:Leak3dPw@db:27017/" >&2\nexit 1\n'
    )
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    archive = tmp_path / "sample_mflix.archive"
    archive.write_bytes(b"x")
    assert _load(mongo_uri, "--archive", str(archive)) == 1
    err = capsys.readouterr().err
    assert "load failed: mongorestore failed" in err
    assert "Leak3dPw" not in err and "app:***@db" in err


def test_load_refuses_bad_flags_in_one_line(capsys):
    assert data_load.main(["--movies", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--movies" in err


def test_unreachable_server_fails_within_seconds(capsys):
    port = free_port()  # nothing listens there
    start = time.monotonic()
    code = data_load.main(["--uri", f"mongodb://u:hunter22@127.0.0.1:{port}/", "--quiet"])
    assert code == 2
    assert time.monotonic() - start < 10
    err = capsys.readouterr().err
    assert "cannot reach MongoDB" in err and "hunter22" not in err and "u:***@" in err


# ---------------------------------------------------------------- redaction


@pytest.mark.parametrize(
    ("text", "secret", "shown"),
    [
        ("mongodb://app:pa55word@db:27017/x", "pa55word", "mongodb://app:***@db:27017/x"),
        (
            "connect mongodb+srv://app:p%40ss%2Fw@c0.example.net/?authSource=admin now",
            "p%40ss",
            "connect mongodb+srv://app:***@c0.example.net/?authSource=admin now",
        ),
        # Unescaped "@" and "/" in a password: still masked up to the last "@".
        ("mongodb://app:a@b/c@host:1/", "a@b/c", "mongodb://app:***@host:1/"),
        ("mongodb://host:27017/?directConnection=true", None, None),
        ("mongodb://onlyuser@host/", None, None),
    ],
)
def test_redact_masks_passwords(text, secret, shown):
    out = mongo_client.redact(text)
    if secret:
        assert secret not in out
    assert out == (shown or text)


def test_redact_masks_the_password_quoted_alone():
    uri = "mongodb://app:Sw0rdfish@db/"
    assert mongo_client.redact("auth failed for password Sw0rdfish", uri) == (
        "auth failed for password ***"
    )


def test_log_records_are_redacted():
    uri = "mongodb://app:Sw0rdfish@db/"
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    handler = Keep()
    handler.addFilter(mongo_client.RedactingFilter(uri))
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    try:
        logger.warning("connecting to %s", uri)
        logger.warning("password was %s", "Sw0rdfish")
    finally:
        logger.removeHandler(handler)
    assert records == ["connecting to mongodb://app:***@db/", "password was ***"]


def test_wrong_credentials_exit_2_without_the_password(mongo_server, mongo_uri, capsys):
    if not mongo_server.standin:
        pytest.skip("needs a server where this user does not exist: the stand-in")
    uri = mongo_uri.replace("mongodb://", "mongodb://alice:Sup3rSecret@")
    assert _load(uri) == 2
    err = capsys.readouterr().err
    assert "Sup3rSecret" not in err and "alice:***@" in err


# ---------------------------------------------------------------- stand-in


def test_standin_announces_itself_and_stops(capsys):
    with standin.standin() as uri:
        assert MongoClient(uri, serverSelectionTimeoutMS=2000).admin.command("ping")["ok"]
        line = capsys.readouterr().err.strip()
    assert len(line.splitlines()) == 1 and "nx-27017" in line and "not MongoDB" in line
    with pytest.raises(PyMongoError):
        MongoClient(uri, serverSelectionTimeoutMS=500).admin.command("ping")


def test_standin_needs_its_package(monkeypatch):
    monkeypatch.setattr(standin, "version", lambda: None)
    with pytest.raises(UsageError, match="nx-27017"), standin.standin():
        pass


def test_standin_leaves_no_temp_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    with standin.standin(announce=False):
        assert any(p.name.startswith("ray101-nx27017-") for p in tmp_path.iterdir())
    assert not list(tmp_path.iterdir())


def test_a_timeout_the_uri_names_wins_over_ray101s_default():
    """The chart's in-cluster URI asks for 30 s; a typed URI gets ray101's 5 s."""
    from jobs.mongo import client

    patient = client.make_client("mongodb://db.example:27017/?serverSelectionTimeoutMS=30000")
    typed = client.make_client("mongodb://db.example:27017/")
    try:
        assert patient.options.server_selection_timeout == 30
        assert typed.options.server_selection_timeout == client.SERVER_SELECTION_TIMEOUT_MS / 1000
    finally:
        patient.close(), typed.close()

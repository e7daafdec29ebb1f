"""The echo's parsing rules, without Serve: `data` from a query string or a JSON
body, what is refused with 400 or 413, and the data limit from the environment
and from a reconfigure."""

from __future__ import annotations

import json

import pytest

from jobs import echo
from jobs.echo import config, parsing

LIMIT = config.DEFAULT_MAX_DATA_BYTES


@pytest.mark.parametrize(
    ("query", "data"),
    [
        (b"data=Hello", "Hello"),
        (b"x=1&data=a+b%2Bc&data=second", "a b+c"),
        (b"data=", ""),
        (b"data=h%C3%A9llo", "héllo"),
        ("data=héllo".encode(), "héllo"),  # raw UTF-8, as some clients send it
        (b"d%61ta=escaped+name", "escaped name"),
    ],
)
def test_data_from_query(query, data):
    assert parsing.data_from_query(query, LIMIT) == data


@pytest.mark.parametrize(
    ("query", "status"),
    [(b"", 400), (b"other=1", 400), (b"data=%FF", 400), (b"data=" + b"x" * (LIMIT + 1), 413)],
)
def test_data_from_query_refuses(query, status):
    with pytest.raises(parsing.EchoError) as err:
        parsing.data_from_query(query, LIMIT)
    assert err.value.status == status


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"", 400),
        (b"{not json", 400),
        (b"\xff\xfe{}", 400),
        (b"[1, 2]", 400),
        (b'"data"', 400),
        (b"{}", 400),
        (b'{"data": 5}', 400),
        (b'{"data": null}', 400),
        (b'{"data": "\\ud800"}', 400),  # a lone surrogate cannot be sent back as UTF-8
        (b"[" * 100_000, 400),
        (json.dumps({"data": "x" * (LIMIT + 1)}).encode(), 413),
        (json.dumps({"data": "é" * (LIMIT // 2 + 1)}).encode(), 413),  # bytes, not characters
    ],
)
def test_data_from_json_refuses(body, status):
    with pytest.raises(parsing.EchoError) as err:
        parsing.data_from_json(body, LIMIT)
    assert err.value.status == status


def test_data_from_json_accepts_the_limit_exactly():
    body = json.dumps({"data": "x" * LIMIT, "extra": 1}).encode()
    assert parsing.data_from_json(body, LIMIT) == "x" * LIMIT


def test_reconfigure_changes_the_limit():
    replica = echo.Echo.func_or_class()
    assert replica.max_data_bytes == LIMIT
    replica.reconfigure({"max_data_bytes": 100})
    assert replica.max_data_bytes == 100
    with pytest.raises(ValueError):
        replica.reconfigure({"max_data_bytes": 0})


def test_limit_from_env():
    assert parsing.max_data_bytes_from_env({}) == LIMIT
    assert parsing.max_data_bytes_from_env({config.MAX_DATA_ENV: "10"}) == 10
    for bad in ("0", "-1", "ten"):
        with pytest.raises(ValueError, match=config.MAX_DATA_ENV):
            parsing.max_data_bytes_from_env({config.MAX_DATA_ENV: bad})

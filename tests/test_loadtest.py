"""``ray101 loadtest``: its guards, its figures and both clients, against the bare baseline.

The run against the real echo service is in test_echo.py, which already has
one running.
"""

from __future__ import annotations

import json
import shutil

import pytest

from jobs import loadtest
from tests.conftest import run_cli


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/",
        "http://10.0.0.1:8000/",
        "http://0.0.0.0:8000/",
        "https://127.0.0.1:8443/",
        "ftp://127.0.0.1/",
    ],
)
def test_refuses_urls_off_this_machine(url, capsys):
    assert loadtest.main(["--url", url, "--duration", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and len(err.splitlines()) == 1


def test_cli_refuses_a_remote_url_with_exit_2():
    done = run_cli("loadtest", "--url", "http://192.0.2.10:8000/", timeout=60)
    assert done.returncode == 2
    assert "loopback" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000/", "http://127.0.0.9/", "http://[::1]:8000/", "http://localhost/"],
)
def test_accepts_loopback_urls(url):
    assert loadtest.loopback_url(url) == url


@pytest.mark.parametrize(
    "argv",
    [
        ["--duration", "0"],
        ["--duration", "100000"],
        ["--connections", "100000"],
        ["--requests", "-5"],
        ["--duration", "1", "--requests", "5"],
        ["--rounds", "50"],
        ["--client", "curl"],
    ],
)
def test_bad_flags_exit_2(argv, capsys):
    assert loadtest.main(argv) == 2
    assert capsys.readouterr().err.startswith("error:")


def test_with_data_encodes_and_keeps_an_existing_query():
    assert loadtest.with_data("http://127.0.0.1:1", "a b&é") == (
        "http://127.0.0.1:1/?data=a%20b%26%C3%A9"
    )
    assert loadtest.with_data("http://127.0.0.1:1/?data=x", "y") == "http://127.0.0.1:1/?data=x"


def test_client_choice():
    assert loadtest.choose_client("python", False) == "python"
    assert loadtest.choose_client("auto", True) == "python"  # a request count needs Python
    expected = "wrk" if shutil.which("wrk") else "python"
    assert loadtest.choose_client("auto", False) == expected


def test_percentile_is_nearest_rank():
    values = list(range(1, 101))
    assert loadtest.percentile(values, 50) == 50
    assert loadtest.percentile(values, 95) == 95
    assert loadtest.percentile(values, 99) == 99
    assert loadtest.percentile([7.0], 99) == 7.0
    assert loadtest.percentile([], 50) == 0.0


def test_parse_wrk_output():
    figures = {
        "requests": 1000, "duration_us": 2_000_000, "non_2xx": 3, "connect": 0, "read": 1,
        "write": 0, "timeout": 2, "p50_us": 1500, "p95_us": 4000, "p99_us": 9000,
        "mean_us": 1800.5, "max_us": 12000,
    }  # fmt: skip
    stdout = "Running 2s test\n  10 threads\n" + loadtest.WRK_MARKER + json.dumps(figures) + "\n"
    m = loadtest.parse_wrk_output(stdout, "echo")
    assert (m.rps, m.p50_ms, m.p95_ms, m.p99_ms) == (500.0, 1.5, 4.0, 9.0)
    assert (m.non_2xx, m.socket_errors, m.errors) == (3, 3, 6)
    with pytest.raises(RuntimeError):
        loadtest.parse_wrk_output("no summary", "echo")


def test_report_gives_the_ratio():
    def m(target, rps, p99):
        return loadtest.Measurement(target, "wrk", 100, 1.0, rps, 1.0, 2.0, p99, 1.0, p99, 0, 0)

    args = loadtest.build_parser().parse_args(["--baseline", "--rounds", "3"])
    rounds = {
        "echo": [m("echo", 3000, 9.0), m("echo", 5000, 30.0), m("echo", 4000, 12.0)],
        "baseline": [m("baseline", 16000, 2.0)] * 3,
    }
    payload, lines = loadtest.report(args, "wrk", "http://127.0.0.1:1/", rounds)
    assert payload["summary"]["echo"]["rps"] == 4000  # the median round
    assert payload["summary"]["echo"]["p99_ms"] == 12.0
    assert payload["ratio"] == pytest.approx(0.25)
    assert any("25.0%" in line for line in lines)


@pytest.fixture(scope="module")
def baseline():
    with loadtest.baseline_server() as server:
        yield server


def test_python_client_counts_requests_and_errors(baseline):
    good = loadtest.run_python(
        loadtest.with_data(baseline.url, "Hello"),
        "baseline",
        connections=8,
        total_requests=400,
        expected=b"Received data: Hello",
    )
    assert (good.requests, good.errors) == (400, 0)
    assert 0 < good.p50_ms <= good.p95_ms <= good.p99_ms <= good.max_ms
    # No data: the baseline answers 400, which counts as an error.
    bad = loadtest.run_python(baseline.url, "baseline", connections=4, total_requests=50)
    assert (bad.requests, bad.non_2xx) == (50, 50)
    wrong = loadtest.run_python(
        loadtest.with_data(baseline.url, "Hello"), "baseline", 2, total_requests=20, expected=b"x"
    )
    assert wrong.wrong_body == 20


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_wrk_client(baseline):
    m = loadtest.run_wrk(loadtest.with_data(baseline.url, "Hello"), "baseline", 4, 1.0)
    assert m.requests > 0 and m.rps > 0
    assert m.errors == 0
    assert 0 < m.p50_ms <= m.p99_ms

"""The ray101 command as a user runs it: exit codes, one-line errors, JSON."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from jobs import cli as ray101
from jobs import registry
from tests.support import REPO_ROOT


def assert_usage_error(proc, *fragments: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (["run", "nope"], ["unknown workload", "retrieve"]),
        (["run"], ["name a workload"]),
        (["frobnicate"], ["unknown command"]),
        (["run", "retrieve", "--items", "0"], ["--items", "positive"]),
        (["run", "retrieve", "--delay", "-1"], ["--delay"]),
        (["run", "retrieve", "--delay", "soon"], ["--delay", "not a number"]),
        (["run", "dependencies", "--items", "-3"], ["--items"]),
        (["run", "retrieve", "--no-such-flag"], ["unrecognized"]),
        (["run", "all", "--only", "nope"], ["unknown workload"]),
        (["run", "retrieve", "--address", "ray://127.0.0.1"], ["port"]),
        (["wait"], ["ray101 wait", "data|bucket"]),
        (["data", "load", "--bogus"], ["ray101 data load", "unrecognized", "--bogus"]),
        (["cluster", "restart"], ["ray101 cluster", "restart"]),
        (["bucket", "create"], ["ray101 bucket create", "bucket"]),
        (["submit", "--no-such-flag"], ["ray101 submit", "unrecognized"]),
    ],
)
def test_bad_input_exits_2_with_one_line(cli, argv, fragments):
    assert_usage_error(cli(*argv, timeout=60), *fragments)


def _leaves(commands: ray101.Commands, words: tuple[str, ...] = ()):
    for word, add in commands.items():
        if isinstance(add, dict):
            yield from _leaves(add, (*words, word))
        else:
            yield (*words, word)


COMMAND_WORDS = list(_leaves(ray101.COMMANDS))


@pytest.mark.parametrize("words", COMMAND_WORDS, ids=" ".join)
def test_every_command_has_its_help(words, capsys):
    with pytest.raises(SystemExit) as done:
        ray101.main([*words, "--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: ray101 {' '.join(words)} ")


def test_help_lists_every_command(cli):
    proc = cli("--help", timeout=60)
    assert proc.returncode == 0, proc.stderr
    # `ray101 wait data|bucket [flags]` lists `wait data` and `wait bucket`.
    listed = [line.split()[1:] for line in proc.stdout.splitlines() if line.startswith("ray101 ")]
    for words in COMMAND_WORDS:
        assert any(
            all(w in shown.split("|") for w, shown in zip(words, line, strict=False))
            for line in listed
        ), words


def test_help_and_list_import_no_command_module():
    """A command's module is imported when the command runs: `ray101 --help` and
    `ray101 list` load neither Ray nor the MongoDB driver."""
    code = (
        "import contextlib, io, json, sys\n"
        "from jobs import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    cli.main(['list']); cli.main(['--help'])\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('ray', 'pymongo', 'jobs'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO_ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = json.loads(done.stdout)
    assert not [m for m in loaded if not m.startswith("jobs")], loaded
    assert set(loaded) <= {"jobs", "jobs.cli", "jobs.runtime", "jobs.runtime.command", "jobs.runtime.errors",
                           "jobs.runtime.flags",
                           "jobs.registry"}, loaded  # fmt: skip


def test_serve_port_with_from_manifest_is_refused_before_anything_starts(cli, tmp_path):
    """--port is the foreground server's: with --from-manifest (even of a file that is
    not there) it is one line and exit 2, and no server starts (it would block)."""
    missing = tmp_path / "no-such.yaml"
    proc = cli(
        "serve", "--port", "9000", "--from-manifest", str(missing),
        env={"RAY101_STATE_DIR": str(tmp_path)}, timeout=60,
    )  # fmt: skip
    assert_usage_error(proc, "ray101 serve: --port", "--from-manifest", "--http-port")
    assert proc.stdout == ""


def test_unreachable_address_fails_fast(cli):
    start = time.monotonic()
    proc = cli("run", "counter", "--address", "127.0.0.1:1", timeout=60)
    assert_usage_error(proc, "cannot reach Ray", "127.0.0.1:1")
    assert time.monotonic() - start < 20


def test_list_names_every_workload(cli):
    proc = cli("list")
    assert proc.returncode == 0
    assert [line.split()[0] for line in proc.stdout.splitlines()] == list(registry.WORKLOADS)


def test_module_entry_point_prints_one_json_object(cli):
    import subprocess
    import sys

    from tests.support import REPO_ROOT

    proc = subprocess.run(
        [sys.executable, "-m", "jobs.counter", "--json", "--num-cpus", "2"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["name"] == "counter" and data["ok"] is True
    assert data["result"] == [0, 1, 3, 6, 10]


def test_run_core_workloads_together_prints_a_table(cli):
    # The quick ones, in an order other than the registry's (run all --json runs them all).
    proc = cli("run", "all", "--only", "counter", "dag", timeout=180)
    assert proc.returncode == 0, proc.stderr
    header, rule, *rows = proc.stdout.strip().splitlines()
    assert header.split()[:3] == ["workload", "ok", "result"]
    assert [r.split()[0] for r in rows] == ["counter", "dag"]
    assert all(r.split()[1] == "yes" for r in rows)


@pytest.mark.slow
def test_run_all_json_is_all_ok(cli):
    proc = cli("run", "all", "--json", timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(proc.stdout)
    assert data["ok"] is True
    assert [w["name"] for w in data["workloads"]] == list(registry.WORKLOADS)
    by_name = {w["name"]: w for w in data["workloads"]}
    assert by_name["dependencies"]["result"] == 20
    assert by_name["counter"]["result"] == [0, 1, 3, 6, 10]

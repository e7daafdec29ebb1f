"""`ray101 wait data|bucket` and `ray101 bucket create`: what the RayJob submitter
pods and the bucket Job run (tests/deploy/test_manifests.py runs them as rendered,
against the MongoDB stand-in and a stub S3 endpoint), and the MinIO user of
`bucket create --minio-user`, against tests/minio_stub.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from jobs.command import EXIT_TERMINATED
from tests.minio_stub import minio_stub
from tests.support import REPO_ROOT


def ray101(*args: str, env: dict[str, str] | None = None, timeout: float = 60):
    return subprocess.run(
        [sys.executable, "-m", "jobs.cli", *args],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("wait", "data"), "the following arguments are required: --db"),
        (("wait", "data", "--db", "x", "--interval", "0"), "--interval"),
        (("wait", "bucket"), "the following arguments are required: bucket"),
        (("bucket", "create"), "the following arguments are required: bucket"),
        (("bucket", "create", "b", "--minio-users"), "unrecognized arguments: --minio-users"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args, message):
    result = ray101(*args, env={"MONGODB_URI": "mongodb://127.0.0.1:9/"})
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_wait_data_without_a_uri_is_a_usage_error():
    env = {k: v for k, v in os.environ.items() if k != "MONGODB_URI"}
    result = subprocess.run(
        [sys.executable, "-m", "jobs.cli", "wait", "data", "--db", "x"],
        cwd=REPO_ROOT,
        env={**env, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "error: set MONGODB_URI to the MongoDB to wait for"


ROOT = ("ray101", "notARealRootPassword0")
USER = {"MINIO_USER_ACCESS_KEY": "ray101-tune", "MINIO_USER_SECRET_KEY": "notARealTunePassword0"}


@pytest.fixture
def minio():
    with minio_stub(*ROOT) as (endpoint, state):
        state.env = {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": ROOT[0],
            "AWS_SECRET_ACCESS_KEY": ROOT[1],
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        yield state


@pytest.fixture
def s3(minio):
    return minio.env


def test_bucket_create_then_wait_bucket_returns(minio):
    created = ray101("bucket", "create", "ray101-tune", env=minio.env)
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "the bucket ray101-tune is there"
    assert minio.buckets == {"ray101-tune"}
    assert minio.admin_calls == []
    waited = ray101("wait", "bucket", "ray101-tune", "--interval", "0.1", env=minio.env)
    assert waited.returncode == 0, waited.stderr
    assert waited.stdout.strip() == "the bucket ray101-tune is there"


def test_minio_user_gets_its_bucket_only_and_a_rerun_converges(minio):
    from jobs.bucket_user import bucket_policy

    first = ray101("bucket", "create", "ray101-tune", "--minio-user", env={**minio.env, **USER})
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().splitlines() == [
        "the bucket ray101-tune is there",
        "the MinIO user ray101-tune may read and write ray101-tune only "
        "(policy ray101-tune-readwrite)",
    ]
    assert minio.users == {"ray101-tune": USER["MINIO_USER_SECRET_KEY"]}
    assert minio.user_policy == {"ray101-tune": "ray101-tune-readwrite"}
    assert minio.policies == {"ray101-tune-readwrite": bucket_policy("ray101-tune")}
    assert USER["MINIO_USER_SECRET_KEY"] not in first.stdout + first.stderr

    # The Job again, after the password changed in the Secret: the same
    # objects, the new secret key.
    again = {**USER, "MINIO_USER_SECRET_KEY": "notARealTunePassword1"}
    second = ray101("bucket", "create", "ray101-tune", "--minio-user", env={**minio.env, **again})
    assert second.returncode == 0, second.stderr
    assert minio.users == {"ray101-tune": "notARealTunePassword1"}
    assert minio.user_policy == {"ray101-tune": "ray101-tune-readwrite"}
    assert minio.buckets == {"ray101-tune"}


def test_the_bucket_policy_names_its_bucket_and_nothing_else():
    from jobs.bucket_user import bucket_policy

    policy = bucket_policy("ray101-tune")
    resources = {r for s in policy["Statement"] for r in s["Resource"]}
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert resources == {"arn:aws:s3:::ray101-tune", "arn:aws:s3:::ray101-tune/*"}
    assert {s["Effect"] for s in policy["Statement"]} == {"Allow"}
    assert all(a.startswith("s3:") and "*" not in a for a in actions), actions
    assert not actions & {"s3:CreateBucket", "s3:DeleteBucket", "s3:ListAllMyBuckets"}
    # What Tune's storage needs: list, read, write, multipart, delete.
    assert {"s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"} <= actions


@pytest.mark.parametrize(
    ("user", "message"),
    [
        ({}, "error: --minio-user needs MINIO_USER_ACCESS_KEY and MINIO_USER_SECRET_KEY set"),
        (
            {**USER, "MINIO_USER_SECRET_KEY": "short"},
            "error: MINIO_USER_SECRET_KEY must have 8 to 40 characters (MinIO's limit)",
        ),
    ],
)
def test_minio_user_without_usable_keys_is_a_usage_error(minio, user, message):
    env = {k: "" for k in USER} | user
    result = ray101("bucket", "create", "ray101-tune", "--minio-user", env={**minio.env, **env})
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == message
    assert minio.buckets == set() and minio.admin_calls == []


def test_a_refused_admin_call_fails_with_one_line_and_no_secret(minio):
    minio.admin_fails_with = 403
    result = ray101("bucket", "create", "ray101-tune", "--minio-user", env={**minio.env, **USER})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot make the MinIO user ray101-tune:")
    assert "403" in lines[0]
    output = result.stdout + result.stderr
    assert USER["MINIO_USER_SECRET_KEY"] not in output and ROOT[1] not in output


def test_admin_calls_signed_with_other_keys_are_refused(minio):
    """The stub takes admin calls from the root key only, as MinIO does: the
    Tune user's own keys cannot make users."""
    env = {**minio.env, "AWS_ACCESS_KEY_ID": USER["MINIO_USER_ACCESS_KEY"], **USER}
    result = ray101("bucket", "create", "ray101-tune", "--minio-user", env=env)
    assert result.returncode == 1
    assert "403" in result.stderr and minio.users == {}


def test_sigterm_stops_the_wait_with_one_line(s3):
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobs.cli", "wait", "bucket", "missing", "--interval", "0.2"],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **s3},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        first = proc.stdout.readline()
        assert "waiting for the bucket missing: not created yet" in first
        assert time.monotonic() < deadline
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == EXIT_TERMINATED
    assert err.strip().splitlines() == ["terminated (SIGTERM): stopped"]

"""`ray101 wait data|bucket` and `ray101 bucket create`: what the RayJob submitter
pods and the bucket Job run (tests/deploy/test_manifests_waits.py runs them as rendered,
against the MongoDB stand-in and a stub S3 endpoint), and the S3 identity of
`bucket create --bucket-user`, against a real SeaweedFS (tests/servers/seaweedfs.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from jobs.runtime.command import EXIT_TERMINATED
from tests.servers.seaweedfs import seaweedfs_server
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
        (("bucket", "create", "b", "--bucket-users"), "unrecognized arguments: --bucket-users"),
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


USER = {"BUCKET_USER_ACCESS_KEY": "ray101tune", "BUCKET_USER_SECRET_KEY": "notARealTunePassword0"}
BUCKET = "ray101-tune"


@pytest.fixture(scope="module")
def store():
    """One real SeaweedFS for the module; each test uses buckets of its own."""
    with seaweedfs_server() as server:
        yield server


@pytest.fixture
def s3(store):
    return store.env


def user_fs(store, keys: tuple[str, str]):
    """pyarrow's S3 client (Tune's) signing with ``keys``."""
    import pyarrow.fs as pafs

    return pafs.S3FileSystem(
        access_key=keys[0],
        secret_key=keys[1],
        endpoint_override=store.endpoint,
        region="us-east-1",
        allow_bucket_creation=True,
    )


def buckets(store) -> set[str]:
    import pyarrow.fs as pafs

    admin = user_fs(store, (store.access_key, store.secret_key))
    return {i.path for i in admin.get_file_info(pafs.FileSelector("/"))}


def refused(action) -> bool:
    """Whether the store refused ``action`` for permissions (not some other failure)."""
    try:
        action()
    except OSError as exc:
        text = str(exc).upper().replace("_", "")
        assert "ACCESSDENIED" in text or "403" in text, exc
        return True
    return False


def test_bucket_create_waits_for_the_store_then_says_it_did_not_answer():
    # Nothing listens there: the Job waits (the store starts beside it on an
    # install), then fails in one line instead of at the first refusal.
    from jobs.runtime.ports import free_port

    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
        "AWS_ACCESS_KEY_ID": "admin",
        "AWS_SECRET_ACCESS_KEY": "notARealPassword",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    started = time.monotonic()
    result = ray101("bucket", "create", "b", "--wait", "3", env=env)
    took = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    assert 3 <= took < 60, took
    assert result.stdout.startswith("waiting for the S3 store at http://127.0.0.1:")
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: the S3 store at http://127.0.0.1:") and "within 3 s" in line


def test_bucket_create_then_wait_bucket_returns(store):
    created = ray101("bucket", "create", "plain-bucket", env=store.env)
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "the bucket plain-bucket is there"
    assert "plain-bucket" in buckets(store)
    waited = ray101("wait", "bucket", "plain-bucket", "--interval", "0.1", env=store.env)
    assert waited.returncode == 0, waited.stderr
    assert waited.stdout.strip() == "the bucket plain-bucket is there"


def test_the_bucket_user_gets_its_bucket_only_and_a_rerun_converges(store):
    """The Job's command on the real store: the identity it makes writes and
    deletes in its bucket and is refused everything else; a re-run after the
    password changed leaves the new secret as the identity's only key."""
    import pyarrow.fs as pafs

    from jobs.commands import bucket
    from jobs.commands.bucket import Store

    first = ray101("bucket", "create", BUCKET, "--bucket-user", env={**store.env, **USER})
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().splitlines() == [
        f"the bucket {BUCKET} is there",
        f"the identity {BUCKET}-user (access key ray101tune) may read and write {BUCKET} only "
        f"(policy {BUCKET}-readwrite)",
    ]
    assert USER["BUCKET_USER_SECRET_KEY"] not in first.stdout + first.stderr
    ray101("bucket", "create", "someone-elses", env=store.env)  # made with the admin keys

    keys = (USER["BUCKET_USER_ACCESS_KEY"], USER["BUCKET_USER_SECRET_KEY"])
    # The tune job's wait-for-bucket, with the identity's keys as its pod has them.
    tune_env = {**store.env, "AWS_ACCESS_KEY_ID": keys[0], "AWS_SECRET_ACCESS_KEY": keys[1]}
    waited = ray101("wait", "bucket", BUCKET, "--interval", "0.1", env=tune_env)
    assert waited.returncode == 0, waited.stderr
    tune = user_fs(store, keys)
    with tune.open_output_stream(f"{BUCKET}/trial/checkpoint_000000/model.pt") as out:
        out.write(b"weights")
    listed = tune.get_file_info(pafs.FileSelector(BUCKET, recursive=True))
    assert f"{BUCKET}/trial/checkpoint_000000/model.pt" in {i.path for i in listed}
    with tune.open_input_stream(f"{BUCKET}/trial/checkpoint_000000/model.pt") as got:
        assert got.read() == b"weights"
    tune.delete_file(f"{BUCKET}/trial/checkpoint_000000/model.pt")

    assert refused(lambda: tune.create_dir("another-bucket"))
    assert "another-bucket" not in buckets(store)
    # ListBuckets answers with the buckets the identity may use: its own only.
    assert {i.path for i in tune.get_file_info(pafs.FileSelector("/"))} <= {BUCKET}
    assert refused(lambda: tune.get_file_info(pafs.FileSelector("someone-elses")))
    assert refused(lambda: tune.open_output_stream("someone-elses/x").write(b"x"))
    # No IAM: it cannot make users nor mint keys for itself.
    iam = Store(store.endpoint, keys)
    for action, params in (
        ("CreateUser", {"UserName": "intruder"}),
        ("CreateAccessKey", {"UserName": f"{BUCKET}-user"}),
        (
            "PutUserPolicy",
            {"UserName": f"{BUCKET}-user", "PolicyName": "p", "PolicyDocument": "{}"},
        ),
    ):
        with pytest.raises(Exception, match="AccessDenied"):
            iam.iam(action, **params)

    # The Job again with the same keys: the key signs for the bucket, so it is kept.
    admin = Store(store.endpoint, (store.access_key, store.secret_key))
    assert bucket._key_works(admin, BUCKET, keys)
    same = ray101("bucket", "create", BUCKET, "--bucket-user", env={**store.env, **USER})
    assert same.returncode == 0, same.stderr

    # Again after the password changed in the Secret: the new secret works,
    # the old one no longer does, and the identity has one key.
    again = {**USER, "BUCKET_USER_SECRET_KEY": "notARealTunePassword1"}
    second = ray101("bucket", "create", BUCKET, "--bucket-user", env={**store.env, **again})
    assert second.returncode == 0, second.stderr
    new = user_fs(store, (keys[0], again["BUCKET_USER_SECRET_KEY"]))
    assert new.get_file_info(BUCKET).type == pafs.FileType.Directory
    with pytest.raises(OSError):
        tune.get_file_info(pafs.FileSelector(BUCKET))
    listed = admin.iam("ListAccessKeys", UserName=f"{BUCKET}-user")
    assert [e.text for e in listed.iter() if e.tag.endswith("AccessKeyId")] == [keys[0]]


def test_the_bucket_policy_names_its_bucket_and_nothing_else():
    from jobs.commands.bucket import bucket_policy

    policy = bucket_policy(BUCKET)
    resources = {r for s in policy["Statement"] for r in s["Resource"]}
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert resources == {f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"}
    assert {s["Effect"] for s in policy["Statement"]} == {"Allow"}
    assert all(a.startswith("s3:") and "*" not in a for a in actions), actions
    assert not actions & {"s3:CreateBucket", "s3:DeleteBucket", "s3:ListAllMyBuckets"}
    # What Tune's storage needs: list, read, write, multipart, delete.
    assert {"s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"} <= actions


@pytest.mark.parametrize(
    ("user", "message"),
    [
        ({}, "error: --bucket-user needs BUCKET_USER_ACCESS_KEY and BUCKET_USER_SECRET_KEY set"),
        (
            {**USER, "BUCKET_USER_SECRET_KEY": "short"},
            "error: BUCKET_USER_SECRET_KEY must have 8 to 128 characters (SeaweedFS's limit)",
        ),
        (
            {**USER, "BUCKET_USER_ACCESS_KEY": "ray101-tune"},
            "error: BUCKET_USER_ACCESS_KEY must be 4 to 128 letters and digits (SeaweedFS's limit)",
        ),
    ],
)
def test_bucket_user_without_usable_keys_is_a_usage_error(store, user, message):
    env = {k: "" for k in USER} | user
    result = ray101("bucket", "create", "unused-bucket", "--bucket-user", env={**store.env, **env})
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == message
    assert "unused-bucket" not in buckets(store)


def test_a_refused_iam_call_fails_with_one_line_and_no_secret(store):
    """Signed with keys that are not the admin's (the Tune identity's own, on a
    bucket it may use): the store refuses the IAM call; one line, no secret."""
    user = {**USER, "BUCKET_USER_ACCESS_KEY": "refusaluser"}
    made = ray101("bucket", "create", "refusal-bucket", "--bucket-user", env={**store.env, **user})
    assert made.returncode == 0, made.stderr
    env = {
        **store.env,
        "AWS_ACCESS_KEY_ID": user["BUCKET_USER_ACCESS_KEY"],
        "AWS_SECRET_ACCESS_KEY": user["BUCKET_USER_SECRET_KEY"],
        **user,
    }
    result = ray101("bucket", "create", "refusal-bucket", "--bucket-user", env=env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(
        "error: cannot make the identity refusal-bucket-user: CreateUser AccessDenied"
    )
    output = result.stdout + result.stderr
    assert USER["BUCKET_USER_SECRET_KEY"] not in output and store.secret_key not in output


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

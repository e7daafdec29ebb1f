"""The S3 store against a real SeaweedFS (tests/servers/seaweedfs.py): the
tests run the release and the settings the chart deploys, the e2e bucket-scope
probe judges the Tune identity's keys right on it, and Tune checkpoints to
s3:// there with those keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.e2e import checks
from tests.servers.seaweedfs import S3_FLAGS, seaweedfs_server, weed_version
from tools import chart
from tools.manifests import render

BUCKET = "ray101-tune"
TUNE_KEYS = ("ray101tune", "notARealTunePassword0")


@pytest.fixture(scope="module")
def store():
    """A real SeaweedFS with the bucket and the Tune identity the bucket Job makes."""
    with seaweedfs_server() as server:
        env = {
            **os.environ,
            **server.env,
            "BUCKET_USER_ACCESS_KEY": TUNE_KEYS[0],
            "BUCKET_USER_SECRET_KEY": TUNE_KEYS[1],
        }
        done = subprocess.run(
            [sys.executable, "-m", "jobs.cli", "bucket", "create", BUCKET, "--bucket-user"],
            cwd=chart.REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        yield server


def test_the_image_is_the_release_the_tests_build():
    """versions.env's image tag is `weed version` of the module the tests build."""
    tag = chart.versions()["SEAWEEDFS_IMAGE"].split("@")[0].rsplit(":", 1)[1]
    assert tag == weed_version()


def test_the_tests_run_the_charts_store_settings():
    rendered = render.render_chart("helm:default", {})
    (store,) = [
        o for o in rendered.of_kind("Deployment") if o["metadata"]["name"].endswith("-seaweedfs")
    ]
    args = store["spec"]["template"]["spec"]["containers"][0]["args"]
    assert set(S3_FLAGS) <= set(args), sorted(set(S3_FLAGS) - set(args))


def _scope(store, keys: tuple[str, str]) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", checks.BUCKET_SCOPE_SCRIPT, store.endpoint, BUCKET],
        env={
            "PATH": os.environ["PATH"],
            "AWS_ACCESS_KEY_ID": keys[0],
            "AWS_SECRET_ACCESS_KEY": keys[1],
            "AWS_EC2_METADATA_DISABLED": "true",
        },
        cwd=chart.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_e2e_scope_probe_passes_the_tune_keys_and_catches_the_admin_keys(store):
    """tests/e2e's probe, run here against the real store: the Tune identity's
    keys are what a healthy cluster gives; the admin's are caught."""
    assert checks.bucket_scope_problems(_scope(store, TUNE_KEYS)) == []
    admin = checks.bucket_scope_problems(_scope(store, (store.access_key, store.secret_key)))
    assert admin == [
        "the Ray pods' S3 keys may create another bucket: they are not limited to the bucket",
        "the Ray pods' S3 keys may see another bucket: they are not limited to the bucket",
    ]


def test_tune_checkpoints_to_the_store_with_the_tune_keys(store, tmp_path):
    """`python -m jobs.tune` (the tune RayJob's entrypoint) on a local Ray,
    writing to s3:// on the real store as the Tune identity, as the Ray pods
    do: its trials' checkpoints land in the bucket."""
    import pyarrow.fs as pafs

    prefix = f"{BUCKET}/ray101"
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": store.endpoint,
        "AWS_ACCESS_KEY_ID": TUNE_KEYS[0],
        "AWS_SECRET_ACCESS_KEY": TUNE_KEYS[1],
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "RAY101_STORAGE_PATH": f"s3://{prefix}",
        "RAY_ADDRESS": "local",
    }
    args = ["--num-samples", "1", "--max-epochs", "1", "--samples", "200", "--name", "s3-store"]
    done = subprocess.run(
        [sys.executable, "-m", "jobs.tune", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    s3 = pafs.S3FileSystem(
        access_key=TUNE_KEYS[0],
        secret_key=TUNE_KEYS[1],
        endpoint_override=store.endpoint,
        region="us-east-1",
    )
    keys = [
        i.path
        for i in s3.get_file_info(pafs.FileSelector(f"{prefix}/s3-store", recursive=True))
        if i.type == pafs.FileType.File
    ]
    assert checks.checkpoint_problems(keys, f"{prefix}/s3-store") == [], keys


def test_a_missing_weed_fails_naming_the_build_script(monkeypatch, tmp_path):
    """Without the built binary the fixture fails (never skips) and says how to build it."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with (
        pytest.raises(pytest.fail.Exception, match="run scripts/build-seaweedfs"),
        seaweedfs_server(),
    ):
        pass

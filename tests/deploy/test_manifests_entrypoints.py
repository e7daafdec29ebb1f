"""What the pods run, imported by the project's Python: the entrypoints' modules
and flags, `python -m jobs.cli` commands, serveConfigV2's import path, and the
RayService serving with the settings `ray101 serve` ships."""

from __future__ import annotations

import copy

import pytest

from tests.deploy.helpers import _obj, _report
from tools.manifests import checks
from tools.manifests.model import Rendered


def test_entrypoints_commands_and_serve_application_import(rendered):
    """What the pods run: `python -m jobs.<module>` with its flags, `ray101 data
    load`, and serveConfigV2's jobs.echo:app, imported by the project's Python."""
    problems = list(checks.check_imports(list(rendered.values())))
    assert not problems, _report(problems)


ECHO_FIXTURE = """
from ray import serve


@serve.deployment(name="Echo")
class Echo:
    async def __call__(self, request):
        return f"Received data: {request.query_params['data']}"


app = Echo.bind()
NOT_AN_APP = 42
"""


def test_import_probe_catches_wrong_import_paths_modules_and_flags(rendered, tmp_path):
    """Runs against a stand-in Serve module so it does not depend on the jobs/echo package."""
    (tmp_path / "echo_fixture.py").write_text(ECHO_FIXTURE)
    base = rendered["helm:default"]
    service = _obj(base, "RayService", "ray101-echo")
    objects = []
    for name, import_path, deployment in [
        ("good", "echo_fixture:app", "Echo"),
        ("no-attr", "echo_fixture:missing", "Echo"),
        ("no-module", "jobs.ecoh:app", "Echo"),
        ("not-app", "echo_fixture:NOT_AN_APP", "Echo"),
        ("no-deployment", "echo_fixture:app", "Echoo"),
    ]:
        obj = copy.deepcopy(service)
        obj["metadata"]["name"] = f"echo-{name}"
        obj["spec"]["serveConfigV2"] = (
            obj["spec"]["serveConfigV2"]
            .replace("jobs.echo:app", import_path)
            .replace("name: Echo", f"name: {deployment}")
        )
        objects.append(obj)
    for name, entrypoint in [
        ("typo-module", "python -m jobs.retreive"),
        ("typo-flag", "python -m jobs.dag --bogus"),
    ]:
        job = copy.deepcopy(_obj(base, "RayJob", "ray101-dag"))
        job["metadata"]["name"] = f"ray101-{name}"
        job["spec"]["entrypoint"] = entrypoint
        objects.append(job)
    problems = list(
        checks.check_imports([Rendered("t", objects, "helm")], sys_path=[str(tmp_path)])
    )
    by_name = {p.name: p for p in problems}
    assert "echo-good" not in by_name, _report(problems)
    assert set(by_name) == {
        "echo-no-attr",
        "echo-no-module",
        "echo-not-app",
        "echo-no-deployment",
        "ray101-typo-module",
        "ray101-typo-flag",
    }, _report(problems)
    import_path = "spec.serveConfigV2.applications[0].import_path"
    assert by_name["echo-no-attr"].field == import_path
    assert "has no attribute 'missing'" in by_name["echo-no-attr"].message
    assert by_name["echo-no-module"].field == import_path
    assert "No module named 'jobs.ecoh'" in by_name["echo-no-module"].message
    assert "not a Serve application" in by_name["echo-not-app"].message
    assert (
        by_name["echo-no-deployment"].field
        == "spec.serveConfigV2.applications[0].deployments[0].name"
    )
    assert by_name["ray101-typo-module"].field == "spec.entrypoint"
    assert "No module named 'jobs.retreive'" in by_name["ray101-typo-module"].message
    assert "--bogus" in by_name["ray101-typo-flag"].message


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["wait", "data", "--db", "sample_mflix", "--interval", "1"], None),
        (["bucket", "create", "ray101-tune", "--bucket-user"], None),
        (["run", "retrieve", "--items", "3"], None),
        (["wait", "data", "--dbb", "sample_mflix"], "--dbb"),
        (["wait", "nothing"], "'nothing'"),
        (["run", "retrieve", "--itemz", "3"], "--itemz"),
        (["launch"], "not a ray101 command"),
    ],
)
def test_the_import_probe_parses_jobs_cli_commands(argv, message):
    """`python -m jobs.cli …` in a pod: the command, its module and its flags."""
    from tools.manifests.probe import check_command

    result = check_command(argv)
    if message is None:
        assert result == {"ok": True}
    else:
        assert not result["ok"] and message in result["error"], result


@pytest.mark.parametrize("source", ["helm:default", "helm:kind", "helm:gpu", "kustomize:kind"])
def test_rayservice_uses_the_echo_settings_ray101_serve_measured(source, rendered):
    """The RayService serves with what `ray101 serve` ships: the same speed
    environment on every Ray container and the same per-replica options."""
    import yaml

    from jobs import echo

    r = rendered[source]
    service = next(o for o in r.objects if o["kind"] == "RayService")
    config = yaml.safe_load(service["spec"]["serveConfigV2"])
    (app,) = config["applications"]
    assert app["import_path"] == echo.IMPORT_PATH
    (deployment,) = app["deployments"]
    assert deployment["name"] == echo.DEPLOYMENT_NAME
    for key in ("max_ongoing_requests", "ray_actor_options", "logging_config"):
        assert deployment[key] == echo.DEPLOYMENT_OPTIONS[key], key
    cluster = service["spec"]["rayClusterConfig"]
    pods = [cluster["headGroupSpec"], *cluster.get("workerGroupSpecs", [])]
    for pod in pods:
        for container in pod["template"]["spec"]["containers"]:
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            assert echo.SERVE_ENV.items() <= env.items(), container["name"]

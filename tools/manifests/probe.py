"""Runs in a separate Python (the project's .venv) to import what the manifests
name, as the Ray image will: RayJob entrypoint modules (and parse their
arguments), `python -m jobs.cli` commands, and Serve applications.

Reads a JSON request on stdin, writes a JSON answer on stdout:

    {"modules": [{"module": "jobs.dag", "args": []}],
     "commands": [["data", "load", "--db", "sample_mflix"]],
     "serve": [{"config": "<serveConfigV2 text>"}]}
"""

from __future__ import annotations

import importlib
import json
import sys
import traceback
from typing import Any


def _problem(error: str, field: str | None = None) -> dict[str, Any]:
    """What a probe reports when something fails: the error, and the field it is about."""
    return (
        {"ok": False, "error": error}
        if field is None
        else {"ok": False, "field": field, "error": error}
    )


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def check_module(module: str, args: list[str]) -> dict[str, Any]:
    """`python -m <module> ARGS`: what it calls must import, and a workload's
    parser (a package's is in the module its ``__main__.py`` imports ``main``
    from) must accept ARGS."""
    try:
        from jobs.runtime import runner
        from jobs.runtime.errors import UsageError
        from tools.python_main import main_of
    except BaseException as exc:  # noqa: BLE001
        return _problem(f"cannot import the project's runner: {_short(exc)}")
    try:
        main = main_of(module)
    except UsageError as exc:  # no main: nothing would run
        return _problem(f"{exc}: it would do nothing")
    except BaseException as exc:  # noqa: BLE001 - any import failure is the finding
        return _problem(f"cannot import {module}: {_short(exc)}")
    mod = sys.modules[main.__module__]
    # Workload modules share jobs.runtime.runner's parser: check the flags the manifest passes.
    if hasattr(mod, "run") and hasattr(mod, "NAME"):
        try:
            runner.build_parser(mod).parse_args(args)
        except UsageError as exc:
            return _problem(f"{module} rejects its arguments {args}: {exc}")
        except SystemExit as exc:
            return _problem(f"{module} exits on its arguments {args} (code {exc.code})")
        except BaseException as exc:  # noqa: BLE001
            return _problem(f"{module}: parsing {args} failed: {_short(exc)}")
    return {"ok": True}


def check_command(argv: list[str]) -> dict[str, Any]:
    """`python -m jobs.cli <argv>`: the command must exist, its module import and its
    flags parse (for `run NAME`, the workload's flags)."""
    try:
        from jobs import cli
        from jobs.runtime.errors import UsageError
    except BaseException as exc:  # noqa: BLE001
        return _problem(f"cannot import jobs.cli: {_short(exc)}")
    if argv[:1] and argv[0] not in cli.COMMANDS:
        return _problem(f"`ray101 {' '.join(argv[:2])}` is not a ray101 command")
    try:
        cli.build_parser().parse_args(argv)  # imports the command's module
        if argv[:1] == ["run"] and len(argv) > 1:
            from jobs.commands.run import parser_for

            parser_for(argv[1]).parse_args(argv[2:])
    except UsageError as exc:
        return _problem(f"`ray101 {' '.join(argv)}` is refused: {exc}")
    except SystemExit as exc:
        return _problem(f"`ray101 {' '.join(argv)}` exits (code {exc.code})")
    except BaseException as exc:  # noqa: BLE001 - the command's module does not import
        return _problem(f"`ray101 {' '.join(argv[:2])}`: {_short(exc)}")
    return {"ok": True}


def _deployment_names(app: Any) -> set[str]:
    """Names of every deployment bound into a Serve application."""
    from ray.serve import Application

    names: set[str] = set()
    stack = [app]
    while stack:
        current = stack.pop()
        bound = current._bound_deployment
        names.add(bound.name)
        for value in [*bound.init_args, *bound.init_kwargs.values()]:
            if isinstance(value, Application):
                stack.append(value)
    return names


def check_serve(config_text: str) -> dict[str, Any]:
    """Validate serveConfigV2 with Serve's own schema and build each application."""
    import yaml

    try:
        config = yaml.safe_load(config_text)
    except yaml.YAMLError as exc:
        return _problem(f"not YAML: {exc}", "")
    try:
        from ray.serve.schema import ServeDeploySchema

        ServeDeploySchema.model_validate(config) if hasattr(
            ServeDeploySchema, "model_validate"
        ) else ServeDeploySchema.parse_obj(config)
    except BaseException as exc:  # noqa: BLE001
        return _problem(f"rejected by Ray Serve's schema: {_short(exc)}", "")
    from ray.serve import Application

    for i, spec in enumerate(config.get("applications") or []):
        field = f"applications[{i}].import_path"
        import_path = spec.get("import_path", "")
        module_name, sep, attr = import_path.partition(":")
        if not sep:
            module_name, _, attr = import_path.rpartition(".")
        try:
            module = importlib.import_module(module_name)
        except BaseException as exc:  # noqa: BLE001
            return _problem(f"{import_path!r}: cannot import {module_name}: {_short(exc)}", field)
        if not hasattr(module, attr):
            return _problem(f"{import_path!r}: {module_name} has no attribute {attr!r}", field)
        app = getattr(module, attr)
        if callable(app) and not isinstance(app, Application):
            # An application builder: Serve calls it with the config's args.
            try:
                app = app(spec.get("args") or {})
            except BaseException as exc:  # noqa: BLE001
                return _problem(f"{import_path!r}: builder failed: {_short(exc)}", field)
        if not isinstance(app, Application):
            return _problem(
                f"{import_path!r} is a {type(app).__name__}, not a Serve application (deployment.bind())",
                field,
            )
        names = _deployment_names(app)
        for j, deployment in enumerate(spec.get("deployments") or []):
            if deployment.get("name") not in names:
                return _problem(
                    f"{import_path!r} has no deployment {deployment.get('name')!r} "
                    f"(it has {', '.join(sorted(names))})",
                    f"applications[{i}].deployments[{j}].name",
                )
    return {"ok": True}


def main() -> int:
    request = json.load(sys.stdin)
    sys.path[:0] = request.get("sys_path", [])
    answer: dict[str, list] = {"modules": [], "commands": [], "serve": []}
    # Whatever the imported modules print must not corrupt the JSON answer.
    out, sys.stdout = sys.stdout, sys.stderr
    for item in request.get("modules", []):
        answer["modules"].append(check_module(item["module"], item.get("args", [])))
    for argv in request.get("commands", []):
        answer["commands"].append(check_command(argv))
    for item in request.get("serve", []):
        try:
            answer["serve"].append(check_serve(item["config"]))
        except BaseException:  # noqa: BLE001 - report, do not crash the whole probe
            answer["serve"].append(_problem(traceback.format_exc(limit=2), ""))
    json.dump(answer, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

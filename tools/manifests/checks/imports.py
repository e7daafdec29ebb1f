"""What the pods run imports: RayJob modules and their flags, ray101 commands, Serve applications (in a child Python, as the image would)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

from tools.chart import REPO_ROOT
from tools.manifests.checks.lookups import (
    container_argv,
    dig,
    parse_entrypoint,
)
from tools.manifests.model import (
    Obj,
    Problem,
    Rendered,
    containers,
    pod_templates,
)


def probe_python() -> str:
    """The project's virtualenv Python: what the image has installed."""
    venv = REPO_ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def check_imports(
    renderings: list[Rendered], sys_path: list[str] | None = None, timeout: float = 300
) -> Iterator[Problem]:
    """Import every RayJob entrypoint module (and parse its flags), every
    `python -m jobs.cli` command and every Serve application, in one child
    Python, as the Ray image would."""
    modules: dict[tuple[str, tuple[str, ...]], list[tuple[Rendered, Obj, str]]] = {}
    commands: dict[tuple[str, ...], list[tuple[Rendered, Obj, str]]] = {}
    serve: dict[str, list[tuple[Rendered, Obj, str]]] = {}
    for r in renderings:
        for obj in r.all_objects():
            if obj.get("kind") == "RayJob":
                parsed = parse_entrypoint(dig(obj, "spec.entrypoint") or "")
                if parsed:
                    modules.setdefault((parsed[0], tuple(parsed[1])), []).append(
                        (r, obj, "spec.entrypoint")
                    )
            if obj.get("kind") == "RayService":
                config = dig(obj, "spec.serveConfigV2") or ""
                serve.setdefault(config, []).append((r, obj, "spec.serveConfigV2"))
            for tpl in pod_templates(obj):
                for path, c in containers(tpl):
                    argv = container_argv(c)
                    if len(argv) >= 3 and argv[0] in ("python", "python3") and argv[1] == "-m":
                        if argv[2] == "jobs.cli":
                            commands.setdefault(tuple(argv[3:]), []).append(
                                (r, obj, f"{path}.command")
                            )
                        else:
                            modules.setdefault((argv[2], tuple(argv[3:])), []).append(
                                (r, obj, f"{path}.command")
                            )
    request = {
        "sys_path": sys_path or [],
        "modules": [{"module": m, "args": list(a)} for m, a in modules],
        "commands": [list(c) for c in commands],
        "serve": [{"config": c} for c in serve],
    }
    proc = subprocess.run(
        [probe_python(), "-m", "tools.manifests.probe"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=timeout,
    )
    if proc.returncode != 0:
        yield Problem(
            "imports", "", "", "", f"the import probe failed: {proc.stderr.strip()[-2000:]}"
        )
        return
    answer = json.loads(proc.stdout)
    for (_key, users), result in zip(modules.items(), answer["modules"], strict=True):
        if not result["ok"]:
            yield from [r.problem(obj, field, result["error"]) for r, obj, field in users]
    for (_key, users), result in zip(commands.items(), answer["commands"], strict=True):
        if not result["ok"]:
            yield from [r.problem(obj, field, result["error"]) for r, obj, field in users]
    for (_key, users), result in zip(serve.items(), answer["serve"], strict=True):
        if not result["ok"]:
            suffix = f".{result['field']}" if result.get("field") else ""
            yield from [
                r.problem(obj, f"{field}{suffix}", result["error"]) for r, obj, field in users
            ]

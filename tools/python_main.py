"""What ``python -m MODULE`` calls, found without running it: the docs checker
reaches a command's parser through it, the manifest probe a RayJob
entrypoint's workload module."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Callable
from pathlib import Path

from jobs.runtime.errors import UsageError


def main_of(module_name: str) -> Callable[[list[str]], int]:
    """What ``python -m MODULE`` calls: the module's ``main``, or for a package the
    ``main`` its ``__main__.py`` imports (read, not run: it would run the command)."""
    module = importlib.import_module(module_name)
    if hasattr(module, "main"):
        return module.main
    main_file = Path(module.__file__ or "").with_name("__main__.py")
    if not main_file.exists():
        raise UsageError(f"python -m {module_name}: the module has no main")
    for node in ast.walk(ast.parse(main_file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and any(a.name == "main" for a in node.names):
            return importlib.import_module(node.module or "").main
    raise UsageError(f"python -m {module_name}: its __main__.py imports no main")

"""Each documented command against the code: ray101, python -m jobs.…, scripts/…, make."""

from __future__ import annotations

import argparse
import ast
import re
from dataclasses import dataclass
from pathlib import Path

from jobs.runtime.errors import UsageError
from tools.docs_check import parsers
from tools.docs_check.extract import Command

# A word that stands for a value the reader fills in: NAME, FILE, <workload>, $VAR, jobs.….
PLACEHOLDER = re.compile(r"^([A-Z][A-Z0-9_]*|.*[<>].*|\$.*|\{.*\}|.*(…|\.\.\.).*)$")
# Scripts that pass their arguments to a ray101 command: checked as that command.
WRAPPERS = {
    "scripts/local-cluster": ("cluster",),
    "scripts/loadtest": ("loadtest",),
    "scripts/submit": ("run",),
}
ALIASES = {"scripts/local-cluster": {"start": "up", "stop": "down"}}
MAKE_TARGET = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]*)\s*:(?![=:])", re.MULTILINE)
MAKE_HELP = re.compile(r"^([A-Za-z0-9_-]+):.*## ", re.MULTILINE)
FLAG = re.compile(r"(?<![\w/.-])(--?[A-Za-z][\w-]*)")
CASE_PATTERN = re.compile(
    r"^\s*((?:-[-\w]+|\"\"|\*|-\?\*|-\*)(?:\s*\|\s*-[-\w]+)*)\)", re.MULTILINE
)


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    command: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.command}: {self.message}"


def _takes_value(action: argparse.Action) -> int | str:
    if action.nargs in (None, 1):
        return 0 if isinstance(action, argparse._StoreConstAction) else 1
    return action.nargs  # 0, "?", "+", "*", N


def flag_problems(parser: argparse.ArgumentParser, words: list[str]) -> list[str]:
    """The words the parser would reject as flags or subcommands (prefixes of a
    flag are not accepted: a page spells a flag out)."""
    problems, i, seen = [], 0, set()
    while i < len(words):
        word = words[i]
        i += 1
        if word == "--":
            break
        if word.startswith("-") and len(word) > 1 and not re.match(r"^-\d", word):
            name = word.split("=", 1)[0]
            action = parser._option_string_actions.get(name)
            if action is None:
                problems.append(f"no flag {name} (see {parser.prog} --help)")
                if "=" not in word and i < len(words) and not words[i].startswith("-"):
                    i += 1  # its value, as far as can be told
                continue
            seen.add(action.dest)
            nargs = _takes_value(action) if "=" not in word else 0
            if nargs in ("+", "*"):
                while i < len(words) and not words[i].startswith("-"):
                    i += 1
            elif nargs == "?":
                i += 1 if i < len(words) and not words[i].startswith("-") else 0
            elif isinstance(nargs, int):
                i += nargs
            continue
        positional = next(
            (a for a in parser._actions if not a.option_strings and a.dest not in seen), None
        )
        if positional is None:
            if not PLACEHOLDER.match(word):
                problems.append(f"{parser.prog} takes no argument {word!r}")
            continue
        seen.add(positional.dest)
        if isinstance(positional, argparse._SubParsersAction):
            if PLACEHOLDER.match(word):
                break
            choices = word.split("|")
            wrong = [c for c in choices if c not in positional.choices]
            if wrong:
                known = ", ".join(positional.choices)
                problems.append(f"no subcommand {wrong[0]!r} (one of: {known})")
                break
            parser, seen = positional.choices[choices[0]], set()
        elif positional.nargs == argparse.REMAINDER:
            if parser.prog == "ray101 submit" and "from_manifest" not in seen:
                problems += ray101_problems(["run", *words[i - 1 :]])
            break
    return problems


def ray101_problems(argv: list[str]) -> list[str]:
    if argv[:1] in (["-h"], ["--help"], ["help"]):
        return []
    if argv[:1] == ["run"] and len(argv) > 1 and PLACEHOLDER.match(argv[1]):
        argv = ["run", "retrieve", *argv[2:]]  # `ray101 run NAME --help`: the common flags
    alternatives = argv[1].split("|") if len(argv) > 1 and "|" in argv[1] else None
    if alternatives:  # ray101 wait data|bucket: each one
        return [p for alt in alternatives for p in ray101_problems([argv[0], alt, *argv[2:]])]
    try:
        parser, rest = parsers.ray101(argv)
    except UsageError as exc:
        return [str(exc)]
    return flag_problems(parser, rest)


def python_problems(words: list[str]) -> list[str]:
    module = words[2]
    if PLACEHOLDER.match(module.removeprefix("jobs.")):
        return []
    if module == "jobs.cli":
        return ray101_problems(words[3:])
    try:
        parser, rest = parsers.python_module(module, words[3:])
    except UsageError as exc:
        return [str(exc)]
    return flag_problems(parser, rest) if parser else []


def make_targets(root: Path) -> set[str]:
    return set(MAKE_TARGET.findall((root / "Makefile").read_text(encoding="utf-8")))


def make_help_targets(root: Path) -> list[str]:
    """The targets ``make help`` lists (those with a ``## `` comment), in order."""
    return MAKE_HELP.findall((root / "Makefile").read_text(encoding="utf-8"))


def make_problems(words: list[str], root: Path) -> list[str]:
    targets = make_targets(root)
    wanted = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
    return [f"no make target {w!r} (see make help)" for w in wanted if w not in targets]


def script_help(path: Path) -> str:
    """What ``SCRIPT --help`` prints: a shell script's header comment (the
    usage() of scripts/lib/messages.sh), a Python script's docstring and
    add_argument flags."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".py":
        tree = ast.parse(text)
        flags = [
            arg.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument"
            for arg in node.args
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
        ]
        return (ast.get_docstring(tree) or "") + "\n" + " ".join(flags)
    header = []
    for line in text.splitlines()[1:]:
        if not line.startswith("#"):
            break
        header.append(line.lstrip("#"))
    return "\n".join(header)


def script_problems(words: list[str], root: Path) -> list[str]:
    name = words[0]
    if PLACEHOLDER.match(name.removeprefix("scripts/")):
        return []  # `scripts/…`: the scripts in general
    path = root / name
    if not path.is_file():
        return [f"no script {name}"]
    if path.suffix in (".yaml", ".yml", ".env", ".json", ".sh") or len(words) == 1:
        return []  # a file named, not a command run
    if name in WRAPPERS:
        rest = [ALIASES.get(name, {}).get(w, w) for w in words[1:]]
        return ray101_problems([*WRAPPERS[name], *rest])
    documented = set(FLAG.findall(script_help(path))) | {"-h", "--help"}
    flags = [w.split("=", 1)[0] for w in words[1:] if FLAG.fullmatch(w.split("=", 1)[0])]
    return [f"no flag {f} (see {name} --help)" for f in flags if f not in documented]


def command_problems(command: Command, root: Path) -> list[Problem]:
    words = list(command.words)
    head = words[0]
    if head == "ray101":
        found = ray101_problems(words[1:])
    elif head == "python":
        found = python_problems(words)
    elif head == "make":
        found = make_problems(words, root)
    else:
        found = script_problems(words, root)
    return [Problem(command.path, command.line, command.text, m) for m in found]


def undocumented_script_flags(root: Path) -> list[Problem]:
    """Flags a shell script's `case` accepts that its --help never names."""
    problems = []
    for path in sorted((root / "scripts").iterdir()):
        if (
            not path.is_file()
            or path.suffix
            or not path.read_text(encoding="utf-8").startswith("#!")
        ):
            continue
        documented = set(FLAG.findall(script_help(path))) | {"-h", "--help"}
        text = path.read_text(encoding="utf-8")
        for match in CASE_PATTERN.finditer(text):
            for flag in FLAG.findall(match.group(1)):
                if flag not in documented:
                    line = text.count("\n", 0, match.start()) + 1
                    rel = path.relative_to(root).as_posix()
                    problems.append(
                        Problem(rel, line, flag, "accepted but not in the script's --help")
                    )
    return problems

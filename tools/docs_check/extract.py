"""The commands a Markdown page shows: from shell code blocks and inline code."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

# Fenced blocks in these languages hold commands; YAML, JSON and output do not.
SHELL_LANGUAGES = {"", "bash", "sh", "shell", "console"}
FENCE = re.compile(r"^\s*(```|~~~)\s*([\w+-]*)")
INLINE = re.compile(r"(?<!`)`([^`]+)`(?!`)")  # may span the lines of a paragraph
# Separators between commands on one line; a bare `a|b` (alternatives in a
# synopsis) has no spaces around it and is not split.
SEPARATORS = re.compile(r"\s(?:&&|\|\||\||;)\s|;$")
ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
HEADS = re.compile(r"^(?:\./)?(?:\.venv/bin/)?(?:ray101|python[0-9.]*|make|scripts/\S+)$")


@dataclass(frozen=True)
class Command:
    path: str  # the page, relative to the repository
    line: int
    words: tuple[str, ...]  # the command without env assignments, `.venv/bin/` removed

    @property
    def text(self) -> str:
        return " ".join(self.words)


def _words(text: str) -> list[str] | None:
    try:
        words = shlex.split(text, comments=True)
    except ValueError:  # an unbalanced quote: prose, not a command
        return None
    while words and ENV_ASSIGNMENT.match(words[0]):
        words.pop(0)
    # A synopsis's brackets ([--db NAME]) and ellipses are not part of any word.
    words = [w.strip("[]") for w in words]
    words = [w for w in words if w and w not in ("…", "...")]
    if not words or not HEADS.match(words[0]):
        return None
    head = words[0].removeprefix("./").removeprefix(".venv/bin/")
    if head.startswith("python"):
        if words[1:2] != ["-m"] or not words[2:3] or not words[2].startswith("jobs."):
            return None  # python -m pytest, python some_file.py: not the project's commands
        head = "python"
    if head == "ray101" and len(words) == 1:
        return None  # the namespace or the project's name, not a command
    return [head, *words[1:]]


def _commands_in(text: str, path: str, line: int) -> list[Command]:
    found, parts = [], []
    for part in SEPARATORS.split(text):
        # `--duration S | --requests N`: alternatives in a synopsis, not a pipe.
        if parts and re.match(r"\s*\[?-", part):
            parts[-1] += " " + part
        else:
            parts.append(part)
    for part in parts:
        words = _words(part.strip().removeprefix("$ "))
        if words:
            found.append(Command(path, line, tuple(words)))
    return found


# A synopsis's continuation line: indented, starting with a flag or an optional one.
SYNOPSIS_CONTINUATION = re.compile(r"^\s+\[?-")


def _block_lines(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """A shell block's logical lines: `\\` continuations and a synopsis's
    indented `[--flag …]` lines joined to the line they continue."""
    joined: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, line in lines:
        if pending is not None:
            pending = (pending[0], pending[1] + " " + line)
        elif joined and SYNOPSIS_CONTINUATION.match(line):
            joined[-1] = (joined[-1][0], joined[-1][1] + " " + line)
            continue
        else:
            pending = (number, line)
        if pending[1].rstrip().endswith("\\"):
            pending = (pending[0], pending[1].rstrip()[:-1])
            continue
        joined.append(pending)
        pending = None
    return joined + ([pending] if pending else [])


def commands(page: Path, root: Path) -> list[Command]:
    """Every command of one page, in order, with its line number."""
    path = page.relative_to(root).as_posix()
    found: list[Command] = []
    fence: str | None = None  # the open block's language, None outside a block
    block: list[tuple[int, str]] = []
    paragraph: list[tuple[int, str]] = []
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        opened = FENCE.match(line)
        if fence is None and (opened or not line.strip()):
            found += _inline_commands(paragraph, path)
            paragraph = []
        if opened:
            if fence in SHELL_LANGUAGES:
                for start, text in _block_lines(block):
                    found += _commands_in(text, path, start)
            fence = None if fence is not None else opened.group(2).lower()
            block = []
            continue
        if fence is None:
            paragraph.append((number, line))
        else:
            block.append((number, line))
    return found + _inline_commands(paragraph, path)


def _inline_commands(paragraph: list[tuple[int, str]], path: str) -> list[Command]:
    """The commands in a paragraph's inline code, each at the line its span starts on."""
    if not paragraph:
        return []
    text = "\n".join(line for _, line in paragraph)
    found = []
    for match in INLINE.finditer(text):
        number = paragraph[text.count("\n", 0, match.start())][0]
        found += _commands_in(match.group(1).replace("\n", " "), path, number)
    return found

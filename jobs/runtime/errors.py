"""Errors a user can cause. The CLI turns them into one line and exit code 2."""


class UsageError(Exception):
    """Bad input: a flag value, an unknown workload, an unreachable address."""


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an error's message, for a one-line report
    (Helm's messages start with a newline; some errors have no message)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__

"""Errors a user can cause. The CLI turns them into one line and exit code 2."""


class UsageError(Exception):
    """Bad input: a flag value, an unknown workload, an unreachable address."""

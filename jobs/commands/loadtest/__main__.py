"""``python -m jobs.commands.loadtest``: the same as ``ray101 loadtest``."""

from jobs.commands.loadtest.command import main

if __name__ == "__main__":
    raise SystemExit(main())

"""``python -m jobs.loadtest``: the same as ``ray101 loadtest``."""

from jobs.loadtest.command import main

if __name__ == "__main__":
    raise SystemExit(main())

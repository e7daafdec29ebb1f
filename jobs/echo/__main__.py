"""``python -m jobs.echo``: the same as ``ray101 run echo``."""

from jobs.echo.workload import main

if __name__ == "__main__":
    raise SystemExit(main())

"""python -m tools.generate [--check]: write the generated files, or only say which are stale."""

from __future__ import annotations

import argparse
import sys

import tools.generate
from tools.generate import differences, write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.generate", description=tools.generate.__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--check", action="store_true", help="only report stale files; exit 1 if any"
    )
    args = parser.parse_args(argv)
    if args.check:
        found = differences()
        for message in found:
            print(message, file=sys.stderr)
        if found:
            print(
                f"{len(found)} generated file(s) are stale: run `make manifests`", file=sys.stderr
            )
            return 1
        print("generated files are current")
        return 0
    for line in write():
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

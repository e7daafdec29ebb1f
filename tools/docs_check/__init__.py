"""python -m tools.docs_check: every command the documentation shows still parses.

README.md, docs/*.md and tests/README.md are read; each ``ray101 …``,
``python -m jobs.…``, ``scripts/…`` and ``make …`` command, in a shell code
block or in inline code, is checked against the code at ``--help`` level: the
command and its subcommand exist and each flag given is one the command
takes. Besides: every page under docs/ is linked from the README, the README
names every make target, and each script's ``--help`` text names every flag
the script accepts.
"""

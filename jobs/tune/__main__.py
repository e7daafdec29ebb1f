"""``python -m jobs.tune``.

This file runs as ``__main__``; the trial function lives in ``jobs.tune.trial``,
an importable module, so Ray pickles it by reference and every worker imports it.
"""

from jobs.tune.workload import main

raise SystemExit(main())

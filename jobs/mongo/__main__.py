"""``python -m jobs.mongo``: the same as ``ray101 run mongo``."""

from jobs.mongo import main

raise SystemExit(main())

"""``python -m jobs.mongo``: the same as ``ray101 run mongo``."""

from jobs.mongo.workload import main

raise SystemExit(main())

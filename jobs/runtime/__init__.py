"""Running one workload: what every ``python -m jobs.<name>`` shares.

The runner (``main`` of every workload, ``ray101 run``), connecting to Ray
(``connect``), the result and where it goes (``result``: text, ``--json``,
``--out``), the common flags, the command envelope (exit codes, signals,
logging), user errors, the shims over Ray's private API (``ray_internals``),
task timelines, worker warm-up, free ports and child processes. Nothing here
imports ``jobs.client``, ``jobs.commands`` or a workload.
"""

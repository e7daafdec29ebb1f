"""ray101: the Ray 101 workloads, runnable locally and on Kubernetes with KubeRay.

Each workload is a module or package of this package, listed in ``jobs.registry``,
and runs as ``python -m jobs.<name>`` or ``ray101 run <name>``.
"""

__version__ = "0.1.0"

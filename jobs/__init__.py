"""ray101: the Ray 101 workloads, runnable locally and on Kubernetes with KubeRay.

The workloads sit at the top, where users call them: each is a module or a
package whose entry is its ``workload`` module (``retrieve``, ``echo``,
``tune``, ...), listed in ``jobs.registry``, and runs as ``python -m
jobs.<name>`` or ``ray101 run <name>``. What a workload
module provides is ``jobs.runtime.runner.WorkloadModule``. ``jobs.cli`` is
the ``ray101`` command. The rest is in three packages by role:
``jobs.runtime`` (running one workload), ``jobs.client`` (talking to a cluster
from outside) and ``jobs.commands`` (the ``ray101`` verbs).
"""

__version__ = "0.1.0"

"""Talking to a Ray cluster from outside it.

The dashboard's HTTP API (``dashboard``), reading RayJobs and RayServices the
way KubeRay does (``kuberay``), and the local multi-node cluster shaped like
the chart's RayCluster (``localcluster``, ``cluster_shape``). Built on
``jobs.runtime``; used by the ``ray101`` verbs in ``jobs.commands``.
"""

"""Real servers the tests start on loopback ports and stop by pid: Redis,
Prometheus, and a multi-node local Ray (``scripts/local-cluster``)."""

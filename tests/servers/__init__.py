"""Real servers the tests start on loopback ports and stop by pid: Redis,
Prometheus, and the multi-node local Ray of ``ray101 cluster`` (``jobs.client.localcluster``)."""

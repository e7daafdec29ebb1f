"""jobs/client/: the local multi-node cluster and joining it."""

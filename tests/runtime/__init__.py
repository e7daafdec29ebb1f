"""jobs/runtime/: the command envelope, SIGTERM, timelines and Ray's private names."""

"""What ray101 runs beside on a real machine: several raylets, a GCS backed by
Redis, Prometheus and the S3 store, each a real server."""

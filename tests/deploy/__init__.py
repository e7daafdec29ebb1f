"""Tests of the deployment: the chart, the kustomize tree and tools/manifests."""

"""Tests of the deployment: the chart, the kustomize tree, tools/generate and tools/manifests."""

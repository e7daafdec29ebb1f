"""The repository's own files: docs, scripts, images, CI workflows, the import graph and the benchmark page."""

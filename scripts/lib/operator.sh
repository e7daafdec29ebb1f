# shellcheck shell=bash
#
# scripts/lib/operator.sh: the KubeRay operator installed without its Helm
# repository, from the install manifests of its own Go module (config/default:
# the CRDs, the RBAC and the manager), with the image scripts/offline-images
# built. Needs common.sh, messages.sh and names.sh (OPERATOR_RELEASE).

# operator_offline_version: the operator version whose image is on this machine:
# KUBERAY_VERSION, else KUBERAY_OFFLINE_FALLBACK_VERSION (said loudly); fails
# when neither is.
operator_offline_version() {
  local version
  for version in "${KUBERAY_VERSION}" "${KUBERAY_OFFLINE_FALLBACK_VERSION}"; do
    if docker image inspect "${KUBERAY_OPERATOR_IMAGE}:v${version}" >/dev/null 2>&1; then
      [[ "${version}" == "${KUBERAY_VERSION}" ]] ||
        warn "installing the KubeRay operator v${version}, not the pinned v${KUBERAY_VERSION}: only its source could be built here (versions.env KUBERAY_OFFLINE_FALLBACK_VERSION)"
      echo "${version}"
      return 0
    fi
  done
  return 1
}

# operator_install_from_module VERSION NAMESPACE LOAD_CMD...: load the image
# into the cluster with LOAD_CMD IMAGE, then apply the module's config/default
# (server-side: the CRDs exceed the client-side annotation limit) into NAMESPACE.
operator_install_from_module() {
  local version="$1" namespace="$2" dir overlay
  shift 2
  "$@" "${KUBERAY_OPERATOR_IMAGE}:v${version}"
  dir="$(go mod download -json "${KUBERAY_OPERATOR_MODULE}@v${version}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')"
  [[ -d "${dir}/config/default" ]] || die "go mod download ${KUBERAY_OPERATOR_MODULE}@v${version} gave no config/default"
  overlay="$(mktemp -d)"
  # kustomize reads only below its root: a writable copy of config/, and an
  # overlay beside it that sets the namespace, the image's tag and the label.
  cp -r "${dir}/config" "${overlay}/config"
  chmod -R u+w "${overlay}/config"
  mkdir -p "${overlay}/install"
  cat >"${overlay}/install/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: ${namespace}
resources:
  - ../config/default
images:
  - name: ${KUBERAY_OPERATOR_IMAGE}
    newTag: v${version}
# The label KubeRay's Helm chart gives its objects, on the objects only (the
# selectors keep config/'s): what finds the operator whichever way it came.
labels:
  - pairs:
      app.kubernetes.io/name: kuberay-operator
    includeSelectors: false
    includeTemplates: false
YAML
  kubectl create namespace "${namespace}" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  kubectl apply --server-side --force-conflicts -k "${overlay}/install"
  rm -rf "${overlay}"
  kubectl -n "${namespace}" rollout status "deployment/${OPERATOR_RELEASE}" --timeout=300s
}

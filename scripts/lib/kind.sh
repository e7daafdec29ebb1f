# shellcheck shell=bash
# shellcheck disable=SC2034  # names defined here are used by the files that source this one
#
# scripts/lib/kind.sh: the kind cluster: its name, its config fitted to the
# docker host's memory, the node image it is created from, and loading images
# from docker into its nodes. Needs common.sh and messages.sh.

KIND_CLUSTER_NAME="${KIND_CLUSTER_NAME:-ray101}"
KIND_CONFIG="scripts/kind/cluster.yaml"

# What the control plane node (API server, etcd, scheduler, controllers)
# takes, and each worker's kubelet and containerd (kubeReserved in the config).
CONTROL_PLANE_MIB=1024
KUBE_RESERVED_MIB=512

# kind_config (scripts/kind-up): scripts/kind/cluster.yaml, in a temporary
# file, with the memory each worker reserves fitted to this docker host. Every
# kind node reports the whole VM as allocatable; reserving the rest makes the
# two workers' allocatable memory add up to the VM less the control plane's
# share, so the pods' requests decide what is scheduled (docs/kind.md).
kind_config() {
  local total_mib worker_mib reserved_mib out
  total_mib=$(($(docker info --format '{{.MemTotal}}') / 1048576))
  worker_mib=$(((total_mib - CONTROL_PLANE_MIB) / 2))
  reserved_mib=$((total_mib - worker_mib - KUBE_RESERVED_MIB))
  ((reserved_mib > 0)) || reserved_mib=0
  out="$(mktemp "${TMPDIR:-/tmp}/ray101-kind.XXXXXX")"
  sed "/^ *systemReserved:/,/memory:/ s/memory: .*/memory: ${reserved_mib}Mi/" \
    "${REPO_ROOT}/${KIND_CONFIG}" >"${out}"
  echo "${out}"
}

# node_image_ref: the node image kind-up creates the cluster from: the digest
# kind publishes (KIND_NODE_IMAGE_DIGEST) where docker has it or can pull it,
# else the tag scripts/offline-images built here, with a warning.
node_image_ref() {
  local pinned="${KIND_NODE_IMAGE}@${KIND_NODE_IMAGE_DIGEST}"
  if docker image inspect "${pinned}" >/dev/null 2>&1 || docker pull --quiet "${pinned}" >/dev/null 2>&1; then
    echo "${pinned}"
    return 0
  fi
  warn "${pinned} can be neither found nor pulled: using ${KIND_NODE_IMAGE} as built here (scripts/offline-images)"
  echo "${KIND_NODE_IMAGE}"
}

# kind_load_image IMAGE: copy IMAGE from docker into the kind cluster's nodes
# (kind skips the nodes that hold it already). Pods run on the workers only
# (kind taints the control plane), so it goes there; a single-node cluster has
# no workers, and gets it on its one node.
kind_load_image() {
  local workers nodes=() archive platform
  workers="$(kind get nodes --name "${KIND_CLUSTER_NAME}" | grep -v -- '-control-plane$' | paste -sd, - || true)"
  [[ -z "${workers}" ]] || nodes=(--nodes "${workers}")
  kind load docker-image "$1" --name "${KIND_CLUSTER_NAME}" ${nodes[@]+"${nodes[@]}"} && return 0
  # With Docker's containerd image store (the default of new Docker 29 installs)
  # the archive docker saves can name content of other platforms that is not
  # there, and the nodes refuse it ("content digest ... not found",
  # kubernetes-sigs/kind#3795); then save this platform only and load the
  # archive, kind's documented workaround.
  platform="$(docker version --format '{{.Server.Os}}/{{.Server.Arch}}')"
  warn "kind load docker-image $1 failed; retrying with a ${platform} archive"
  archive="$(mktemp "${TMPDIR:-/tmp}/ray101-image.XXXXXX")"
  if ! docker image save --platform "${platform}" --output "${archive}" "$1" ||
    ! kind load image-archive "${archive}" --name "${KIND_CLUSTER_NAME}" ${nodes[@]+"${nodes[@]}"}; then
    rm -f "${archive}"
    die "could not load $1 into the kind cluster '${KIND_CLUSTER_NAME}'"
  fi
  rm -f "${archive}"
}

# kind_load_if_here IMAGE: load IMAGE when docker holds it (built here, or
# pulled earlier); nodes that can pull do not need it.
kind_load_if_here() {
  if docker image inspect "$1" >/dev/null 2>&1; then
    kind_load_image "$1"
  else
    info "$1: not in docker here; the nodes pull it"
  fi
}

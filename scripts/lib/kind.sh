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
# What loading an image leaves free on docker's disk at least, for the pods'
# own writes (logs, Ray's session files, MongoDB's data).
LOAD_DISK_MARGIN_MIB=2048
MIB=1048576

# kind_config (scripts/kind-up): scripts/kind/cluster.yaml, in a temporary
# file, with the memory each worker reserves fitted to this docker host. Every
# kind node reports the whole VM as allocatable; reserving the rest makes the
# two workers' allocatable memory add up to the VM less the control plane's
# share, so the pods' requests decide what is scheduled (docs/kind.md).
kind_config() {
  local total_mib worker_mib reserved_mib out
  total_mib=$(($(docker info --format '{{.MemTotal}}') / MIB))
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

# kind_load_image IMAGE: copy IMAGE from docker into the kind cluster's nodes.
# Pods run on the workers only (kind taints the control plane), so it goes
# there; a single-node cluster has no workers, and gets it on its one node. A
# node that holds the image under this ID already is skipped, as kind does.
# One node at a time, streamed from `docker save` into `kind load
# image-archive`, so no copy of the image is written on this machine: `kind
# load docker-image` saves the whole image to a temporary file first, and for
# the 6 GB ray101 image that file, beside the two copies each node keeps (its
# layers and their unpacked files), left a fresh machine's disk 8 GB from full.
# Docker's containerd image store (Docker 29's default) can name content of
# other platforms that it does not hold in what it saves, which the nodes
# refuse (kubernetes-sigs/kind#3795): where `docker save` takes --platform,
# only this machine's platform is saved.
kind_load_image() {
  local image="$1" id nodes node platform=()
  id="$(docker image inspect --format '{{.Id}}' "${image}")" ||
    die "${image} is not in docker: nothing to load into the kind cluster"
  nodes="$(kind get nodes --name "${KIND_CLUSTER_NAME}" | grep -v -- '-control-plane$' || true)"
  [[ -n "${nodes}" ]] || nodes="$(kind get nodes --name "${KIND_CLUSTER_NAME}")"
  if docker save --help 2>/dev/null | grep -q -- '--platform'; then
    platform=(--platform "$(docker version --format '{{.Server.Os}}/{{.Server.Arch}}')")
  fi
  for node in ${nodes}; do
    if [[ "$(node_image_id "${node}" "${image}")" == "${id}" ]]; then
      info "${image} is on ${node} already"
      continue
    fi
    require_disk_for "${image}" "${node}"
    info "loading ${image} onto ${node}"
    docker save ${platform[@]+"${platform[@]}"} "${image}" |
      kind load image-archive /dev/stdin --name "${KIND_CLUSTER_NAME}" --nodes "${node}" ||
      die "could not load ${image} onto the kind node ${node}"
  done
}

# node_image_id NODE IMAGE: the ID under which NODE's container runtime holds
# IMAGE (the ID docker gives it), or nothing where it holds none.
node_image_id() {
  docker exec "$1" crictl inspecti --output go-template --template '{{.status.id}}' "$2" 2>/dev/null || true
}

# require_disk_for IMAGE NODE: stop, saying so, where docker's disk cannot take
# another two copies of IMAGE (a node keeps its layers and their unpacked
# files), with a margin for the pods' own writes. A disk that fills up halfway
# through a load fails it with a message from deep inside the node.
require_disk_for() {
  local size_b free_b need_b root
  size_b="$(docker image inspect --format '{{.Size}}' "$1")"
  root="$(docker info --format '{{.DockerRootDir}}')"
  free_b="$(df --output=avail --block-size=1 "${root}" | tail -n 1)"
  need_b=$((2 * size_b + LOAD_DISK_MARGIN_MIB * MIB))
  ((free_b >= need_b)) ||
    die "loading $1 onto $2 needs $((need_b / MIB / 1024)) GiB free where docker keeps its data (${root}), and $((free_b / MIB / 1024)) GiB is: free some (docker image prune, docker builder prune)"
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

# shellcheck shell=bash
# shellcheck disable=SC2034  # names defined here are used by the files that source this one
#
# scripts/lib/nodeimage.sh: kind's node image (KIND_NODE_IMAGE) built here
# when it can neither be found nor pulled. Three layers, each an image cached
# under its own version:
#   ray101-offline/debian:bookworm            debootstrap --variant=minbase
#   ray101-offline/kind-base:<KIND_VERSION>   images/offline/kind-base: kind's
#       base layout from Debian packages and kind's files from its Go module
#   KIND_NODE_IMAGE                           the base, the Kubernetes binaries,
#       and the images kubeadm and kind need, imported into its containerd
# Needs common.sh, messages.sh, builds.sh, gobuild.sh, docker.sh and runc.sh.
# The images the node preloads are preload.sh's.

DEBIAN_SUITE="bookworm"
DEBIAN_MIRROR="${RAY101_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DEBIAN_IMAGE="ray101-offline/debian:${DEBIAN_SUITE}"
# The base's tag carries a hash of its inputs (its Dockerfile, the runc
# wrapper's source) and of the stand-in the node preloads (kindnet-lite's
# source and kube-network-policies' version): a change builds a new base, and
# the node image (labelled with the base it was made from) again.
kind_base_key() {
  {
    cat "${REPO_ROOT}/images/offline/kind-base/Dockerfile" "${REPO_ROOT}/scripts/runc-caps/go.mod" \
      "${REPO_ROOT}/scripts/runc-caps/"*.go
    kindnet_lite_key
  } | sha256sum | cut -c1-12
}
# kindnet_lite_key: what the kindnetd stand-in is built from (its label).
kindnet_lite_key() {
  { cat "${REPO_ROOT}/images/offline/kindnet-lite/"*.go; echo "${KUBE_NETWORK_POLICIES_VERSION}"; } |
    sha256sum | cut -c1-12
}
KIND_BASE_IMAGE="ray101-offline/kind-base:${KIND_VERSION}-$(kind_base_key)"

# go_module_dir MODULE@VERSION: the module's folder in the module cache.
go_module_dir() {
  local json
  json="$(low "$(go_cmd)" mod download -json "$1")" || die "go mod download $1 failed"
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p' <<<"${json}"
}

kind_module_dir() { go_module_dir "sigs.k8s.io/kind@${KIND_VERSION}"; }

# kind_base_arg NAME: an ARG default of kind's images/base/Dockerfile (the
# versions kind builds its base with: CRICTL_VERSION, ...), read, never copied.
kind_base_arg() {
  sed -n "s/^ARG $1=\"\{0,1\}\([^\"]*\)\"\{0,1\}$/\1/p" "$(kind_module_dir)/images/base/Dockerfile" | head -n 1
}

# build_debian_image IMAGE: a minimal Debian rootfs from Debian's mirror.
build_debian_image() {
  local root
  command -v debootstrap >/dev/null 2>&1 ||
    DEBIAN_FRONTEND=noninteractive low apt-get install -y -qq debootstrap >/dev/null ||
    die "needs debootstrap (apt-get install debootstrap)" "${EXIT_PREREQ}"
  root="$(mktemp -d "${RAY101_CACHE}/.debootstrap.XXXXXX")"
  info "debootstrap --variant=minbase ${DEBIAN_SUITE} (${DEBIAN_MIRROR})"
  low debootstrap --variant=minbase "${DEBIAN_SUITE}" "${root}" "${DEBIAN_MIRROR}" \
    >"${RAY101_CACHE}/logs/debootstrap.log" 2>&1 ||
    die "debootstrap failed (${RAY101_CACHE}/logs/debootstrap.log)"
  rm -rf "${root}/var/cache/apt/archives/"*.deb "${root}/var/lib/apt/lists/"*
  tar -C "${root}" --numeric-owner -c . |
    docker import --change 'CMD ["/bin/bash"]' - "$1" >/dev/null
  rm -rf "${root}"
}

# build_kind_base IMAGE: images/offline/kind-base with kind's files, crictl
# and runc-caps in a build context under the cache.
build_kind_base() {
  local image="$1" ctx crictl_version crictl
  ensure_image "${DEBIAN_IMAGE}" build_debian_image
  crictl_version="$(kind_base_arg CRICTL_VERSION)"
  [[ -n "${crictl_version}" ]] || die "no CRICTL_VERSION in kind ${KIND_VERSION}'s base Dockerfile"
  crictl_version="$(served_version sigs.k8s.io/cri-tools "${crictl_version}")"
  crictl="$(go_install_cached crictl "${crictl_version}" sigs.k8s.io/cri-tools/cmd/crictl "" sigs.k8s.io/cri-tools)"
  ctx="$(cache_dir kind-base "${KIND_VERSION}")/context"
  rm -rf "${ctx}"
  mkdir -p "${ctx}"
  cp -r "$(kind_module_dir)/images/base/files" "${ctx}/files"
  chmod -R u+w "${ctx}/files"
  local wrapper
  wrapper="$(runc_caps_build)"
  cp "${wrapper}" "${ctx}/runc-caps"
  cp "${crictl}" "${ctx}/crictl"
  cp "${REPO_ROOT}/images/offline/kind-base/Dockerfile" "${ctx}/Dockerfile"
  info "docker build ${image} (Debian ${DEBIAN_SUITE} packages, kind ${KIND_VERSION} files, crictl ${crictl_version})"
  docker_build "${image}" "${ctx}" --build-arg "DEBIAN_IMAGE=${DEBIAN_IMAGE}"
}

# --- The node image -----------------------------------------------------------
# docker_qualified IMAGE: the name containerd gives IMAGE (docker.io/library/...).
docker_qualified() {
  local image="$1" first="${1%%/*}"
  if [[ "${image}" != */* ]]; then
    image="docker.io/library/${image}"
  elif [[ "${first}" != *.* && "${first}" != *:* && "${first}" != localhost ]]; then
    image="docker.io/${image}"
  fi
  echo "${image}"
}

NODE_BUILD_CONTAINER=""
NODE_IMAGE_MISSING=()

node_build_cleanup() {
  [[ -z "${NODE_BUILD_CONTAINER}" ]] || docker rm -f -v "${NODE_BUILD_CONTAINER}" >/dev/null 2>&1 || true
  NODE_BUILD_CONTAINER=""
}

# build_node_image IMAGE: as kind's `kind build node-image` does it (docker run
# of the base, docker cp, containerd inside importing the images, docker
# commit), but every image comes from here: kind's build pulls them with ctr,
# which no registry answers.
build_node_image() {
  local image="$1" cid cmd manifests entry preload=() missing=()
  ensure_image "${KIND_BASE_IMAGE}" build_kind_base
  k8s_build "${KUBERNETES_COMMANDS[@]}"
  manifests="$(kind_manifests_tool)"

  info "the images the node preloads:"
  while read -r entry; do
    [[ -n "${entry}" ]] || continue
    ensure_image "${entry}" "$(preload_builder "${entry}")" "$(preload_key "${entry}")"
    if docker image inspect "${entry}" >/dev/null 2>&1; then
      preload+=("${entry}")
    else
      missing+=("${entry}")
    fi
  done < <(node_preload_images | sort -u)

  cid="ray101-node-build-$$"
  NODE_BUILD_CONTAINER="${cid}"
  docker run -d --privileged --security-opt seccomp=unconfined --entrypoint=sleep \
    --name "${cid}" "${KIND_BASE_IMAGE}" infinity >/dev/null
  for cmd in kubeadm kubelet kubectl; do
    docker cp "$(k8s_dir)/bin/${cmd}" "${cid}:/usr/bin/${cmd}"
  done
  docker exec "${cid}" sh -c "chown root:root /usr/bin/kube* && chmod 0755 /usr/bin/kube* \
    && printf 'v%s' '${KUBERNETES_VERSION}' >/kind/version && mkdir -p /kind/manifests"
  "${manifests}" cni | docker exec -i "${cid}" sh -c 'cat >/kind/manifests/default-cni.yaml'
  "${manifests}" storage | docker exec -i "${cid}" sh -c 'cat >/kind/manifests/default-storage.yaml'

  docker exec "${cid}" bash -c 'nohup containerd >/var/log/containerd-build.log 2>&1 &'
  docker exec "${cid}" bash -c 'for i in $(seq 30); do ctr version >/dev/null 2>&1 && exit 0; sleep 1; done; exit 1' ||
    die "containerd did not start in the build container"
  for entry in "${preload[@]}"; do
    info "import ${entry}"
    docker save "${entry}" | docker exec -i "${cid}" ctr --namespace=k8s.io images import \
      --all-platforms --no-unpack --digests - >/dev/null ||
      die "importing ${entry} into the node's containerd failed"
    # kind pins its preloaded images (ctr 1.6's import has no --label).
    docker exec "${cid}" ctr --namespace=k8s.io images label "$(docker_qualified "${entry}")" \
      io.cri-containerd.pinned=pinned >/dev/null 2>&1 || true
  done
  docker exec "${cid}" pkill containerd || true
  sleep 2
  docker commit \
    --change 'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]' \
    --change 'CMD []' \
    --change "LABEL ray101.offline.key=${KIND_BASE_IMAGE}" \
    "${cid}" "${image}" >/dev/null
  node_build_cleanup
  # Say which preloaded images are stand-ins: the node carries them.
  local note inside=()
  for entry in "${preload[@]}"; do
    if note="$(built_record_note "${entry}")" && [[ "${note}" == stand-in* ]]; then
      inside+=("${entry##*/} (${note#stand-in: })")
    fi
  done
  ((${#inside[@]} == 0)) || STAND_INS+=("${image}: preloads stand-ins: ${inside[*]}")
  if ((${#missing[@]} > 0)); then
    warn "the node image lacks (no offline build): ${missing[*]}"
    NODE_IMAGE_MISSING=("${missing[@]}")
  fi
}

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

# --- The images the node preloads ------------------------------------------
# kubeadm's own list (`kubeadm config images list`), kind's CNI and storage
# images (read from kind's module), and the sandbox image kind's containerd
# config names. Each is built here only when it can neither be found nor pulled.

IPTABLES_IMAGE="ray101-offline/debian-iptables:${DEBIAN_SUITE}"

# kind_manifests_tool: a program printing kind's default CNI and storage
# manifests and their images, compiled from kind's own const_*.go files (its
# build embeds them as Go constants; none is published as a file).
kind_manifests_tool() {
  local dir src bin
  dir="$(cache_dir kind-manifests "${KIND_VERSION}")"
  bin="${dir}/bin/kind-manifests"
  if [[ ! -x "${bin}" ]]; then
    src="${dir}/src"
    rm -rf "${src}"
    mkdir -p "${src}" "${dir}/bin"
    local f
    for f in const_cni.go const_storage.go; do
      sed 's/^package nodeimage$/package main/' "$(kind_module_dir)/pkg/build/nodeimage/${f}" >"${src}/${f}"
    done
    cat >"${src}/main.go" <<'GO'
// Generated by scripts/lib/nodeimage.sh: prints kind's embedded manifests.
package main

import (
	"fmt"
	"os"
)

func main() {
	switch os.Args[1] {
	case "cni":
		fmt.Print(defaultCNIManifest)
	case "storage":
		fmt.Print(defaultStorageManifest)
	case "cni-images":
		for _, i := range defaultCNIImages {
			fmt.Println(i)
		}
	case "storage-images":
		for _, i := range defaultStorageImages {
			fmt.Println(i)
		}
	}
}
GO
    printf 'module ray101.local/kind-manifests\n\ngo 1.22\n' >"${src}/go.mod"
    (cd "${src}" && CGO_ENABLED=0 low "$(go_cmd)" build -o "${bin}" .) >&2 ||
      die "building kind's manifest printer failed"
  fi
  echo "${bin}"
}

# image_from_binaries IMAGE BASE ENTRYPOINT BIN...: BASE with BIN... in
# /usr/local/bin; ENTRYPOINT "" for none (kubeadm's manifests give a command).
# IMAGE_KEY, when set, becomes its label ray101.offline.key (see preload_key).
image_from_binaries() {
  local image="$1" base="$2" entry="$3" ctx bin
  shift 3
  ctx="$(mktemp -d "${RAY101_CACHE}/.ctx.XXXXXX")"
  {
    echo "FROM ${base}"
    for bin in "$@"; do
      cp "${bin}" "${ctx}/"
      echo "COPY $(basename "${bin}") /usr/local/bin/"
    done
    [[ -z "${entry}" ]] || echo "ENTRYPOINT [\"${entry}\"]"
    [[ -z "${IMAGE_KEY:-}" ]] || echo "LABEL ray101.offline.key=${IMAGE_KEY}"
  } >"${ctx}/Dockerfile"
  docker_build "${image}" "${ctx}"
  rm -rf "${ctx}"
}

build_iptables_image() {
  ensure_image "${DEBIAN_IMAGE}" build_debian_image
  local ctx
  ctx="$(mktemp -d "${RAY101_CACHE}/.ctx.XXXXXX")"
  cat >"${ctx}/Dockerfile" <<DOCKERFILE
FROM ${DEBIAN_IMAGE}
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      iptables nftables conntrack ipset kmod iproute2 \
    && apt-get clean && rm -rf /var/lib/apt/lists/*
DOCKERFILE
  docker_build "$1" "${ctx}"
  rm -rf "${ctx}"
}

# build_kube_image IMAGE: registry.k8s.io/kube-*:v<KUBERNETES_VERSION> from
# the binaries built above; kube-proxy on the iptables image, behind
# images/offline/iptables-wrapper (legacy or nft, as the node uses).
build_kube_image() {
  local image="$1" name bin
  name="${image##*/}"
  name="${name%%:*}"
  bin="$(k8s_dir)/bin/${name}"
  k8s_build "${name}"
  if [[ "${name}" == kube-proxy ]]; then
    ensure_image "${IPTABLES_IMAGE}" build_iptables_image
    local ctx
    ctx="$(mktemp -d "${RAY101_CACHE}/.ctx.XXXXXX")"
    cp "${bin}" "${ctx}/kube-proxy.real"
    cp "${REPO_ROOT}/images/offline/iptables-wrapper" "${ctx}/kube-proxy"
    printf 'FROM %s\nCOPY kube-proxy kube-proxy.real /usr/local/bin/\n' "${IPTABLES_IMAGE}" >"${ctx}/Dockerfile"
    docker_build "${image}" "${ctx}"
    rm -rf "${ctx}"
  else
    ensure_image "${DEBIAN_IMAGE}" build_debian_image
    image_from_binaries "${image}" "${DEBIAN_IMAGE}" "" "${bin}"
  fi
}

# build_pause_image IMAGE: Kubernetes' pause.c (in the k8s.io/kubernetes
# module, build/pause/linux), compiled static.
build_pause_image() {
  local dir src
  dir="$(cache_dir pause "v${KUBERNETES_VERSION}")"
  src="$(go_module_dir "k8s.io/kubernetes@v${KUBERNETES_VERSION}")/build/pause/linux/pause.c"
  mkdir -p "${dir}/bin"
  if [[ ! -x "${dir}/bin/pause" ]]; then
    low gcc -Os -Wall -Werror -static -DVERSION="v${KUBERNETES_VERSION}-ray101" \
      -o "${dir}/bin/pause" "${src}" || die "compiling ${src} failed (needs gcc and libc6-dev)"
  fi
  local ctx
  ctx="$(mktemp -d "${RAY101_CACHE}/.ctx.XXXXXX")"
  cp "${dir}/bin/pause" "${ctx}/pause"
  printf 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n' >"${ctx}/Dockerfile"
  docker_build "$1" "${ctx}"
  rm -rf "${ctx}"
}

# build_etcd_image IMAGE: registry.k8s.io/etcd:<X.Y.Z-N> from go.etcd.io/etcd
# at vX.Y.Z (its go.mod replaces its sibling modules: built through a wrapper).
build_etcd_image() {
  local tag="${1##*:}" version bin
  version="v${tag%-*}"
  bin="$(go_build_wrapped etcd "${version}" go.etcd.io/etcd/server/v3 go.etcd.io/etcd/server/v3 etcd)"
  ensure_image "${DEBIAN_IMAGE}" build_debian_image
  image_from_binaries "$1" "${DEBIAN_IMAGE}" "" "${bin}"
}

# build_coredns_image IMAGE: registry.k8s.io/coredns/coredns:<vX.Y.Z>.
build_coredns_image() {
  local version="${1##*:}" bin
  bin="$(go_install_cached coredns "${version}" github.com/coredns/coredns "" github.com/coredns/coredns)"
  ensure_image "${DEBIAN_IMAGE}" build_debian_image
  image_from_binaries "$1" "${DEBIAN_IMAGE}" /usr/local/bin/coredns "${bin}"
}

# build_local_path_provisioner_image IMAGE: rancher's local-path-provisioner at
# the VERSION kind's images/local-path-provisioner/Makefile names (or the
# nearest the proxy serves).
build_local_path_provisioner_image() {
  local version bin
  version="$(sed -n 's/^VERSION=//p' "$(kind_module_dir)/images/local-path-provisioner/Makefile")"
  version="$(served_version github.com/rancher/local-path-provisioner "${version}")"
  bin="$(go_install_cached local-path-provisioner "${version}" github.com/rancher/local-path-provisioner "" \
    github.com/rancher/local-path-provisioner)"
  ensure_image "${DEBIAN_IMAGE}" build_debian_image
  image_from_binaries "$1" "${DEBIAN_IMAGE}" /usr/local/bin/local-path-provisioner "${bin}"
}

# build_local_path_helper_image IMAGE: the helper pod only needs sh, mkdir, rm.
build_local_path_helper_image() {
  ensure_image "${DEBIAN_IMAGE}" build_debian_image
  docker tag "${DEBIAN_IMAGE}" "$1"
}

# preload_builder IMAGE: the builder of one image the node preloads ("" none).
preload_builder() {
  case "$1" in
    */kube-apiserver:* | */kube-controller-manager:* | */kube-scheduler:* | */kube-proxy:*) echo build_kube_image ;;
    */pause:*) echo build_pause_image ;;
    */etcd:*) echo build_etcd_image ;;
    */coredns:*) echo build_coredns_image ;;
    */local-path-provisioner:*) echo build_local_path_provisioner_image ;;
    */local-path-helper:*) echo build_local_path_helper_image ;;
    */kindnetd:*) echo build_kindnet_lite_image ;;
    *) echo "" ;;
  esac
}

# preload_key IMAGE: the inputs a preloaded image built here is keyed on (""
# none): a stand-in built from this repository's source is built again when
# that changes.
preload_key() {
  case "$1" in
    */kindnetd:*) kindnet_lite_key ;;
    *) echo "" ;;
  esac
}

# node_preload_images: every image the node's containerd must hold.
node_preload_images() {
  local manifests sandbox
  manifests="$(kind_manifests_tool)"
  "$(k8s_dir)/bin/kubeadm" config images list --kubernetes-version "v${KUBERNETES_VERSION}" 2>/dev/null
  sandbox="$(sed -n 's/^ *sandbox_image = "\(.*\)"/\1/p' "$(kind_module_dir)/images/base/files/etc/containerd/config.toml")"
  [[ -z "${sandbox}" ]] || echo "${sandbox}"
  "${manifests}" cni-images
  "${manifests}" storage-images
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

# build_kindnet_lite_image IMAGE: kind's CNI image name, run by kind's own
# manifest, holding images/offline/kindnet-lite: kindnetd's module is not
# served by the module proxy here. A stand-in: CNI config, routes, and
# NetworkPolicies enforced by sigs.k8s.io/kube-network-policies (a library in
# it, as in kindnetd); no masquerade.
build_kindnet_lite_image() {
  local dir netlink
  dir="$(cache_dir kindnet-lite "v${KUBERNETES_VERSION}-$(kindnet_lite_key)")"
  if [[ ! -x "${dir}/bin/kindnet-lite" ]]; then
    rm -rf "${dir}/src"
    mkdir -p "${dir}/src" "${dir}/bin"
    cp "${REPO_ROOT}/images/offline/kindnet-lite/"*.go "${dir}/src/"
    # The client and netlink versions Kubernetes itself uses: nothing pinned twice.
    netlink="$(awk '$1 == "github.com/vishvananda/netlink" { print $2; exit }' "$(k8s_module_gomod)")"
    info "go build images/offline/kindnet-lite (kube-network-policies ${KUBE_NETWORK_POLICIES_VERSION}) -> ${dir}/bin" >&2
    (cd "${dir}/src" && printf 'module ray101.local/kindnet-lite\n\ngo 1.25\n' >go.mod &&
      low "$(go_cmd)" get "k8s.io/client-go@$(k8s_staging_version)" "k8s.io/api@$(k8s_staging_version)" \
        "k8s.io/apimachinery@$(k8s_staging_version)" "github.com/vishvananda/netlink@${netlink}" \
        "sigs.k8s.io/kube-network-policies@${KUBE_NETWORK_POLICIES_VERSION}" &&
      low "$(go_cmd)" mod tidy &&
      CGO_ENABLED=0 low "$(go_cmd)" build -trimpath -ldflags "-s -w" -o "${dir}/bin/kindnet-lite" .) >&2 ||
      die "building images/offline/kindnet-lite failed"
    BUILT_TOOLS+=("kindnet-lite")
  fi
  ensure_image "${IPTABLES_IMAGE}" build_iptables_image
  IMAGE_KEY="$(kindnet_lite_key)" image_from_binaries "$1" "${IPTABLES_IMAGE}" /usr/local/bin/kindnet-lite \
    "${dir}/bin/kindnet-lite"
  STAND_INS+=("$1: images/offline/kindnet-lite (kindnetd's module is not served): NetworkPolicies by kube-network-policies ${KUBE_NETWORK_POLICIES_VERSION}, no masquerade")
}

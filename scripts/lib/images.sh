# shellcheck shell=bash
# shellcheck disable=SC2034  # names defined here are used by the files that source this one
#
# scripts/lib/images.sh: the images the kind path needs, and the builders that
# make them here from Debian packages and Go modules when they cannot be
# pulled. Needs common.sh, gobuild.sh and docker.sh.

# "IMAGE|BUILDER": every image the kind path pulls, with the function that
# builds it offline ("" where scripts/offline-images cannot build it yet). The
# operator cannot be: the module proxy here lists ray-operator v1.7.0 but
# refuses its source (403 on the .zip; v1.4.0 to v1.6.0 are served).
KIND_PATH_IMAGES=(
  "${KIND_NODE_IMAGE}|build_node_image"
  "quay.io/kuberay/operator:v${KUBERAY_VERSION}|"
  "${RAY_IMAGE}:${RAY_IMAGE_TAG_CPU}|build_ray_base_image"
  "${REDIS_IMAGE}|build_redis_image"
  "${SEAWEEDFS_IMAGE}|build_seaweedfs_image"
)

# A tiny local image (Debian's busybox-static) to prove a --privileged
# container runs before anything larger is built.
PROBE_IMAGE="ray101-offline/probe:busybox"

# apt_fetch DIR PACKAGE...: download Debian packages (not installed on the host)
# and unpack them into DIR.
apt_fetch() {
  local dir="$1" debs deb
  shift
  debs="$(mktemp -d)"
  (cd "${debs}" && low apt-get download -qq -o APT::Sandbox::User=root "$@" >/dev/null) || {
    rm -rf "${debs}"
    die "apt-get download $* failed (run apt-get update first?)"
  }
  for deb in "${debs}"/*.deb; do dpkg-deb -x "${deb}" "${dir}"; done
  rm -rf "${debs}"
}

build_probe_image() {
  local root
  root="$(mktemp -d)"
  apt_fetch "${root}" busybox-static
  mkdir -p "${root}/bin" "${root}/proc" "${root}/sys" "${root}/dev" "${root}/etc"
  ln -sf busybox "${root}/bin/sh"
  ln -sf busybox "${root}/bin/grep"
  tar -C "${root}" -c . | docker import --change 'CMD ["/bin/sh"]' - "$1" >/dev/null
  rm -rf "${root}"
}


# build_redis_image IMAGE: Debian's redis-server under the pinned name (the
# chart passes only arguments: the entrypoint is redis-server). Debian's
# release is not the pinned tag's: a stand-in, said so in the summary.
build_redis_image() {
  ensure_image "${DEBIAN_IMAGE}" build_debian_image
  local ctx version
  ctx="$(mktemp -d "${RAY101_CACHE}/.ctx.XXXXXX")"
  cat >"${ctx}/Dockerfile" <<DOCKERFILE
FROM ${DEBIAN_IMAGE}
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
    && apt-get clean && rm -rf /var/lib/apt/lists/* && mkdir -p /data
WORKDIR /data
ENTRYPOINT ["redis-server"]
DOCKERFILE
  docker_build "$1" "${ctx}"
  rm -rf "${ctx}"
  version="$(docker run --rm "$1" --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')"
  STAND_INS+=("$1: Debian's redis-server ${version:-?}, not the upstream image of that tag")
}

# build_seaweedfs_image IMAGE: `weed` as scripts/build-seaweedfs builds it from
# its module at SEAWEEDFS_VERSION (the release the pinned tag names), in
# /usr/bin/weed where the chart runs it.
build_seaweedfs_image() {
  ensure_image "${DEBIAN_IMAGE}" build_debian_image
  local weed ctx
  low "${REPO_ROOT}/scripts/build-seaweedfs" >&2 || die "scripts/build-seaweedfs failed"
  weed="$("${REPO_ROOT}/scripts/build-seaweedfs" --print-path)"
  ctx="$(mktemp -d "${RAY101_CACHE}/.ctx.XXXXXX")"
  cp "${weed}" "${ctx}/weed"
  printf 'FROM %s\nCOPY weed /usr/bin/weed\nENTRYPOINT ["/usr/bin/weed"]\n' "${DEBIAN_IMAGE}" >"${ctx}/Dockerfile"
  docker_build "$1" "${ctx}"
  rm -rf "${ctx}"
}

# build_ray_base_image IMAGE: images/offline/ray-base, Ray ${RAY_VERSION} on
# Debian's Python (which must be PYTHON_VERSION), the wheels downloaded here by
# pip through constraints.txt. A stand-in for Ray's own image, said so.
build_ray_base_image() {
  ensure_image "${DEBIAN_IMAGE}" build_debian_image
  local ctx py debian_py
  py="$(command -v "python${PYTHON_VERSION}" || true)"
  [[ -n "${py}" ]] || die "needs python${PYTHON_VERSION} on this machine to download Ray's wheels" "${EXIT_PREREQ}"
  debian_py="$(docker run --rm "${DEBIAN_IMAGE}" sh -c 'ls /usr/bin/python3.* 2>/dev/null' || true)"
  ctx="$(cache_dir ray-base "${RAY_VERSION}")/context"
  rm -rf "${ctx}"
  mkdir -p "${ctx}/wheels"
  info "pip download ray[default]==${RAY_VERSION} (constraints.txt) -> ${ctx}/wheels"
  low "${py}" -m pip download --quiet --only-binary=:all: --constraint "${REPO_ROOT}/constraints.txt" \
    -d "${ctx}/wheels" "ray[default]==${RAY_VERSION}" >&2 || die "pip download ray==${RAY_VERSION} failed"
  cp "${REPO_ROOT}/images/offline/ray-base/Dockerfile" "${ctx}/Dockerfile"
  docker_build "$1" "${ctx}" --build-arg "DEBIAN_IMAGE=${DEBIAN_IMAGE}" --build-arg "RAY_VERSION=${RAY_VERSION}"
  rm -rf "${ctx}/wheels"
  docker run --rm "$1" python -c "import sys, ray; assert sys.version.startswith('${PYTHON_VERSION}'), sys.version; print(ray.__version__)" >/dev/null ||
    die "$1: Ray ${RAY_VERSION} on Python ${PYTHON_VERSION} does not import (Debian's: ${debian_py:-none})"
  STAND_INS+=("$1: Debian's Python ${PYTHON_VERSION} and ray[default] ${RAY_VERSION} from PyPI (images/offline/ray-base), not Ray's own image")
}

# shellcheck shell=bash
# shellcheck disable=SC2034  # names defined here are used by the files that source this one
#
# scripts/lib/images.sh: the images the kind path needs, and the builders that
# make them here from Debian packages and Go modules when they cannot be
# pulled. Needs common.sh, messages.sh, builds.sh, gobuild.sh and docker.sh.

# "IMAGE|BUILDER": every image the kind path pulls, with the function that
# builds it offline ("" where scripts/offline-images cannot build it).
KIND_PATH_IMAGES=(
  "${KIND_NODE_IMAGE}|build_node_image"
  "${KUBERAY_OPERATOR_IMAGE}:v${KUBERAY_VERSION}|ensure_operator_image"
  "${RAY_IMAGE}:${RAY_IMAGE_TAG_CPU}|build_ray_base_image"
  "${REDIS_IMAGE}|build_redis_image"
  "${SEAWEEDFS_IMAGE}|build_seaweedfs_image"
)

# operator_source_version: KUBERAY_VERSION when the module proxy serves its
# source, else KUBERAY_OFFLINE_FALLBACK_VERSION, with a warning.
operator_source_version() {
  if low "$(go_cmd)" mod download "${KUBERAY_OPERATOR_MODULE}@v${KUBERAY_VERSION}" >/dev/null 2>&1; then
    echo "${KUBERAY_VERSION}"
    return 0
  fi
  warn "the Go module proxy refuses ${KUBERAY_OPERATOR_MODULE}@v${KUBERAY_VERSION}'s source; building the operator at v${KUBERAY_OFFLINE_FALLBACK_VERSION} (KUBERAY_OFFLINE_FALLBACK_VERSION) instead"
  echo "${KUBERAY_OFFLINE_FALLBACK_VERSION}"
}

# ensure_operator_image IMAGE: IMAGE (the pinned operator) when it is here or
# can be pulled; else the operator built here from its module, at the pinned
# version when the module proxy serves its source, else at the fallback version
# under that version's own tag (never under IMAGE's), which scripts/kind-up
# then installs.
ensure_operator_image() {
  local version
  if [[ "${PLAN:-false}" == true || "$(image_decide "$1")" != build ]]; then
    ensure_image "$1" build_operator_image
    return 0
  fi
  version="$(operator_source_version)"
  ensure_image "${KUBERAY_OPERATOR_IMAGE}:v${version}" build_operator_image
  [[ "${version}" == "${KUBERAY_VERSION}" ]] ||
    STAND_INS+=("$1: not built (the module proxy refuses v${KUBERAY_VERSION}'s source); ${KUBERAY_OPERATOR_IMAGE}:v${version} built from ${KUBERAY_OPERATOR_MODULE}@v${version} instead")
}

# build_operator_image IMAGE: the KubeRay operator's manager from its module at
# IMAGE's tag (as its Dockerfile builds it, without the FIPS build tag: a static
# binary), on Debian, as uid 65532 like the upstream image.
build_operator_image() {
  ensure_image "${DEBIAN_IMAGE}" build_debian_image
  local version="${1##*:}" bin ctx
  bin="$(go_install_cached kuberay-operator "${version}" "${KUBERAY_OPERATOR_MODULE}" "" "${KUBERAY_OPERATOR_MODULE}")"
  ctx="$(mktemp -d "${RAY101_CACHE}/.ctx.XXXXXX")"
  cp "${bin}" "${ctx}/manager"
  printf 'FROM %s\nCOPY manager /manager\nUSER 65532:65532\nENTRYPOINT ["/manager"]\n' "${DEBIAN_IMAGE}" >"${ctx}/Dockerfile"
  docker_build "$1" "${ctx}"
  rm -rf "${ctx}"
}

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

# build_mongo_standin_image IMAGE: images/offline/mongo-standin, nx-27017 from
# PyPI (wheels downloaded here through constraints.txt) on Debian's Python. A
# stand-in for MongoDB under its own name, said so.
build_mongo_standin_image() {
  ensure_image "${DEBIAN_IMAGE}" build_debian_image
  local ctx py
  py="$(command -v "python${PYTHON_VERSION}" || true)"
  [[ -n "${py}" ]] || die "needs python${PYTHON_VERSION} on this machine to download nx-27017's wheels" "${EXIT_PREREQ}"
  ctx="$(mktemp -d "${RAY101_CACHE}/.ctx.XXXXXX")"
  mkdir -p "${ctx}/wheels"
  low "${py}" -m pip download --quiet --only-binary=:all: --constraint "${REPO_ROOT}/constraints.txt" \
    -d "${ctx}/wheels" nx-27017 >&2 || die "pip download nx-27017 failed"
  cp "${REPO_ROOT}/images/offline/mongo-standin/Dockerfile" "${ctx}/Dockerfile"
  docker_build "$1" "${ctx}" --build-arg "DEBIAN_IMAGE=${DEBIAN_IMAGE}"
  rm -rf "${ctx}"
  docker run --rm --entrypoint python3 "$1" -c "import nx_27017, pymongo" ||
    die "$1: nx-27017 does not import in the image"
  STAND_INS+=("$1: nx-27017 from PyPI (a MongoDB wire-protocol server over SQLite, without authentication) for ${MONGO_IMAGE}, which can be neither pulled nor built here (${MONGO_STANDIN_VALUES})")
}

# shellcheck shell=bash
# shellcheck disable=SC2034  # names defined here are used by the files that source this one
#
# scripts/lib/tags.sh: the project's images and their tags: ray101:<version>
# (and -gpu), the per-build tag scripts/build-images gives them and records,
# the earlier builds it removes, and the tag scripts/deploy deploys. Needs
# common.sh and messages.sh.

# The project's images (tags from versions.env; the chart and overlays use them).
IMAGE_REPOSITORY="ray101"
IMAGE_CPU="${IMAGE_REPOSITORY}:${RAY101_VERSION}"
IMAGE_GPU="${IMAGE_REPOSITORY}:${RAY101_VERSION}-gpu"
# Each build is also tagged <version>-<git sha> (and, from a tree with
# uncommitted changes, -<image id>), and scripts/deploy deploys that tag: with
# imagePullPolicy IfNotPresent a rebuilt image under the same tag would restart
# nothing. scripts/build-images writes the tag here; RAY101_IMAGE_TAG overrides.
IMAGE_TAG_FILE="${RAY101_IMAGE_TAG_FILE:-${REPO_ROOT}/results/build/image-tag}"

# build_tag IMAGE: the per-build tag of a freshly built IMAGE.
build_tag() {
  local sha id
  sha="$(git -C "${REPO_ROOT}" rev-parse --short=12 HEAD 2>/dev/null || echo nogit)"
  if [[ "${sha}" == nogit ]] || [[ -n "$(git -C "${REPO_ROOT}" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
    id="$(docker image inspect --format '{{.Id}}' "$1")"
    id="${id#sha256:}"
    sha="${sha}-${id:0:12}"
  fi
  echo "${RAY101_VERSION}-${sha}"
}

# image_tag: the tag to deploy: RAY101_IMAGE_TAG, else the last build's, else
# the plain version (an image built some other way; a rebuild then restarts nothing).
image_tag() {
  if [[ -n "${RAY101_IMAGE_TAG:-}" ]]; then
    echo "${RAY101_IMAGE_TAG}"
  elif [[ -s "${IMAGE_TAG_FILE}" ]]; then
    cat "${IMAGE_TAG_FILE}"
  else
    warn "no build recorded in ${IMAGE_TAG_FILE#"${REPO_ROOT}"/} (scripts/build-images writes it): deploying the tag ${RAY101_VERSION}, which a rebuilt image does not change"
    echo "${RAY101_VERSION}"
  fi
}

# remove_earlier_builds KEEP: remove the per-build tags of the earlier builds of
# KEEP's flavour (CPU, or -gpu), and then the build cache no image uses any
# more, so that docker frees what only they held: a change of constraints.txt
# makes a new 4.9 GB torch layer (pyproject.toml's requirements one of 0.7 GB),
# and every earlier tag kept its own on disk, then BuildKit's cache did. The
# kind nodes keep what was loaded into them, and the plain tags
# (ray101:<version>[-gpu]) move with each build. `docker builder prune`
# without --all removes only cache that no image and no build uses.
remove_earlier_builds() {
  local keep="$1" tag earlier=()
  while read -r tag; do
    [[ "${tag}" == "${RAY101_VERSION}-"* && "${tag}" != "${keep}" && "${tag}" != "${RAY101_VERSION}-gpu" ]] || continue
    if [[ "${keep}" == *-gpu ]]; then
      [[ "${tag}" == *-gpu ]] || continue
    else
      [[ "${tag}" != *-gpu ]] || continue
    fi
    earlier+=("${IMAGE_REPOSITORY}:${tag}")
  done < <(docker image ls "${IMAGE_REPOSITORY}" --format '{{.Tag}}')
  ((${#earlier[@]} > 0)) || return 0
  info "removing ${#earlier[@]} earlier build(s): ${earlier[*]}"
  docker image rm "${earlier[@]}" >/dev/null || warn "could not remove every earlier build (one still in use?)"
  # The builds that had no tag of their own left (the plain tag moved on).
  docker image prune --force --filter "label=org.opencontainers.image.title=${IMAGE_REPOSITORY}" >/dev/null
  info "build cache freed: $(docker builder prune --force 2>/dev/null | sed -n 's/^Total:[[:space:]]*//p')"
}

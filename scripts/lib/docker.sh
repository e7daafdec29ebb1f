# shellcheck shell=bash
# shellcheck disable=SC2034  # names defined here are used by the files that source this one
#
# scripts/lib/docker.sh: a docker daemon to talk to, and the one decision that
# matters offline: for each image the kind path needs, is it here, can it be
# pulled, or must it be built here? Needs common.sh, messages.sh and
# builds.sh.

# The dockerd this run started (empty: one was already answering, or none).
DOCKERD_PID=""
DOCKERD_LOG="${RAY101_CACHE}/logs/dockerd.log"

docker_answers() { docker info >/dev/null 2>&1; }

# docker_ensure_daemon: use the daemon that answers; else start Debian's
# dockerd (installing docker.io with apt-get when root and it is missing).
docker_ensure_daemon() {
  command -v docker >/dev/null 2>&1 || die "needs the docker CLI" "${EXIT_PREREQ}"
  if docker_answers; then
    info "docker answers: $(docker version --format 'engine {{.Server.Version}}' 2>/dev/null)"
    return 0
  fi
  if ! command -v dockerd >/dev/null 2>&1; then
    if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
      die "no docker daemon answers and dockerd is not installed (Debian: apt-get install docker.io)" "${EXIT_PREREQ}"
    fi
    info "no dockerd: apt-get install docker.io"
    DEBIAN_FRONTEND=noninteractive low apt-get install -y -qq docker.io >/dev/null ||
      die "apt-get install docker.io failed" "${EXIT_PREREQ}"
  fi
  [[ "$(id -u)" == 0 ]] || die "no docker daemon answers; starting dockerd needs root" "${EXIT_PREREQ}"
  mkdir -p "$(dirname "${DOCKERD_LOG}")"
  info "starting dockerd (log: ${DOCKERD_LOG})"
  dockerd >>"${DOCKERD_LOG}" 2>&1 &
  DOCKERD_PID=$!
  local i
  for ((i = 0; i < 60; i++)); do
    docker_answers && break
    kill -0 "${DOCKERD_PID}" 2>/dev/null || {
      tail -n 20 "${DOCKERD_LOG}" >&2
      DOCKERD_PID=""
      die "dockerd exited (log above)"
    }
    sleep 1
  done
  docker_answers || die "dockerd did not answer within 60s (${DOCKERD_LOG})"
  info "dockerd ${DOCKERD_PID} answers: $(docker version --format 'engine {{.Server.Version}}')"
}

# docker_stop_ours: stop the dockerd this run started, and no other.
docker_stop_ours() {
  [[ -n "${DOCKERD_PID}" ]] || return 0
  if kill -0 "${DOCKERD_PID}" 2>/dev/null; then
    info "stopping the dockerd this run started (${DOCKERD_PID})"
    kill -TERM "${DOCKERD_PID}" 2>/dev/null || true
    local i
    for ((i = 0; i < 30; i++)); do
      kill -0 "${DOCKERD_PID}" 2>/dev/null || break
      sleep 1
    done
  fi
  DOCKERD_PID=""
}

# docker_reload: make the running dockerd re-read daemon.json (runtimes and
# default-runtime are reloadable with SIGHUP).
docker_reload() {
  local pid
  pid="${DOCKERD_PID:-$(pgrep -xo dockerd || true)}"
  [[ -n "${pid}" ]] || return 0
  kill -HUP "${pid}"
  sleep 2
}

# --- Pull or build ---------------------------------------------------------------
# image_decide IMAGE: prints present, pulled or build. An image is built only
# when `docker image inspect` fails AND `docker pull` fails: with a registry
# nothing changes.
image_decide() {
  local image="$1"
  if docker image inspect "${image}" >/dev/null 2>&1; then
    echo present
  elif docker pull --quiet "${image}" >/dev/null 2>"${RAY101_CACHE}/logs/pull.err"; then
    echo pulled
  else
    echo build
  fi
}

# What each image came to, for the summary ("IMAGE<TAB>how").
IMAGE_RESULTS=()
BUILT_IMAGES=()
# STAND_INS: images built as stand-ins, not from their own source (said plainly).
STAND_INS=()
# Images a run before this one built here (still the same image ID), so that a
# warm run's summary still says which images were not pulled.
BUILT_EARLIER=()
# The images this run has decided already.
declare -A DECIDED=()
# "IMAGE<TAB>ID<TAB>note" of every image built here, kept across runs.
BUILT_RECORD="${RAY101_CACHE}/built-images.tsv"

# built_record_note IMAGE: the note recorded when this very image (same ID)
# was built here; fails when it was not.
built_record_note() {
  local id line
  [[ -s "${BUILT_RECORD}" ]] || return 1
  awk -F '\t' -v i="$1" '$1 == i { f = 1 } END { exit !f }' "${BUILT_RECORD}" || return 1
  id="$(docker image inspect --format '{{.Id}}' "$1" 2>/dev/null)" || return 1
  line="$(awk -F '\t' -v i="$1" -v d="${id}" '$1 == i && $2 == d' "${BUILT_RECORD}" | tail -n 1)"
  [[ -n "${line}" ]] || return 1
  printf '%s\n' "${line#*	*	}"
}

# built_record_add IMAGE NOTE: remember that IMAGE (its current ID) was built here.
built_record_add() {
  local id
  id="$(docker image inspect --format '{{.Id}}' "$1" 2>/dev/null || true)"
  mkdir -p "$(dirname "${BUILT_RECORD}")"
  printf '%s\t%s\t%s\n' "$1" "${id}" "${2:-built here}" >>"${BUILT_RECORD}"
}

# ensure_image IMAGE BUILDER [KEY]: decide; when it must be built, run BUILDER
# IMAGE (a function; "" when this script cannot build it yet). With KEY, an
# image this script built earlier (its label ray101.offline.key) from other
# inputs is built again; an image without the label (pulled) is kept.
# PLAN=true decides only.
ensure_image() {
  local image="$1" builder="$2" key="${3:-}" how t0=${SECONDS} old
  mkdir -p "${RAY101_CACHE}/logs"
  # Decided once a run: the base images many builders share are not re-listed.
  if [[ -n "${DECIDED[${image}]:-}" ]] && docker image inspect "${image}" >/dev/null 2>&1; then
    return 0
  fi
  DECIDED[${image}]=1
  how="$(image_decide "${image}")"
  if [[ "${how}" == present && -n "${key}" ]]; then
    old="$(docker image inspect --format '{{ index .Config.Labels "ray101.offline.key" }}' "${image}" 2>/dev/null || true)"
    if [[ -n "${old}" && "${old}" != "<no value>" && "${old}" != "${key}" ]]; then
      info "${image}: built here from other inputs (${old}); building it again"
      how=build
      echo "inputs changed" >"${RAY101_CACHE}/logs/pull.err"
    fi
  fi
  local note
  if [[ "${how}" == present ]] && note="$(built_record_note "${image}")"; then
    how="present, built here earlier (${note})"
    BUILT_EARLIER+=("${image}")
  fi
  case "${how}" in
    present* | pulled) info "${image}: ${how}" ;;
    build)
      info "${image}: not here and the pull failed: $(tail -n 1 "${RAY101_CACHE}/logs/pull.err")"
      if [[ -z "${builder}" ]]; then
        how="missing (no offline build yet)"
      elif [[ "${PLAN:-false}" == true ]]; then
        how="to build (${builder})"
      else
        "${builder}" "${image}"
        docker image inspect "${image}" >/dev/null 2>&1 || die "${builder} did not produce ${image}"
        how="built here ($((SECONDS - t0))s)"
        BUILT_IMAGES+=("${image}")
        note="not pulled"
        local standin
        for standin in "${STAND_INS[@]}"; do
          [[ "${standin}" != "${image}: "* ]] || note="stand-in: ${standin#"${image}: "}"
        done
        built_record_add "${image}" "${note}"
      fi
      info "${image}: ${how}"
      ;;
  esac
  IMAGE_RESULTS+=("$(printf '%s\t%s' "${image}" "${how}")")
}

# docker_build IMAGE CONTEXT [ARGS...]: docker build at low priority, its
# output in ${RAY101_CACHE}/logs/build-<name>.log (the tail shown on failure).
docker_build() {
  local image="$1" ctx="$2" log
  shift 2
  log="${RAY101_CACHE}/logs/build-$(tr '/:' '__' <<<"${image}").log"
  if ! low docker build --force-rm "$@" -t "${image}" "${ctx}" >"${log}" 2>&1; then
    tail -n 30 "${log}" >&2
    die "docker build ${image} failed (${log})"
  fi
}

# shellcheck shell=bash
# shellcheck disable=SC2034  # names defined here are used by the files that source this one
#
# scripts/lib/runc.sh: scripts/runc-caps (the project's runc wrapper), built
# into the cache and installed only where the capability bounding set lacks a
# capability that docker gives a --privileged container. Needs common.sh,
# messages.sh, builds.sh, gobuild.sh and docker.sh.

RUNC_CAPS_SRC="${REPO_ROOT}/scripts/runc-caps"
RUNC_CAPS_BIN_HOST="/usr/local/bin/runc-caps"
RUNC_CAPS_RUNTIME="runc-caps"
DOCKER_DAEMON_JSON="${DOCKER_DAEMON_JSON:-/etc/docker/daemon.json}"

# runc_caps_version: the wrapper's cache key, a hash of its source.
runc_caps_version() {
  cat "${RUNC_CAPS_SRC}/go.mod" "${RUNC_CAPS_SRC}"/*.go | sha256sum | cut -c1-12
}

# runc_caps_build: the static wrapper binary's path (built when not cached).
runc_caps_build() {
  local dir bin
  dir="$(cache_dir runc-caps "$(runc_caps_version)")"
  bin="${dir}/bin/runc-caps"
  if [[ -x "${bin}" ]]; then
    CACHED_TOOLS+=("runc-caps $(runc_caps_version)")
  else
    mkdir -p "${dir}/bin"
    (cd "${RUNC_CAPS_SRC}" && CGO_ENABLED=0 low "$(go_cmd)" build -trimpath -ldflags "-s -w" \
      -o "${bin}.tmp" .) >&2 || die "building scripts/runc-caps failed"
    mv "${bin}.tmp" "${bin}"
    BUILT_TOOLS+=("runc-caps $(runc_caps_version)")
  fi
  echo "${bin}"
}

# runc_caps_missing BIN: the capabilities this bounding set lacks (one a line).
runc_caps_missing() { "$1" --runc-caps-missing; }

# daemon_json_set_runtime: register runc-caps in daemon.json's runtimes and make
# it the default runtime (kind's `docker run --privileged` then goes through
# it). Keeps every other setting. Prints "changed" when it wrote the file.
daemon_json_set_runtime() {
  mkdir -p "$(dirname "${DOCKER_DAEMON_JSON}")"
  python3 - "${DOCKER_DAEMON_JSON}" "${RUNC_CAPS_RUNTIME}" "${RUNC_CAPS_BIN_HOST}" <<'PY'
import json, os, sys
path, name, binary = sys.argv[1:]
config = {}
if os.path.exists(path) and os.path.getsize(path) > 0:
    with open(path) as f:
        config = json.load(f)
before = json.dumps(config, sort_keys=True)
config.setdefault("runtimes", {})[name] = {"path": binary}
config["default-runtime"] = name
if json.dumps(config, sort_keys=True) != before:
    with open(path + ".tmp", "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    os.replace(path + ".tmp", path)
    print("changed")
PY
}

# runc_caps_setup: install the wrapper and make it docker's default runtime,
# where the bounding set needs it; elsewhere change nothing.
runc_caps_setup() {
  local bin missing changed=""
  bin="$(runc_caps_build)"
  missing="$(runc_caps_missing "${bin}" | paste -sd, -)"
  if [[ -z "${missing}" ]]; then
    info "the bounding set has every capability: runc-caps not needed, nothing installed"
    RUNC_CAPS_NEEDED=false
    return 0
  fi
  RUNC_CAPS_NEEDED=true
  info "the bounding set lacks ${missing}: docker --privileged needs runc-caps"
  [[ "$(id -u)" == 0 ]] || die "installing ${RUNC_CAPS_BIN_HOST} and ${DOCKER_DAEMON_JSON} needs root" "${EXIT_PREREQ}"
  if ! cmp -s "${bin}" "${RUNC_CAPS_BIN_HOST}"; then
    install -m 0755 "${bin}" "${RUNC_CAPS_BIN_HOST}.tmp"
    mv "${RUNC_CAPS_BIN_HOST}.tmp" "${RUNC_CAPS_BIN_HOST}"
    info "installed ${RUNC_CAPS_BIN_HOST}"
  fi
  changed="$(daemon_json_set_runtime)"
  if [[ -n "${changed}" ]]; then
    info "${DOCKER_DAEMON_JSON}: runtime ${RUNC_CAPS_RUNTIME} registered as the default"
    docker_answers && docker_reload
  fi
  local runtime
  runtime="$(docker info --format '{{.DefaultRuntime}}' 2>/dev/null || true)"
  [[ "${runtime}" == "${RUNC_CAPS_RUNTIME}" ]] ||
    die "docker's default runtime is '${runtime}', not ${RUNC_CAPS_RUNTIME}, after the reload"
}

# runc_caps_verify IMAGE: a --privileged container runs (IMAGE is any local image).
runc_caps_verify() {
  local out
  out="$(docker run --rm --privileged --entrypoint /bin/sh "$1" -c 'grep CapEff /proc/self/status' 2>&1)" ||
    die "a --privileged container did not run: ${out}"
  info "a --privileged container runs: ${out}"
}

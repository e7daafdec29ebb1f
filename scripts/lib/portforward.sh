# shellcheck shell=bash
# shellcheck disable=SC2034  # names defined here are used by the files that source this one
#
# scripts/lib/portforward.sh: kubectl port-forward to a free local port, and
# stopping every forward this script started (from its EXIT trap). Needs
# common.sh, names.sh and prereqs.sh (python_bin).

PF_PIDS=()
PF_PORT=""

free_port() {
  "$(python_bin)" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# port_forward TARGET REMOTE_PORT: kubectl port-forward on a free local port, set PF_PORT.
# The caller's EXIT trap runs stop_port_forwards.
port_forward() {
  local target=$1 remote=$2 port log pid deadline
  port="$(free_port)"
  log="$(mktemp "${TMPDIR:-/tmp}/ray101-port-forward.XXXXXX")"
  kubectl -n "${NAMESPACE}" port-forward --address 127.0.0.1 "${target}" "${port}:${remote}" >"${log}" 2>&1 &
  pid=$!
  PF_PIDS+=("${pid}")
  deadline=$((SECONDS + 60))
  until port_open "${port}"; do
    if ! kill -0 "${pid}" 2>/dev/null; then
      printf 'error: %s: kubectl port-forward %s %s:%s exited:\n' "${SCRIPT_NAME}" "${target}" "${port}" "${remote}" >&2
      cat "${log}" >&2
      return 1
    fi
    if ((SECONDS >= deadline)); then
      printf 'error: %s: port-forward to %s:%s did not open in 60s\n' "${SCRIPT_NAME}" "${target}" "${remote}" >&2
      return 1
    fi
    sleep 1
  done
  rm -f "${log}"
  PF_PORT="${port}"
}

stop_port_forwards() {
  local pid
  for pid in ${PF_PIDS[@]+"${PF_PIDS[@]}"}; do
    kill "${pid}" 2>/dev/null || true
    wait "${pid}" 2>/dev/null || true
  done
  PF_PIDS=()
}

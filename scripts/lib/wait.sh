# shellcheck shell=bash
# shellcheck disable=SC2034  # names defined here are used by the files that source this one
#
# scripts/lib/wait.sh: waiting for a condition: a command run every POLL_S
# seconds until it succeeds or its time is up. Needs common.sh.

# Seconds between polls in the waits below.
POLL_S="${RAY101_POLL_S:-5}"

# wait_until TIMEOUT_S WHAT CMD...: run CMD every POLL_S seconds until it succeeds.
wait_until() {
  local timeout=$1 what=$2
  shift 2
  local deadline=$((SECONDS + timeout))
  until "$@"; do
    if ((SECONDS >= deadline)); then
      printf 'error: %s: timed out after %ss waiting for %s\n' "${SCRIPT_NAME}" "${timeout}" "${what}" >&2
      return 1
    fi
    sleep "${POLL_S}"
  done
}

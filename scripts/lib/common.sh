# shellcheck shell=bash
# shellcheck disable=SC2034  # names defined here are used by the files that source this one
#
# scripts/lib/common.sh: what every topic file under scripts/lib/ and the
# entry scripts that use them share: versions.env, the cache root, numbered
# step messages with times, and the low-priority runner for slow builds.
# Sourced, never run. The entry script sets REPO_ROOT from its BASH_SOURCE.

: "${REPO_ROOT:?set REPO_ROOT before sourcing scripts/lib/common.sh}"
SCRIPT_NAME="${SCRIPT_NAME:-$(basename "$0")}"
# A failure inside $(...) fails the assignment that uses it.
shopt -s inherit_errexit

# Versions live in one place.
# shellcheck source=SCRIPTDIR/../../versions.env
source "${REPO_ROOT}/versions.env"

# Builds are cached outside the repository, keyed by name and version:
#   ${RAY101_CACHE}/<name>-<version>/
RAY101_CACHE="${RAY101_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/ray101}"

EXIT_FAILED=1
EXIT_USAGE=2
EXIT_PREREQ=3

STEP_NO=0
STEP_T0=${SECONDS}
STEP_TITLE=""
# STEP_TIMES: "N<TAB>seconds<TAB>title" of every finished step, for the summary.
STEP_TIMES=()

now() { date -u +%H:%M:%S; }

# step_end: close the current step, recording its time.
step_end() {
  if ((STEP_NO > 0)) && [[ -n "${STEP_TITLE}" ]]; then
    local took=$((SECONDS - STEP_T0))
    STEP_TIMES+=("$(printf '%d\t%d\t%s' "${STEP_NO}" "${took}" "${STEP_TITLE}")")
    printf '    (step %d took %ds)\n' "${STEP_NO}" "${took}"
    STEP_TITLE=""
  fi
}

# step MESSAGE: a numbered step with the wall-clock time, so a log shows how
# far a run got and how long each part took.
step() {
  step_end
  STEP_NO=$((STEP_NO + 1))
  STEP_T0=${SECONDS}
  STEP_TITLE="$*"
  printf '\n==> %s [%d] %s  (%s)\n' "${SCRIPT_NAME}" "${STEP_NO}" "$*" "$(now)"
}

info() { printf '    %s\n' "$*"; }
warn() { printf 'warning: %s: %s\n' "${SCRIPT_NAME}" "$*" >&2; }

# die MESSAGE [CODE]
die() {
  printf 'error: %s: %s\n' "${SCRIPT_NAME}" "$1" >&2
  exit "${2:-${EXIT_FAILED}}"
}

# usage: the entry script's header comment (the lines after the shebang).
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

# low CMD...: run CMD at the lowest CPU and I/O priority: the machines these
# builds run on are shared, and a cold build takes many minutes.
low() {
  if command -v ionice >/dev/null 2>&1; then
    nice -n 19 ionice -c3 "$@"
  else
    nice -n 19 "$@"
  fi
}

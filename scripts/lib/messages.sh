# shellcheck shell=bash
# shellcheck disable=SC2034  # names defined here are used by the files that source this one
#
# scripts/lib/messages.sh: what a script says: numbered steps (with the
# wall-clock time and how long each took, where the script asks), info,
# warnings, errors that exit with a code, and --help from the script's header
# comment. Needs common.sh.

# STEP_CLOCK=true, set after sourcing this file by the scripts whose steps are
# long builds (scripts/offline-images, scripts/e2e): each step's line shows the
# wall-clock time, and when the next one starts, how long it took.
STEP_CLOCK=false
STEP_NO=0
STEP_T0=${SECONDS}
STEP_TITLE=""
# STEP_TIMES: "N<TAB>seconds<TAB>title" of every finished step, for the summary.
STEP_TIMES=()

now() { date -u +%H:%M:%S; }

# step_end: close the current step, recording its time (and, with
# STEP_CLOCK, saying it).
step_end() {
  if ((STEP_NO > 0)) && [[ -n "${STEP_TITLE}" ]]; then
    local took=$((SECONDS - STEP_T0))
    STEP_TIMES+=("$(printf '%d\t%d\t%s' "${STEP_NO}" "${took}" "${STEP_TITLE}")")
    if [[ "${STEP_CLOCK}" == true ]]; then
      printf '    (step %d took %ds)\n' "${STEP_NO}" "${took}"
    fi
    STEP_TITLE=""
  fi
}

# step MESSAGE: a numbered step, so a log shows how far a run got (with
# STEP_CLOCK, the wall-clock time too, and how long each part took).
step() {
  step_end
  STEP_NO=$((STEP_NO + 1))
  STEP_T0=${SECONDS}
  STEP_TITLE="$*"
  if [[ "${STEP_CLOCK}" == true ]]; then
    printf '\n==> %s [%d] %s  (%s)\n' "${SCRIPT_NAME}" "${STEP_NO}" "$*" "$(now)"
  else
    printf '\n==> %s [%d] %s\n' "${SCRIPT_NAME}" "${STEP_NO}" "$*"
  fi
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

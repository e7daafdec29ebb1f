# shellcheck shell=bash
# shellcheck disable=SC2034  # names defined here are used by the files that source this one
#
# scripts/lib/common.sh: the base every script in scripts/ sources first: the
# repository root, the script's name, the shell options, the pinned versions
# (versions.env) and the exit codes. Sourced, never run; needs nothing sourced
# before it. The entry script sets REPO_ROOT from its BASH_SOURCE (else: the
# checkout this file is in).

: "${REPO_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
SCRIPT_NAME="${SCRIPT_NAME:-$(basename "$0")}"
# A failure inside $(...) fails the assignment that uses it.
shopt -s inherit_errexit

# Versions live in one place.
# shellcheck source=SCRIPTDIR/../../versions.env
source "${REPO_ROOT}/versions.env"

# Exit codes: 1 something failed, 2 a usage mistake, 3 a missing prerequisite
# (a tool, the docker daemon, a cluster, the operator).
EXIT_FAILED=1
EXIT_USAGE=2
EXIT_PREREQ=3

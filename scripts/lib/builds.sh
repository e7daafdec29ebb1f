# shellcheck shell=bash
# shellcheck disable=SC2034  # names defined here are used by the files that source this one
#
# scripts/lib/builds.sh: slow builds on a shared machine: the cache they are
# kept in outside the repository, and `low`, which runs a command at the lowest
# CPU and I/O priority. Needs common.sh.

# Builds are cached outside the repository, keyed by name and version:
#   ${RAY101_CACHE}/<name>-<version>/
RAY101_CACHE="${RAY101_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/ray101}"

# low CMD...: run CMD at the lowest CPU and I/O priority: the machines these
# builds run on are shared, and a cold build takes many minutes.
low() {
  if command -v ionice >/dev/null 2>&1; then
    nice -n 19 ionice -c3 "$@"
  else
    nice -n 19 "$@"
  fi
}

# shellcheck shell=bash
# shellcheck disable=SC2034  # names defined here are used by the files that source this one
#
# scripts/lib/diagnostics.sh: the logs a failure leaves: the operator's, the
# Ray head's and the failing pods', with events and descriptions, kept whole
# in LOG_DIR and their tails printed. Needs common.sh, names.sh and kube.sh.

# Where failure logs go (CI uploads this folder).
LOG_DIR="${RAY101_LOG_DIR:-${REPO_ROOT}/results/e2e-logs}"

# dump_logs: operator, head and failing pods' logs to stdout (tails) and LOG_DIR (whole).
dump_logs() {
  local pod phase ready restarts
  mkdir -p "${LOG_DIR}"
  echo
  echo "==> ${SCRIPT_NAME}: failure diagnostics (full logs in ${LOG_DIR#"${REPO_ROOT}"/})"
  {
    kubectl get nodes -o wide
    echo
    kubectl -n "${NAMESPACE}" get all,pvc,rayclusters,rayjobs,rayservices -o wide
    echo
    kubectl -n "${OPERATOR_NAMESPACE}" get all -o wide
  } >"${LOG_DIR}/overview.txt" 2>&1 || true
  cat "${LOG_DIR}/overview.txt"
  kubectl -n "${NAMESPACE}" get events --sort-by=.lastTimestamp >"${LOG_DIR}/events.txt" 2>&1 || true
  kubectl -n "${NAMESPACE}" describe rayclusters,rayjobs,rayservices,statefulsets,jobs \
    >"${LOG_DIR}/describe.txt" 2>&1 || true

  kubectl -n "${OPERATOR_NAMESPACE}" logs "deployment/${OPERATOR_RELEASE}" --all-containers --tail=-1 \
    >"${LOG_DIR}/kuberay-operator.log" 2>&1 || true
  echo "--- KubeRay operator (last 60 lines)"
  tail -n 60 "${LOG_DIR}/kuberay-operator.log"

  for pod in $(kget pods -l "ray.io/cluster=${RAYCLUSTER},ray.io/node-type=head" -o name); do
    kubectl -n "${NAMESPACE}" logs "${pod}" --all-containers --tail=-1 >"${LOG_DIR}/${pod#pod/}.log" 2>&1 || true
    echo "--- ${pod} (Ray head, last 60 lines)"
    tail -n 60 "${LOG_DIR}/${pod#pod/}.log"
  done

  # Every pod's logs go to files; the failing ones (not Running/Succeeded, not
  # ready, or restarted) are also shown here with their previous container's.
  while read -r pod phase ready restarts; do
    [[ -n "${pod}" ]] || continue
    kubectl -n "${NAMESPACE}" logs "pod/${pod}" --all-containers --tail=-1 >"${LOG_DIR}/${pod}.log" 2>&1 || true
    if [[ "${phase}" == Succeeded ]] || [[ "${phase}" == Running && "${ready}" != *false* && "${restarts:-0}" == 0 ]]; then
      continue
    fi
    kubectl -n "${NAMESPACE}" logs "pod/${pod}" --all-containers --previous --tail=-1 \
      >"${LOG_DIR}/${pod}.previous.log" 2>&1 || true
    kubectl -n "${NAMESPACE}" describe "pod/${pod}" >"${LOG_DIR}/${pod}.describe.txt" 2>&1 || true
    echo "--- pod ${pod}: phase=${phase} ready=${ready} restarts=${restarts} (last 60 lines)"
    tail -n 60 "${LOG_DIR}/${pod}.log"
  done < <(kget pods -o 'jsonpath={range .items[*]}{.metadata.name}{" "}{.status.phase}{" "}{range .status.containerStatuses[*]}{.ready}{","}{end}{" "}{.status.containerStatuses[0].restartCount}{"\n"}{end}')
  echo "--- events: ${LOG_DIR#"${REPO_ROOT}"/}/events.txt"
}

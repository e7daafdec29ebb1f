# shellcheck shell=bash
#
# scripts/lib/kube.sh: kubectl against the deployment's namespace: reading its
# objects, whether they are ready, waiting for a Job, deleting the Jobs and
# RayJobs that have finished, where the operator runs, and the Ray auth token
# in its Secret. Needs common.sh, messages.sh, names.sh and wait.sh (POLL_S).

# kget NAME_OR_KIND... -o jsonpath=...: kubectl get in the namespace, empty on error.
kget() { kubectl -n "${NAMESPACE}" get "$@" 2>/dev/null || true; }

statefulset_ready() {
  local ready want
  want="$(kget statefulset "$1" -o 'jsonpath={.spec.replicas}')"
  ready="$(kget statefulset "$1" -o 'jsonpath={.status.readyReplicas}')"
  [[ -n "${want}" && "${want}" != 0 && "${ready}" == "${want}" ]]
}

# mongodb_deployed: the release runs MongoDB (a values override can leave it out).
mongodb_deployed() { [[ -n "$(kget statefulset "${MONGO_STS}" -o name)" ]]; }

# raycluster_ready NAME: the conditions KubeRay sets (HeadPodReady and
# RayClusterProvisioned), or the older status.state "ready".
raycluster_ready() {
  local conditions
  [[ "$(kget raycluster "$1" -o 'jsonpath={.status.state}')" == ready ]] && return 0
  conditions="$(kget raycluster "$1" -o 'jsonpath={range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}')"
  [[ " ${conditions} " == *" HeadPodReady "* && " ${conditions} " == *" RayClusterProvisioned "* ]]
}

# wait_job NAME TIMEOUT_S: until the Job completes; fails at once when it has failed.
wait_job() {
  local name=$1 deadline=$((SECONDS + $2)) complete failed
  while :; do
    complete="$(kget job "${name}" -o 'jsonpath={.status.conditions[?(@.type=="Complete")].status}')"
    failed="$(kget job "${name}" -o 'jsonpath={.status.conditions[?(@.type=="Failed")].status}')"
    if [[ "${complete}" == True ]]; then
      return 0
    fi
    if [[ "${failed}" == True ]]; then
      printf 'error: %s: Job %s failed: %s\n' "${SCRIPT_NAME}" "${name}" \
        "$(kget job "${name}" -o 'jsonpath={.status.conditions[?(@.type=="Failed")].message}')" >&2
      return 1
    fi
    if ((SECONDS >= deadline)); then
      printf 'error: %s: timed out after %ss waiting for Job %s to complete\n' "${SCRIPT_NAME}" "$2" "${name}" >&2
      return 1
    fi
    sleep "${POLL_S}"
  done
}

# delete_finished_jobs NAME...: delete each Job that has completed or failed.
# A Job's pod template cannot change after creation, so applying a new image
# to a finished Job is refused ("field is immutable"); the project's one-off
# Jobs are idempotent, so the apply that follows simply runs them again.
delete_finished_jobs() {
  local name finished
  for name in "$@"; do
    finished="$(kget job "${name}" -o 'jsonpath={.status.conditions[?(@.status=="True")].type}')"
    if [[ " ${finished} " == *" Complete "* || " ${finished} " == *" Failed "* ]]; then
      info "deleting the finished Job ${name} (${finished// /, }); it runs again"
      kubectl -n "${NAMESPACE}" delete job "${name}" --ignore-not-found --wait=true
    fi
  done
}

# operator_namespace: where the KubeRay operator's Deployment runs (its Helm
# chart labels it app.kubernetes.io/name=kuberay-operator); OPERATOR_NAMESPACE
# when none is found (the API may not let this user list other namespaces).
operator_namespace() {
  local found
  found="$(kubectl get deployments --all-namespaces -l app.kubernetes.io/name=kuberay-operator \
    -o 'jsonpath={.items[0].metadata.namespace}' 2>/dev/null || true)"
  echo "${found:-${OPERATOR_NAMESPACE}}"
}

# delete_finished_rayjobs: delete this release's RayJobs that have ended
# (Complete, Failed, ValidationFailed). KubeRay never runs a terminal RayJob
# again, not even when `helm upgrade` changes it; deleted, the apply that
# follows creates it anew and it runs with the new spec and image.
delete_finished_rayjobs() {
  local name state
  while read -r name state; do
    [[ -n "${name}" ]] || continue
    case "${state}" in
      Complete | Failed | ValidationFailed)
        info "deleting the finished RayJob ${name} (${state}); it runs again"
        kubectl -n "${NAMESPACE}" delete rayjob "${name}" --ignore-not-found --wait=true
        ;;
    esac
  done < <(kget rayjobs -l "app.kubernetes.io/instance=${RELEASE}" \
    -o 'jsonpath={range .items[*]}{.metadata.name}{" "}{.status.jobDeploymentStatus}{"\n"}{end}')
}

# ray_auth_token: print the RayCluster's token, or nothing when auth is off.
# KubeRay (authOptions.mode: token) keeps it in a Secret named after the
# RayCluster, or in authOptions.secretName, under the key auth_token, and sets
# RAY_AUTH_TOKEN from it in every Ray container; a cluster configured by hand
# names its Secret in the head container's RAY_AUTH_TOKEN.
ray_auth_token() {
  local mode secret key head_env
  head_env='{.spec.headGroupSpec.template.spec.containers[0].env[?(@.name=="RAY_AUTH_TOKEN")].valueFrom.secretKeyRef'
  mode="$(kget raycluster "${RAYCLUSTER}" -o 'jsonpath={.spec.authOptions.mode}')"
  if [[ "${mode}" == token ]]; then
    secret="$(kget raycluster "${RAYCLUSTER}" -o 'jsonpath={.spec.authOptions.secretName}')"
    secret="${secret:-${RAYCLUSTER}}"
    key=auth_token
  else
    secret="$(kget raycluster "${RAYCLUSTER}" -o "jsonpath=${head_env}.name}")"
    key="$(kget raycluster "${RAYCLUSTER}" -o "jsonpath=${head_env}.key}")"
    [[ -n "${secret}" ]] || return 0
  fi
  kubectl -n "${NAMESPACE}" get secret "${secret}" \
    -o "go-template={{index .data \"${key}\" | base64decode}}" 2>/dev/null ||
    die "cannot read the Ray auth token from Secret ${NAMESPACE}/${secret} (key ${key})"
}

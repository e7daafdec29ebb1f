# shellcheck shell=bash
# shellcheck disable=SC2034  # names defined here are used by the scripts that source this file
#
# Shared by the scripts in this folder: versions, the fixed Kubernetes names,
# step messages, tool checks, waits, port-forwards and log dumps. Sourced,
# never run. Each script sets REPO_ROOT from its own BASH_SOURCE first.

: "${REPO_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
SCRIPT_NAME="$(basename "$0")"

# Versions live in one place.
# shellcheck source=SCRIPTDIR/../versions.env
source "${REPO_ROOT}/versions.env"

# Exit codes: 1 something failed, 2 a usage mistake, 3 a missing prerequisite
# (a tool, the docker daemon, a cluster, the operator).
EXIT_FAILED=1
EXIT_USAGE=2
EXIT_PREREQ=3

# --- Fixed names (names.env: the same in the chart, the manifests and tests/e2e)
# shellcheck source=SCRIPTDIR/../names.env
source "${REPO_ROOT}/names.env"
KIND_CLUSTER_NAME="${KIND_CLUSTER_NAME:-ray101}"
KIND_CONFIG="scripts/kind/cluster.yaml"
CHART_DIR="helm/ray101"
KIND_VALUES="helm/ray101/values-kind.yaml"
KIND_OVERLAY="k8s/overlays/kind"
MONGO_SECRET_EXAMPLE="k8s/base/mongodb/secret.env.example"
# The chart's Namespace (with its Pod Security labels), rendered by `make manifests`.
NAMESPACE_MANIFEST="k8s/base/namespace.yaml"
DASHBOARD_PORT=8265

# The KubeRay operator, from its Helm repository.
KUBERAY_HELM_REPO="kuberay"
KUBERAY_HELM_REPO_URL="https://ray-project.github.io/kuberay-helm/"
OPERATOR_RELEASE="kuberay-operator"
OPERATOR_NAMESPACE="${KUBERAY_NAMESPACE:-kuberay-system}"

# The project's images (tags from versions.env; the chart and overlays use them).
IMAGE_REPOSITORY="ray101"
IMAGE_CPU="${IMAGE_REPOSITORY}:${RAY101_VERSION}"
IMAGE_GPU="${IMAGE_REPOSITORY}:${RAY101_VERSION}-gpu"
# Each build is also tagged <version>-<git sha> (and, from a tree with
# uncommitted changes, -<image id>), and scripts/deploy deploys that tag: with
# imagePullPolicy IfNotPresent a rebuilt image under the same tag would restart
# nothing. scripts/build-images writes the tag here; RAY101_IMAGE_TAG overrides.
IMAGE_TAG_FILE="${RAY101_IMAGE_TAG_FILE:-${REPO_ROOT}/results/build/image-tag}"

# Where failure logs go (CI uploads this folder).
LOG_DIR="${RAY101_LOG_DIR:-${REPO_ROOT}/results/e2e-logs}"
# Seconds between polls in the waits below.
POLL_S="${RAY101_POLL_S:-5}"

# --- Messages ---------------------------------------------------------------
STEP_NO=0

# step MESSAGE: a numbered step, so a log shows how far a run got.
step() {
  STEP_NO=$((STEP_NO + 1))
  printf '\n==> %s [%d] %s\n' "${SCRIPT_NAME}" "${STEP_NO}" "$*"
}

info() { printf '    %s\n' "$*"; }

# usage: the script's header comment (the lines after the shebang).
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
warn() { printf 'warning: %s\n' "$*" >&2; }

# die MESSAGE [CODE]
die() {
  printf 'error: %s: %s\n' "${SCRIPT_NAME}" "$1" >&2
  exit "${2:-${EXIT_FAILED}}"
}

# --- Prerequisites ----------------------------------------------------------
tool_hint() {
  case "$1" in
    docker) echo "Docker Engine or Docker Desktop, running (https://docs.docker.com/get-docker/)" ;;
    kind) echo "kind ${KIND_VERSION} (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)" ;;
    kubectl) echo "kubectl ${KUBERNETES_VERSION} or one minor away (https://kubernetes.io/docs/tasks/tools/)" ;;
    helm) echo "helm ${HELM_VERSION} (https://helm.sh/docs/intro/install/)" ;;
    curl) echo "curl, from your system's packages" ;;
    python3) echo "Python ${PYTHON_VERSION} (then 'make setup')" ;;
    *) echo "see docs/kind.md" ;;
  esac
}

# require_tools TOOL...: name every missing tool with where to get it, then exit 3.
require_tools() {
  local tool missing=()
  for tool in "$@"; do
    command -v "${tool}" >/dev/null 2>&1 || missing+=("${tool}")
  done
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  {
    printf 'error: %s needs these tools, not found on PATH:\n' "${SCRIPT_NAME}"
    for tool in "${missing[@]}"; do
      printf '  %-8s %s\n' "${tool}" "$(tool_hint "${tool}")"
    done
    printf 'docs/kind.md lists everything the kind path needs.\n'
  } >&2
  exit "${EXIT_PREREQ}"
}

require_docker_daemon() {
  docker info >/dev/null 2>&1 ||
    die "docker is installed but its daemon does not answer ('docker info' failed): start Docker, or check DOCKER_HOST" "${EXIT_PREREQ}"
}

# cgroup_preflight: say which cgroup version the docker host runs. The kubelet
# of the pinned node image (Kubernetes ${KUBERNETES_VERSION}) refuses cgroup v1
# unless told otherwise, which kind reports only as a node that never becomes
# Ready; scripts/kind/cluster.yaml tells it otherwise (failCgroupV1: false), so
# a v1 host (an older distribution, a VM that cannot be rebooted with
# systemd.unified_cgroup_hierarchy=1) runs, with Kubernetes' deprecation warning.
cgroup_preflight() {
  local version
  version="$(docker info --format '{{.CgroupVersion}}' 2>/dev/null || true)"
  if [[ "${version}" == 1 ]]; then
    printf '%s: warning: the docker host runs cgroup v1, deprecated in Kubernetes %s; the kind config sets the kubelet'"'"'s failCgroupV1: false so the nodes start (cgroup v2 is the supported setup)\n' \
      "${SCRIPT_NAME:-ray101}" "${KUBERNETES_VERSION}" >&2
  fi
}

current_context() { kubectl config current-context 2>/dev/null || echo "(none)"; }

# require_cluster: a Kubernetes API server answers for the current context.
require_cluster() {
  kubectl get --raw /readyz --request-timeout=10s >/dev/null 2>&1 ||
    die "no reachable Kubernetes cluster (kubectl context: $(current_context)); create one with scripts/kind-up" "${EXIT_PREREQ}"
}

# require_operator: the KubeRay CRDs are installed and the operator is available.
require_operator() {
  kubectl get crd rayclusters.ray.io rayjobs.ray.io rayservices.ray.io >/dev/null 2>&1 ||
    die "the KubeRay CRDs are missing on $(current_context): install the operator first (scripts/kind-up)" "${EXIT_PREREQ}"
}

# require_file PATH WHAT: a repository file a step reads.
require_file() {
  [[ -e "${REPO_ROOT}/$1" ]] || die "$2 is missing: ${1} (expected in the repository)"
}

# The Python that has ray installed: .venv (make setup), else python3.
python_bin() {
  if [[ -n "${RAY101_PYTHON:-}" ]]; then
    echo "${RAY101_PYTHON}"
  elif [[ -x "${REPO_ROOT}/.venv/bin/python" ]]; then
    echo "${REPO_ROOT}/.venv/bin/python"
  else
    echo python3
  fi
}

require_ray_python() {
  PY="$(python_bin)"
  command -v "${PY}" >/dev/null 2>&1 || require_tools python3
  "${PY}" -c 'import ray' >/dev/null 2>&1 ||
    die "${PY} cannot import ray: run 'make setup' (creates .venv with the pinned Ray ${RAY_VERSION})" "${EXIT_PREREQ}"
}

# ray_cli ARGS...: the ray command of that Python.
ray_cli() { "${PY}" -m ray.scripts.scripts "$@"; }

# --- Waiting ----------------------------------------------------------------
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

pod_ready() {
  [[ "$(kget pod "$1" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" == True ]]
}

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

# What the control plane node (API server, etcd, scheduler, controllers)
# takes, and each worker's kubelet and containerd (kubeReserved in the config).
CONTROL_PLANE_MIB=1024
KUBE_RESERVED_MIB=512

# kind_config (scripts/kind-up): scripts/kind/cluster.yaml, in a temporary
# file, with the memory each worker reserves fitted to this docker host. Every
# kind node reports the whole VM as allocatable; reserving the rest makes the
# two workers' allocatable memory add up to the VM less the control plane's
# share, so the pods' requests decide what is scheduled (docs/kind.md).
kind_config() {
  local total_mib worker_mib reserved_mib out
  total_mib=$(($(docker info --format '{{.MemTotal}}') / 1048576))
  worker_mib=$(((total_mib - CONTROL_PLANE_MIB) / 2))
  reserved_mib=$((total_mib - worker_mib - KUBE_RESERVED_MIB))
  ((reserved_mib > 0)) || reserved_mib=0
  out="$(mktemp "${TMPDIR:-/tmp}/ray101-kind.XXXXXX")"
  sed "/^ *systemReserved:/,/memory:/ s/memory: .*/memory: ${reserved_mib}Mi/" \
    "${REPO_ROOT}/${KIND_CONFIG}" >"${out}"
  echo "${out}"
}

# build_tag IMAGE: the per-build tag of a freshly built IMAGE.
build_tag() {
  local sha id
  sha="$(git -C "${REPO_ROOT}" rev-parse --short=12 HEAD 2>/dev/null || echo nogit)"
  if [[ "${sha}" == nogit ]] || [[ -n "$(git -C "${REPO_ROOT}" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
    id="$(docker image inspect --format '{{.Id}}' "$1")"
    id="${id#sha256:}"
    sha="${sha}-${id:0:12}"
  fi
  echo "${RAY101_VERSION}-${sha}"
}

# image_tag: the tag to deploy: RAY101_IMAGE_TAG, else the last build's, else
# the plain version (an image built some other way; a rebuild then restarts nothing).
image_tag() {
  if [[ -n "${RAY101_IMAGE_TAG:-}" ]]; then
    echo "${RAY101_IMAGE_TAG}"
  elif [[ -s "${IMAGE_TAG_FILE}" ]]; then
    cat "${IMAGE_TAG_FILE}"
  else
    warn "no build recorded in ${IMAGE_TAG_FILE#"${REPO_ROOT}"/} (scripts/build-images writes it): deploying the tag ${RAY101_VERSION}, which a rebuilt image does not change"
    echo "${RAY101_VERSION}"
  fi
}

# node_image_ref: the node image kind-up creates the cluster from: the digest
# kind publishes (KIND_NODE_IMAGE_DIGEST) where docker has it or can pull it,
# else the tag scripts/offline-images built here, with a warning.
node_image_ref() {
  local pinned="${KIND_NODE_IMAGE}@${KIND_NODE_IMAGE_DIGEST}"
  if docker image inspect "${pinned}" >/dev/null 2>&1 || docker pull --quiet "${pinned}" >/dev/null 2>&1; then
    echo "${pinned}"
    return 0
  fi
  warn "${pinned} can be neither found nor pulled: using ${KIND_NODE_IMAGE} as built here (scripts/offline-images)"
  echo "${KIND_NODE_IMAGE}"
}

# kind_load_image IMAGE: copy IMAGE from docker into the kind cluster's nodes
# (kind skips the nodes that hold it already). Pods run on the workers only
# (kind taints the control plane), so it goes there; a single-node cluster has
# no workers, and gets it on its one node.
kind_load_image() {
  local workers nodes=() archive platform
  workers="$(kind get nodes --name "${KIND_CLUSTER_NAME}" | grep -v -- '-control-plane$' | paste -sd, - || true)"
  [[ -z "${workers}" ]] || nodes=(--nodes "${workers}")
  kind load docker-image "$1" --name "${KIND_CLUSTER_NAME}" ${nodes[@]+"${nodes[@]}"} && return 0
  # With Docker's containerd image store (the default of new Docker 29 installs)
  # the archive docker saves can name content of other platforms that is not
  # there, and the nodes refuse it ("content digest ... not found",
  # kubernetes-sigs/kind#3795); then save this platform only and load the
  # archive, kind's documented workaround.
  platform="$(docker version --format '{{.Server.Os}}/{{.Server.Arch}}')"
  warn "kind load docker-image $1 failed; retrying with a ${platform} archive"
  archive="$(mktemp "${TMPDIR:-/tmp}/ray101-image.XXXXXX")"
  if ! docker image save --platform "${platform}" --output "${archive}" "$1" ||
    ! kind load image-archive "${archive}" --name "${KIND_CLUSTER_NAME}" ${nodes[@]+"${nodes[@]}"}; then
    rm -f "${archive}"
    die "could not load $1 into the kind cluster '${KIND_CLUSTER_NAME}'"
  fi
  rm -f "${archive}"
}

# kind_load_if_here IMAGE: load IMAGE when docker holds it (built here, or
# pulled earlier); nodes that can pull do not need it.
kind_load_if_here() {
  if docker image inspect "$1" >/dev/null 2>&1; then
    kind_load_image "$1"
  else
    info "$1: not in docker here; the nodes pull it"
  fi
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

# kind_overlay_with TAG OPERATOR_NS: write results/deploy/kustomization.yaml
# (git-ignored) and print its folder: the kind overlay with this build's image
# tag and, when the operator runs elsewhere than the base assumes
# (kuberay-system), its namespace in the heads' NetworkPolicies. kustomize
# takes a resource only by a relative path.
kind_overlay_with() {
  local tag=$1 operator_ns=$2 dir="${REPO_ROOT}/results/deploy" policy component
  mkdir -p "${dir}"
  {
    printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n'
    printf 'resources:\n  - ../../%s\n' "${KIND_OVERLAY}"
    printf 'images:\n  - name: %s\n    newTag: "%s"\n' "${IMAGE_REPOSITORY}" "${tag}"
    # RAY101_EXTRA_COMPONENTS: kustomize components (repository paths), e.g.
    # k8s/components/without-mongodb where no MongoDB image can be had.
    if [[ -n "${RAY101_EXTRA_COMPONENTS:-}" ]]; then
      printf 'components:\n'
      for component in ${RAY101_EXTRA_COMPONENTS}; do
        printf '  - ../../%s\n' "${component}"
      done
    fi
    if [[ "${operator_ns}" != kuberay-system ]]; then
      printf 'patches:\n'
      for policy in "${RELEASE}-head" "${RELEASE}-echo-head"; do
        printf '  - target: {kind: NetworkPolicy, name: %s}\n' "${policy}"
        printf '    patch: |\n      - op: replace\n'
        printf '        path: /spec/ingress/1/from/0/namespaceSelector/matchLabels/kubernetes.io~1metadata.name\n'
        printf '        value: %s\n' "${operator_ns}"
      done
    fi
  } >"${dir}/kustomization.yaml"
  echo "${dir}"
}

# --- Port-forwards ----------------------------------------------------------
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

# --- Ray token auth ---------------------------------------------------------
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


# --- Credentials for kubectl apply -k ---------------------------------------
# make_secret_env EXAMPLE: write EXAMPLE without ".example" (git-ignored), with
# each placeholder ("change-me", "change-me-app", ...) replaced by a random value
# of its own, the same wherever that placeholder appears (hex digits, so it is
# safe inside a URI). An existing file keeps its values (MongoDB keeps the
# passwords it was initialised with on its volume); keys the example has gained
# since it was made (a new user's) are appended, with values of their own.
make_secret_env() {
  local example=$1 target=${1%.example} placeholder value script="" missing
  [[ -f "${example}" ]] || die "credentials example is missing: ${example}"
  # Longest first, so "change-me" does not eat the start of "change-me-app".
  while IFS= read -r placeholder; do
    value="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
    [[ ${#value} -eq 32 ]] || die "could not make a random password"
    script+="s/${placeholder}/${value}/g;"
  done < <(grep -o 'change-me[-a-z]*' "${example}" | sort -u | awk '{ print length, $0 }' | sort -rn | cut -d' ' -f2)
  if [[ -f "${target}" ]]; then
    # The example's KEY=... lines whose KEY the file lacks.
    missing="$(awk -F= 'NR == FNR { if ($0 !~ /^#/ && NF > 1) have[$1] = 1; next }
      $0 !~ /^#/ && NF > 1 && !($1 in have)' "${target}" "${example}")"
    if [[ -z "${missing}" ]]; then
      info "keeping ${target#"${REPO_ROOT}"/}"
      return 0
    fi
    sed "${script}" <<<"${missing}" >>"${target}"
    info "added $(cut -d= -f1 <<<"${missing}" | paste -sd, -) to ${target#"${REPO_ROOT}"/} (random passwords)"
    return 0
  fi
  (
    umask 077
    sed "${script}" "${example}" >"${target}.tmp"
  )
  mv "${target}.tmp" "${target}"
  info "created ${target#"${REPO_ROOT}"/} from ${example##*/} (random passwords)"
}

# --- Diagnostics ------------------------------------------------------------
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

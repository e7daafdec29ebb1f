# shellcheck shell=bash
#
# scripts/lib/prereqs.sh: what a script checks before it starts work: the
# tools on PATH (each missing one named with where to get it), the docker
# daemon and its cgroup version, a reachable cluster with the KubeRay CRDs, the
# repository files a step reads, and the Python that has ray installed. Needs
# common.sh and messages.sh.

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

# shellcheck shell=bash
#
# scripts/lib/kustomize.sh: what the kubectl apply -k path writes before it
# applies, all git-ignored: the credentials files made from their committed
# examples, and the kind overlay with this build's tag and the operator's
# namespace. Needs common.sh, messages.sh, names.sh and tags.sh.

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

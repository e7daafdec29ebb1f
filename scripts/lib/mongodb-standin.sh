# shellcheck shell=bash
# shellcheck disable=SC2034  # names defined here are used by the files that source this one
#
# scripts/lib/mongodb-standin.sh: where the kind path's MongoDB stand-in is
# named. scripts/offline-images builds it (lib/images.sh), scripts/e2e-kind
# deploys with its values override; both read the image from that override.
# Needs common.sh (REPO_ROOT).

# The values override that runs MongoDB's StatefulSet on the nx-27017 stand-in.
MONGO_STANDIN_VALUES="scripts/kind/values-mongodb-standin.yaml"
# The same for kubectl apply -k: generated from that override by `make manifests`.
MONGO_STANDIN_COMPONENT="k8s/components/mongodb-standin"

# mongo_standin_image: "repository:tag" of the stand-in, as the override names it.
mongo_standin_image() {
  sed -n '/^  image:/,/^  [a-z]/{s/^    repository: *//p;s/^    tag: *//p}' "${REPO_ROOT}/${MONGO_STANDIN_VALUES}" | paste -sd:
}

{{/*
Names. Kubernetes names are limited to 63 characters; KubeRay limits RayCluster,
RayJob and RayService names to 47, which ray101.validateValues enforces.
*/}}
{{- define "ray101.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The prefix of every object name: the release name unless overridden. */}}
{{- define "ray101.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "ray101.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Standard labels of an object. Call with (dict "ctx" $ "component" "mongodb").
*/}}
{{- define "ray101.labels" -}}
helm.sh/chart: {{ include "ray101.chart" .ctx }}
{{ include "ray101.podLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
{{- end }}

{{/* Labels that select pods; they never change after install. */}}
{{- define "ray101.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ray101.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
Labels of a pod template: no chart or app version, so a chart upgrade does not
restart MongoDB, and a Job's immutable pod template stays the same.
*/}}
{{- define "ray101.podLabels" -}}
{{ include "ray101.selectorLabels" . }}
app.kubernetes.io/part-of: ray101
{{- end }}

{{/* The ServiceAccount of the shared RayCluster's pods (ray.serviceAccount). */}}
{{- define "ray101.ray.serviceAccountName" -}}
{{- default (printf "%s-ray" (include "ray101.fullname" .)) .Values.ray.serviceAccount.name }}
{{- end }}

{{/* Marks a pod the MongoDB NetworkPolicy lets in. */}}
{{- define "ray101.mongodbClientLabel" -}}
ray101/mongodb-client: "true"
{{- end }}

{{/* Images. */}}
{{- define "ray101.image" -}}
{{- printf "%s:%s" .Values.image.repository .Values.image.tag }}
{{- end }}

{{- define "ray101.gpuImage" -}}
{{- printf "%s:%s" .Values.image.repository .Values.image.gpuTag }}
{{- end }}

{{/* imagePullSecrets, or nothing; call as {{- with include "ray101.imagePullSecrets" . }}{{ . | nindent N }}{{ end }} */}}
{{- define "ray101.imagePullSecrets" -}}
{{- with .Values.image.pullSecrets -}}
imagePullSecrets:
{{ toYaml . | indent 2 }}
{{- end -}}
{{- end }}

{{/* MongoDB. */}}
{{- define "ray101.mongodb.fullname" -}}
{{- printf "%s-mongodb" (include "ray101.fullname" .) }}
{{- end }}

{{- define "ray101.mongodb.secretName" -}}
{{- default (include "ray101.mongodb.fullname" .) .Values.mongodb.auth.existingSecret }}
{{- end }}

{{/* host:port of MongoDB: the headless Service's name, qualified by namespace. */}}
{{- define "ray101.mongodb.address" -}}
{{- printf "%s.%s.svc:27017" (include "ray101.mongodb.fullname" .) .Release.Namespace }}
{{- end }}

{{/* RAY101_STORAGE_PATH of the workloads that need shared storage. */}}
{{- define "ray101.storagePath" -}}
{{- with .Values.jobs.storagePath }}
{{- . }}
{{- else }}
{{- printf "s3://%s/ray101" .Values.seaweedfs.bucket }}
{{- end }}
{{- end }}

{{/*
Environment of every Ray container of the shared RayCluster: MONGODB_URI
assembled from the Secret (Kubernetes expands $(VAR) from variables defined
before it), and the S3 credentials Tune's storage needs (a RayJob's runtime
environment cannot read a Secret).
*/}}
{{- define "ray101.rayEnv" -}}
{{- if .Values.mongodb.enabled }}
{{ include "ray101.mongodbEnv" . }}
{{- end }}
{{- if .Values.seaweedfs.enabled }}
{{ include "ray101.seaweedfs.credentials" . }}
{{- end }}
{{- end }}

{{/*
MONGODB_URI, whole from the Secret's `uri` key: the chart writes it with the
user and password percent-encoded (a password may hold @ : / % ?), the
kustomize path from secret.env. No password or username in the pod's env.
*/}}
{{- define "ray101.mongodbEnv" -}}
- name: MONGODB_URI
  valueFrom:
    secretKeyRef:
      name: {{ include "ray101.mongodb.secretName" . }}
      key: uri
{{- end }}

{{/*
A container running a `ray101` command from the project image, with the
submitter's resources. Call with (dict "ctx" $ "name" "wait-for-data"
"command" (list "wait" "data") "env" "<YAML list>" "resources" {...}), and
"timeout" SECONDS to end the command by then (coreutils `timeout`, exit 124).
*/}}
{{- define "ray101.commandContainer" -}}
{{- $ctx := .ctx -}}
{{- $argv := concat (list "python" "-m" "jobs.cli") .command }}
{{- with .timeout }}
{{- $argv = concat (list "timeout" (printf "%v" .)) $argv }}
{{- end }}
- name: {{ .name }}
  image: {{ include "ray101.image" $ctx | quote }}
  imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
  command: {{ $argv | toJson }}
  {{- with .env }}
  env:
    {{- . | trim | nindent 4 }}
  {{- end }}
  resources:
    {{- toYaml .resources | nindent 4 }}
  securityContext:
    {{- include "ray101.readOnlySecurityContext" $ctx | nindent 4 }}
  volumeMounts:
    - name: tmp
      mountPath: /tmp
{{- end }}

{{/*
containerSecurityContext with a read-only root filesystem, for the containers
that write only to their volumes (databases, Jobs, the test Pod). Ray's own
containers write logs and spill objects under /tmp/ray and keep a writable root.
*/}}
{{- define "ray101.readOnlySecurityContext" -}}
{{- toYaml (merge (dict "readOnlyRootFilesystem" true) (deepCopy .Values.containerSecurityContext)) }}
{{- end }}

{{/* An emptyDir for /tmp, for containers with a read-only root filesystem. */}}
{{- define "ray101.tmpVolume" -}}
- name: tmp
  emptyDir: {}
{{- end }}

{{/*
The autoscaler sidecar of a Ray cluster (the shared one and the serving one).
*/}}
{{- define "ray101.autoscaler" -}}
enableInTreeAutoscaling: {{ .Values.ray.autoscaler.enabled }}
{{- if .Values.ray.autoscaler.enabled }}
autoscalerOptions:
  upscalingMode: {{ .Values.ray.autoscaler.upscalingMode }}
  idleTimeoutSeconds: {{ .Values.ray.autoscaler.idleTimeoutSeconds }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  resources:
    {{- toYaml .Values.ray.autoscaler.resources | nindent 4 }}
  securityContext:
    runAsNonRoot: true
    runAsUser: {{ .Values.podSecurityContext.runAsUser }}
    {{- toYaml .Values.containerSecurityContext | nindent 4 }}
{{- end }}
{{- end }}

{{/*
The pod template of a Ray node (head or worker, of either cluster). Call with
(dict "ctx" $ "component" "ray" "mongodbClient" true "container" "ray-head"
"image" "..." "ports" (list ...) "env" "<YAML list>" "resources" {...}
"gpus" 0 "nodeSelector" {...} "tolerations" (list ...) "serviceAccountName" NAME
"apiToken" BOOL). Only a head mounts the API token ("apiToken" true): its
autoscaler sidecar calls the Kubernetes API; workers never do.
*/}}
{{- define "ray101.rayPod" -}}
{{- $ctx := .ctx -}}
metadata:
  labels:
    {{- include "ray101.podLabels" (dict "ctx" $ctx "component" .component) | nindent 4 }}
    {{- if .mongodbClient }}
    {{- include "ray101.mongodbClientLabel" $ctx | nindent 4 }}
    {{- end }}
    {{- if .s3Client }}
    {{- include "ray101.s3ClientLabel" $ctx | nindent 4 }}
    {{- end }}
spec:
  {{- with .serviceAccountName }}
  serviceAccountName: {{ . }}
  {{- end }}
  {{- if not .apiToken }}
  automountServiceAccountToken: false
  {{- end }}
  {{- with include "ray101.imagePullSecrets" $ctx }}{{ . | nindent 2 }}{{ end }}
  securityContext:
    {{- toYaml $ctx.Values.podSecurityContext | nindent 4 }}
  {{- with .runtimeClassName }}
  runtimeClassName: {{ . }}
  {{- end }}
  {{- with .nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: {{ .container }}
      image: {{ .image | quote }}
      imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
      {{- with .ports }}
      ports:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .env }}
      env:
        {{- . | trim | nindent 8 }}
      {{- end }}
      # Ray advertises the limits as the node's CPUs and memory, and reads the
      # GPU count from the nvidia.com/gpu limit.
      resources:
        {{- if .gpus }}
        {{- $gpus := dict "nvidia.com/gpu" (.gpus | toString) }}
        requests:
          {{- toYaml (merge (deepCopy .resources.requests) $gpus) | nindent 10 }}
        limits:
          {{- toYaml (merge (deepCopy .resources.limits) $gpus) | nindent 10 }}
        {{- else }}
        {{- toYaml .resources | nindent 8 }}
        {{- end }}
      securityContext:
        {{- toYaml $ctx.Values.containerSecurityContext | nindent 8 }}
      # Ray's object store lives in /dev/shm; a container's own is 64 MiB.
      volumeMounts:
        - name: shared-mem
          mountPath: /dev/shm
  volumes:
    # In memory, up to the container's memory limit (which it counts against),
    # as KubeRay itself adds it when a template has none (common/pod.go).
    - name: shared-mem
      emptyDir:
        medium: Memory
        sizeLimit: {{ .resources.limits.memory }}
{{- end }}

{{/*
One worker group: the same definition for the CPU and GPU groups of the shared
cluster and the serving group of the RayService. Call with (dict "name" "cpu"
"group" <its values> "pod" <the dict of ray101.rayPod>).
*/}}
{{- define "ray101.workerGroup" -}}
- groupName: {{ .name }}
  replicas: {{ .group.replicas }}
  minReplicas: {{ .group.minReplicas }}
  maxReplicas: {{ .group.maxReplicas }}
  rayStartParams:
    {{- toYaml (.group.rayStartParams | default dict) | nindent 4 }}
  template:
    {{- include "ray101.rayPod" (merge (dict "container" "ray-worker") .pod) | nindent 4 }}
{{- end }}

{{/* The ports of a Ray head (the head Service KubeRay creates targets them). */}}
{{- define "ray101.headPorts" -}}
- name: gcs-server
  containerPort: 6379
- name: dashboard
  containerPort: 8265
- name: client
  containerPort: 10001
{{- end }}

{{/*
Cross-field rules the schema cannot express, one define per rule, each
rendering its message or nothing. templates/validate.yaml renders them, so
`helm install`, `helm template` and `helm lint` all stop on a broken combination.
*/}}
{{- define "ray101.validateValues" -}}
{{- $messages := list }}
{{- range $rule := list "namePrefix" "gpuWorkers" "workerReplicas" "echoWorkers" "mongodbNeeded" "storageNeeded" "seaweedfsUsers" "tests" "routes" }}
{{- $messages = append $messages (include (printf "ray101.validateValues.%s" $rule) $) }}
{{- end }}
{{- $messages = without $messages "" }}
{{- if $messages }}
{{- fail (printf "\nray101: invalid values:\n  - %s" (join "\n  - " $messages)) }}
{{- end }}
{{- end }}

{{/* KubeRay limits its object names to 47 characters: the prefix gets 34. */}}
{{- define "ray101.validateValues.namePrefix" -}}
{{- $fullname := include "ray101.fullname" . }}
{{- if gt (len $fullname) 34 }}
{{- printf "the name prefix %q is %d characters; at most 34 keep KubeRay object names (like %s-dependencies) within 47 (set fullnameOverride)" $fullname (len $fullname) $fullname }}
{{- end }}
{{- end }}

{{/* A GPU group asks for GPUs and can start a worker. */}}
{{- define "ray101.validateValues.gpuWorkers" -}}
{{- $gpu := .Values.ray.gpuWorkers }}
{{- if and $gpu.enabled (lt (int $gpu.gpusPerWorker) 1) }}
{{- print "ray.gpuWorkers.enabled needs ray.gpuWorkers.gpusPerWorker >= 1" }}
{{- else if and $gpu.enabled (lt (int $gpu.maxReplicas) 1) }}
{{- print "ray.gpuWorkers.enabled needs ray.gpuWorkers.maxReplicas >= 1" }}
{{- end }}
{{- end }}

{{- define "ray101.validateValues.replicaRange" -}}
{{- if or (gt (int .group.minReplicas) (int .group.replicas)) (gt (int .group.replicas) (int .group.maxReplicas)) }}
{{- printf "%s needs minReplicas <= replicas <= maxReplicas (got %v <= %v <= %v)" .name .group.minReplicas .group.replicas .group.maxReplicas }}
{{- end }}
{{- end }}

{{/* Each worker group of the shared cluster starts within its own bounds. */}}
{{- define "ray101.validateValues.workerReplicas" -}}
{{- $found := list }}
{{- range $group := list "cpuWorkers" "gpuWorkers" }}
{{- $found = append $found (include "ray101.validateValues.replicaRange" (dict "name" (printf "ray.%s" $group) "group" (index $.Values.ray $group))) }}
{{- end }}
{{- without $found "" | join "; " }}
{{- end }}

{{/* The serving group starts within its bounds. */}}
{{- define "ray101.validateValues.echoWorkers" -}}
{{- include "ray101.validateValues.replicaRange" (dict "name" "echo.workers" "group" .Values.echo.workers) }}
{{- end }}

{{/* A workload that needs MongoDB gets it. */}}
{{- define "ray101.validateValues.mongodbNeeded" -}}
{{- $found := list }}
{{- range $name, $job := .Values.jobs.workloads }}
{{- if and $job.enabled (eq $job.needs "mongodb") (not $.Values.mongodb.enabled) }}
{{- $found = append $found (printf "jobs.workloads.%s needs mongodb.enabled (it reads MONGODB_URI); disable the job or enable MongoDB" $name) }}
{{- end }}
{{- end }}
{{- join "; " $found }}
{{- end }}

{{/* A workload that needs shared storage gets SeaweedFS or a bucket. */}}
{{- define "ray101.validateValues.storageNeeded" -}}
{{- $found := list }}
{{- range $name, $job := .Values.jobs.workloads }}
{{- if and $job.enabled (eq $job.needs "storage") (not $.Values.seaweedfs.enabled) (not $.Values.jobs.storagePath) }}
{{- $found = append $found (printf "jobs.workloads.%s needs shared storage: keep seaweedfs.enabled or set jobs.storagePath (s3://... or gs://...)" $name) }}
{{- end }}
{{- end }}
{{- join "; " $found }}
{{- end }}

{{/* The helm test Pod calls the echo service. */}}
{{- define "ray101.validateValues.tests" -}}
{{- if and .Values.tests.enabled (not .Values.echo.enabled) }}
{{- print "tests.enabled calls the echo service: enable echo or set tests.enabled=false" }}
{{- end }}
{{- end }}

{{/*
checkov findings the chart accepts, each with its reason (checkov reads
`checkov.io/skipN: ID=reason` from an object's annotations; a reason has no "=").
Call with a list of IDs.
*/}}
{{- define "ray101.checkovSkips" -}}
{{- $reasons := dict
  "CKV_K8S_43" "images are pinned by tag in versions.env; ray101 is built locally and loaded with kind load so it has no registry digest - name image@sha256 in an overlay images entry or image.tag once pushed"
  "CKV_K8S_15" "IfNotPresent on purpose - kind load puts the ray101 image on the nodes and it is never pulled; the other tags are pinned and immutable"
  "CKV_K8S_40" "runs as the image's own user (ray 1000 / mongodb 999 / seaweed 1000) that owns its files; a uid above 10000 cannot write them"
  "CKV_K8S_35" "the mongo entrypoint, SeaweedFS's admin keys and the MONGODB_URI of the Ray pods read credentials from the environment only; the values come from a Secret and never appear in a manifest"
  "CKV_K8S_8" "a run-to-completion helm test Pod serves nothing to probe"
  "CKV_K8S_9" "a run-to-completion helm test Pod serves nothing to probe"
}}
{{- range $i, $id := . }}
checkov.io/skip{{ add1 $i }}: {{ printf "%s=%s" $id (index $reasons $id) | quote }}
{{- end }}
{{- end }}

{{/*
The annotations that make a one-off Job a Helm hook: created after the
release's other objects on every install and upgrade, the previous run deleted
first (before-hook-creation). A Job's pod template cannot change, so a plain
`helm upgrade` with a new image would otherwise stop on "field is immutable".
The kustomize base drops them (tools/manifests/generate.py); scripts/deploy
deletes finished Jobs on that path.
*/}}
{{- define "ray101.oneOffJobHook" -}}
helm.sh/hook: post-install,post-upgrade
helm.sh/hook-delete-policy: before-hook-creation
{{- end }}

{{/* Pods that serve nothing: the no-ingress NetworkPolicy selects them. */}}
{{- define "ray101.noIngressLabel" -}}
ray101/ingress: none
{{- end }}

{{/*
A password for a Secret the chart creates: the one given in the values, else
the one already in the cluster (upgrades), else a new random one, but only
when Helm talks to a cluster. Rendered without one (helm template, a
client-side dry run, Argo CD, Flux), `lookup` finds nothing and a new password
on every render would drift from the one MongoDB was initialised with: fail
instead. Whether Helm talks to a cluster is told by listing the release
namespace's Secrets (a cluster answers with a list, empty or not; none, with
nothing), which any Helm user may do: Helm keeps its releases there. A
cluster-scoped lookup would be Forbidden to a namespace-scoped deployer.
Call with (dict "ctx" $ "secret" NAME "key" KEY "given" VALUE "values" "mongodb.auth").
*/}}
{{- define "ray101.password" -}}
{{- if .given }}
{{- .given }}
{{- else }}
{{- $previous := lookup "v1" "Secret" .ctx.Release.Namespace .secret | default dict }}
{{- $data := get $previous "data" | default dict }}
{{- if hasKey $data .key }}
{{- index $data .key | b64dec }}
{{- else if lookup "v1" "Secret" .ctx.Release.Namespace "" }}
{{- randAlphaNum 32 }}
{{- else }}
{{- fail (printf "\nray101: rendered without a cluster (helm template, --dry-run=client, Argo CD, Flux), the Secret %s cannot keep its password: each render would draw a new one. Set %s.existingSecret to a Secret you create, or give the password (%s.%s)" .secret .values .values (get (dict "password" "password" "app-password" "appPassword" "rootPassword" "rootPassword" "tunePassword" "tunePassword") .key)) }}
{{- end }}
{{- end }}
{{- end }}

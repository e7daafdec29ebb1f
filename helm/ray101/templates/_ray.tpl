{{/*
Ray: the pieces of the Ray clusters' specs, the shared RayCluster's and the
RayService's. The RayJobs' live in ray/_rayjob.tpl, the Ray NetworkPolicies'
in ray/_networkpolicy.tpl.
*/}}

{{/*
The autoscaler sidecar of a Ray cluster (the shared one and the serving one):
enableInTreeAutoscaling and autoscalerOptions. Call with $.
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

{{/* The ports list of a Ray head (the head Service KubeRay creates targets them). Call with $. */}}
{{- define "ray101.headPorts" -}}
- name: gcs-server
  containerPort: 6379
- name: dashboard
  containerPort: 8265
- name: client
  containerPort: 10001
{{- end }}

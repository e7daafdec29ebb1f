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
Standard labels. Call with (dict "ctx" $ "component" "mongodb").
*/}}
{{- define "ray101.labels" -}}
helm.sh/chart: {{ include "ray101.chart" .ctx }}
{{ include "ray101.selectorLabels" . }}
app.kubernetes.io/part-of: ray101
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
{{- end }}

{{/* Labels that select pods; they never change after install. */}}
{{- define "ray101.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ray101.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
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

{{/* MinIO. */}}
{{- define "ray101.minio.fullname" -}}
{{- printf "%s-minio" (include "ray101.fullname" .) }}
{{- end }}

{{- define "ray101.minio.secretName" -}}
{{- default (include "ray101.minio.fullname" .) .Values.minio.auth.existingSecret }}
{{- end }}

{{- define "ray101.minio.endpoint" -}}
{{- printf "http://%s:9000" (include "ray101.minio.fullname" .) }}
{{- end }}

{{/* RAY101_STORAGE_PATH of the tune job. */}}
{{- define "ray101.tune.storagePath" -}}
{{- with .Values.jobs.workloads.tune.storagePath }}
{{- . }}
{{- else }}
{{- printf "s3://%s/ray101" .Values.minio.bucket }}
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
{{- if .Values.minio.enabled }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ include "ray101.minio.secretName" . }}
      key: rootUser
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "ray101.minio.secretName" . }}
      key: rootPassword
{{- end }}
{{- end }}

{{- define "ray101.mongodbEnv" -}}
- name: MONGODB_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ include "ray101.mongodb.secretName" . }}
      key: username
- name: MONGODB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "ray101.mongodb.secretName" . }}
      key: password
- name: MONGODB_URI
  value: {{ printf "mongodb://$(MONGODB_USERNAME):$(MONGODB_PASSWORD)@%s/?authSource=admin" (include "ray101.mongodb.address" .) | quote }}
{{- end }}

{{/*
Cross-field rules the schema cannot express. Rendered by templates/validate.yaml,
so `helm install`, `helm template` and `helm lint` all stop on a broken combination.
*/}}
{{- define "ray101.validateValues" -}}
{{- $errors := list }}
{{- $fullname := include "ray101.fullname" . }}
{{- if gt (len $fullname) 34 }}
{{- $errors = append $errors (printf "the name prefix %q is %d characters; at most 34 keep KubeRay object names (like %s-dependencies) within 47 (set fullnameOverride)" $fullname (len $fullname) $fullname) }}
{{- end }}
{{- $gpu := .Values.ray.gpuWorkers }}
{{- if and $gpu.enabled (lt (int $gpu.gpusPerWorker) 1) }}
{{- $errors = append $errors "ray.gpuWorkers.enabled needs ray.gpuWorkers.gpusPerWorker >= 1" }}
{{- end }}
{{- if and $gpu.enabled (lt (int $gpu.maxReplicas) 1) }}
{{- $errors = append $errors "ray.gpuWorkers.enabled needs ray.gpuWorkers.maxReplicas >= 1" }}
{{- end }}
{{- range $group := list "cpuWorkers" "gpuWorkers" }}
{{- $g := index $.Values.ray $group }}
{{- if or (gt (int $g.minReplicas) (int $g.replicas)) (gt (int $g.replicas) (int $g.maxReplicas)) }}
{{- $errors = append $errors (printf "ray.%s needs minReplicas <= replicas <= maxReplicas (got %v <= %v <= %v)" $group $g.minReplicas $g.replicas $g.maxReplicas) }}
{{- end }}
{{- end }}
{{- $w := .Values.echo.workers }}
{{- if or (gt (int $w.minReplicas) (int $w.replicas)) (gt (int $w.replicas) (int $w.maxReplicas)) }}
{{- $errors = append $errors (printf "echo.workers needs minReplicas <= replicas <= maxReplicas (got %v <= %v <= %v)" $w.minReplicas $w.replicas $w.maxReplicas) }}
{{- end }}
{{- $d := .Values.echo.deployment }}
{{- if gt (int $d.minReplicas) (int $d.maxReplicas) }}
{{- $errors = append $errors "echo.deployment needs minReplicas <= maxReplicas" }}
{{- end }}
{{- $workloads := .Values.jobs.workloads }}
{{- if and $workloads.mongo.enabled (not .Values.mongodb.enabled) }}
{{- $errors = append $errors "jobs.workloads.mongo needs mongodb.enabled (it reads MONGODB_URI); disable the job or enable MongoDB" }}
{{- end }}
{{- if and $workloads.tune.enabled (not .Values.minio.enabled) (not $workloads.tune.storagePath) }}
{{- $errors = append $errors "jobs.workloads.tune needs shared storage: keep minio.enabled or set jobs.workloads.tune.storagePath (s3://... or gs://...)" }}
{{- end }}
{{- if and .Values.tests.enabled (not .Values.echo.enabled) }}
{{- $errors = append $errors "tests.enabled calls the echo service: enable echo or set tests.enabled=false" }}
{{- end }}
{{- if $errors }}
{{- fail (printf "\nray101: invalid values:\n  - %s" (join "\n  - " $errors)) }}
{{- end }}
{{- end }}

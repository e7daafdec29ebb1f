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
Init containers of RayJob submitter pods. A RayJob starts as soon as the
RayCluster is ready, which is usually before the data-load and bucket Jobs
have finished; these hold `ray job submit` back until what the workload needs
is there (the scripts are the same as in k8s/base/ray).
*/}}

{{/* The mongo job: every index of jobs/mongo/data.py exists, which the loader
creates after filling each collection. */}}
{{- define "ray101.waitForDataContainer" -}}
- name: wait-for-data
  image: {{ include "ray101.image" . | quote }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command:
    - python
    - -c
    - |
      import os, time
      from pymongo.errors import PyMongoError
      from jobs.mongo.client import make_client
      from jobs.mongo.data import INDEXES
      db = make_client(os.environ["MONGODB_URI"])[os.environ["MONGODB_DB"]]
      wanted = {(c, field) for c, specs in INDEXES.items() for field, _ in specs}
      def indexed():
          return {(c, field) for c in INDEXES for index in db[c].index_information().values() for field, _ in index["key"]}
      while True:
          try:
              missing = wanted - indexed()
          except PyMongoError as exc:
              missing = {("MongoDB", f"unreachable ({type(exc).__name__})")}
          if not missing:
              break
          print("waiting for {{ include "ray101.fullname" . }}-data-load:", ", ".join(sorted(f"{c}.{f}" for c, f in missing)), flush=True)
          time.sleep(5)
      print("the sample data is loaded", flush=True)
  env:
    - name: MONGODB_DB
      value: {{ .Values.mongodb.database | quote }}
    {{- include "ray101.mongodbEnv" . | nindent 4 }}
  resources:
    {{- toYaml .Values.jobs.submitterResources | nindent 4 }}
  securityContext:
    {{- toYaml .Values.containerSecurityContext | nindent 4 }}
{{- end }}

{{/* The tune job on MinIO: the bucket exists (Tune does not create buckets). */}}
{{- define "ray101.waitForBucketContainer" -}}
- name: wait-for-bucket
  image: {{ include "ray101.image" . | quote }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command:
    - python
    - -c
    - |
      import os, time
      import pyarrow.fs as pafs
      bucket = os.environ["BUCKET"]
      s3 = pafs.S3FileSystem(endpoint_override=os.environ["AWS_ENDPOINT_URL"])
      while True:
          try:
              if s3.get_file_info(bucket).type == pafs.FileType.Directory:
                  break
              state = "not created yet"
          except OSError as exc:
              state = str(exc).splitlines()[0]
          print(f"waiting for the bucket {bucket}: {state}", flush=True)
          time.sleep(5)
      print(f"the bucket {bucket} is there", flush=True)
  env:
    - name: BUCKET
      value: {{ .Values.minio.bucket | quote }}
    - name: AWS_ENDPOINT_URL
      value: {{ include "ray101.minio.endpoint" . | quote }}
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
  resources:
    {{- toYaml .Values.jobs.submitterResources | nindent 4 }}
  securityContext:
    {{- toYaml .Values.containerSecurityContext | nindent 4 }}
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

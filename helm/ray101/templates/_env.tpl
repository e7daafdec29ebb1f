{{/*
Environment of the workloads: where MongoDB and the shared storage are. The
MongoDB URI and the S3 credentials live beside their components
(mongodb/_mongodb.tpl, seaweedfs/_seaweedfs.tpl).
*/}}

{{/* RAY101_STORAGE_PATH: jobs.storagePath, else the SeaweedFS bucket's s3:// path. Call with $. */}}
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
environment cannot read a Secret). An env list, or nothing; call with $.
*/}}
{{- define "ray101.rayEnv" -}}
{{- if .Values.mongodb.enabled }}
{{ include "ray101.mongodbEnv" . }}
{{- end }}
{{- if .Values.seaweedfs.enabled }}
{{ include "ray101.seaweedfs.credentials" . }}
{{- end }}
{{- end }}

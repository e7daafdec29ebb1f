{{/*
Validations: cross-field rules the schema cannot express, one define per rule,
each rendering its message or nothing. The rules of SeaweedFS's users and of
the routes live beside them (seaweedfs/_seaweedfs.tpl, ingress/_routes.tpl).
*/}}

{{/*
Every rule's message, joined; fails when any is not empty, else renders
nothing. Call with $. templates/validate.yaml renders it, so `helm install`,
`helm template` and `helm lint` all stop on a broken combination.
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

{{/* KubeRay limits its object names to 47 characters: the prefix gets 34. Call with $. */}}
{{- define "ray101.validateValues.namePrefix" -}}
{{- $fullname := include "ray101.fullname" . }}
{{- if gt (len $fullname) 34 }}
{{- printf "the name prefix %q is %d characters; at most 34 keep KubeRay object names (like %s-dependencies) within 47 (set fullnameOverride)" $fullname (len $fullname) $fullname }}
{{- end }}
{{- end }}

{{/* A GPU group asks for GPUs and can start a worker. Call with $. */}}
{{- define "ray101.validateValues.gpuWorkers" -}}
{{- $gpu := .Values.ray.gpuWorkers }}
{{- if and $gpu.enabled (lt (int $gpu.gpusPerWorker) 1) }}
{{- print "ray.gpuWorkers.enabled needs ray.gpuWorkers.gpusPerWorker >= 1" }}
{{- else if and $gpu.enabled (lt (int $gpu.maxReplicas) 1) }}
{{- print "ray.gpuWorkers.enabled needs ray.gpuWorkers.maxReplicas >= 1" }}
{{- end }}
{{- end }}

{{/*
A worker group has minReplicas <= replicas <= maxReplicas.
Call with (dict "name" VALUES-PATH "group" <its values>).
*/}}
{{- define "ray101.validateValues.replicaRange" -}}
{{- if or (gt (int .group.minReplicas) (int .group.replicas)) (gt (int .group.replicas) (int .group.maxReplicas)) }}
{{- printf "%s needs minReplicas <= replicas <= maxReplicas (got %v <= %v <= %v)" .name .group.minReplicas .group.replicas .group.maxReplicas }}
{{- end }}
{{- end }}

{{/* Each worker group of the shared cluster starts within its own bounds. Call with $. */}}
{{- define "ray101.validateValues.workerReplicas" -}}
{{- $found := list }}
{{- range $group := list "cpuWorkers" "gpuWorkers" }}
{{- $found = append $found (include "ray101.validateValues.replicaRange" (dict "name" (printf "ray.%s" $group) "group" (index $.Values.ray $group))) }}
{{- end }}
{{- without $found "" | join "; " }}
{{- end }}

{{/* The serving group starts within its bounds. Call with $. */}}
{{- define "ray101.validateValues.echoWorkers" -}}
{{- include "ray101.validateValues.replicaRange" (dict "name" "echo.workers" "group" .Values.echo.workers) }}
{{- end }}

{{/* A workload that needs MongoDB gets it. Call with $. */}}
{{- define "ray101.validateValues.mongodbNeeded" -}}
{{- $found := list }}
{{- range $name, $job := .Values.jobs.workloads }}
{{- if and $job.enabled (eq $job.needs "mongodb") (not $.Values.mongodb.enabled) }}
{{- $found = append $found (printf "jobs.workloads.%s needs mongodb.enabled (it reads MONGODB_URI); disable the job or enable MongoDB" $name) }}
{{- end }}
{{- end }}
{{- join "; " $found }}
{{- end }}

{{/* A workload that needs shared storage gets SeaweedFS or a bucket. Call with $. */}}
{{- define "ray101.validateValues.storageNeeded" -}}
{{- $found := list }}
{{- range $name, $job := .Values.jobs.workloads }}
{{- if and $job.enabled (eq $job.needs "storage") (not $.Values.seaweedfs.enabled) (not $.Values.jobs.storagePath) }}
{{- $found = append $found (printf "jobs.workloads.%s needs shared storage: keep seaweedfs.enabled or set jobs.storagePath (s3://... or gs://...)" $name) }}
{{- end }}
{{- end }}
{{- join "; " $found }}
{{- end }}

{{/* The helm test Pod calls the echo service. Call with $. */}}
{{- define "ray101.validateValues.tests" -}}
{{- if and .Values.tests.enabled (not .Values.echo.enabled) }}
{{- print "tests.enabled calls the echo service: enable echo or set tests.enabled=false" }}
{{- end }}
{{- end }}

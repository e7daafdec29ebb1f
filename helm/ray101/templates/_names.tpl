{{/*
Names. Kubernetes names are limited to 63 characters; KubeRay limits RayCluster,
RayJob and RayService names to 47, which ray101.validateValues enforces.
The names of MongoDB, Redis and SeaweedFS live beside their templates
(mongodb/_mongodb.tpl, redis/_redis.tpl, seaweedfs/_seaweedfs.tpl).
*/}}

{{/* The chart's name: nameOverride, else the chart's, at most 63 characters. Call with $. */}}
{{- define "ray101.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The prefix of every object name: the release name unless overridden. Call with $. */}}
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

{{/* The helm.sh/chart label's value, <chart name>-<chart version>. Call with $. */}}
{{- define "ray101.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The ServiceAccount of the shared RayCluster's pods (ray.serviceAccount). Call with $. */}}
{{- define "ray101.ray.serviceAccountName" -}}
{{- default (printf "%s-ray" (include "ray101.fullname" .)) .Values.ray.serviceAccount.name }}
{{- end }}

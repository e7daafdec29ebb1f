{{/*
The deadlines of one RayJob and its submitter pod, as YAML
{pod: SECONDS, rayJob: SECONDS}. Call with (dict "ctx" $ "job" <its values>
"waits" BOOL) and read it back with fromYaml.

A submitter pod waits (init containers, at most jobs.waitTimeoutSeconds), then
submits; Ray may hold the job PENDING (at most jobs.startTimeoutSeconds, the
head's RAY_JOB_START_TIMEOUT_SECONDS, e.g. for a driver slot); the driver runs
under `timeout --kill-after=30 <activeDeadlineSeconds>`; then the submitter
reads the end of the logs. The pod's activeDeadlineSeconds is that sum and a
minute more. KubeRay re-creates a failed submitter pod up to
jobs.submitterBackoffLimit times, and counts the RayJob's deadline from its
start, cluster start-up (jobs.preRunningDeadlineSeconds) included: the RayJob's
own deadline covers every pod, so it is never Failed while a pod may still
submit. tools/manifests (check_rayjob_deadlines) checks the same sums.
*/}}
{{- define "ray101.rayJobDeadlines" -}}
{{- $jobs := .ctx.Values.jobs }}
{{- $wait := ternary (int $jobs.waitTimeoutSeconds) 0 (.waits | default false) }}
{{- $pod := add $wait (int $jobs.startTimeoutSeconds) (int .job.activeDeadlineSeconds) 30 60 }}
pod: {{ $pod }}
rayJob: {{ add (int $jobs.preRunningDeadlineSeconds) (mul (add1 (int $jobs.submitterBackoffLimit)) $pod) }}
{{- end }}

{{/* The head's custom resource a RayJob's driver holds while it runs (entrypointResources). */}}
{{- define "ray101.driverSlotResources" -}}
{{- printf "%q" (dict "driver_slot" (int .Values.ray.head.driverSlots) | toJson) }}
{{- end }}

{{/*
How long Ray keeps a submitted job PENDING (its runtime env, a free driver
slot) before it fails it: the job API's RAY_JOB_START_TIMEOUT_SECONDS on the
shared cluster's head, the same jobs.startTimeoutSeconds the deadlines add up.
*/}}
{{- define "ray101.jobStartTimeoutEnv" -}}
- name: RAY_JOB_START_TIMEOUT_SECONDS
  value: {{ .Values.jobs.startTimeoutSeconds | quote }}
{{- end }}

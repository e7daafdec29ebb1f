{{/*
Labels: the standard ones, the selector and pod-template ones, and the marker
labels NetworkPolicies select on. The markers of the Ray, MongoDB and S3
clients live beside their policies (ray/_networkpolicy.tpl,
mongodb/_mongodb.tpl, seaweedfs/_seaweedfs.tpl).
*/}}

{{/*
Standard labels of an object. Call with (dict "ctx" $ "component" "mongodb").
*/}}
{{- define "ray101.labels" -}}
helm.sh/chart: {{ include "ray101.chart" .ctx }}
{{ include "ray101.podLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
{{- end }}

{{/* Labels that select pods; they never change after install. Call with (dict "ctx" $ "component" C). */}}
{{- define "ray101.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ray101.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
Labels of a pod template: no chart or app version, so a chart upgrade does not
restart MongoDB, and a Job's immutable pod template stays the same.
Call with (dict "ctx" $ "component" NAME).
*/}}
{{- define "ray101.podLabels" -}}
{{ include "ray101.selectorLabels" . }}
app.kubernetes.io/part-of: ray101
{{- end }}

{{/* Pods that serve nothing: the no-ingress NetworkPolicy selects them. Call with $. */}}
{{- define "ray101.noIngressLabel" -}}
ray101/ingress: none
{{- end }}

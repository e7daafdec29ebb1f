{{/*
Environment of a Ray head with monitoring on: the Ray dashboard embeds the
Grafana panels (iframe host, loaded by the browser) and reads Prometheus
itself (the hosts, reached from the head). Nothing without monitoring.
*/}}
{{- define "ray101.monitoringEnv" -}}
{{- if .Values.monitoring.enabled }}
- name: RAY_PROMETHEUS_HOST
  value: {{ .Values.monitoring.prometheusHost | quote }}
- name: RAY_GRAFANA_HOST
  value: {{ .Values.monitoring.grafanaHost | quote }}
- name: RAY_GRAFANA_IFRAME_HOST
  value: {{ .Values.monitoring.grafanaIframeHost | quote }}
{{- end }}
{{- end }}

{{/* Ray's default RAY_SERVE_HAPROXY_METRICS_PORT: where Serve's HAProxy exports its metrics. */}}
{{- define "ray101.haproxyMetricsPort" -}}
{{- .Values.echo.env.RAY_SERVE_HAPROXY_METRICS_PORT | default "9101" }}
{{- end }}

{{/*
A PodMonitor scraping the metrics port KubeRay adds to every Ray container
(8080, `metrics`: Ray's metrics agent, which also exports Serve's metrics).
ray_io_cluster is the label Ray's Grafana dashboards filter clusters by.
With "haproxy", also HAProxy's exporter (the port `haproxy-metrics` of the
serving pods). Call with (dict "ctx" $ "name" "ray-head" "component" "ray"
"nodeType" "head" "haproxy" false).
*/}}
{{- define "ray101.podMonitor" -}}
{{- $ctx := .ctx -}}
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata:
  name: {{ include "ray101.fullname" $ctx }}-{{ .name }}
  namespace: {{ $ctx.Release.Namespace }}
  labels:
    {{- include "ray101.labels" (dict "ctx" $ctx "component" "monitoring") | nindent 4 }}
    release: {{ $ctx.Values.monitoring.release | quote }}
  annotations:
    # Where the scrapes come from (checked against the NetworkPolicies).
    ray101/traffic-from-namespace: {{ $ctx.Values.ray.networkPolicy.prometheusNamespace | quote }}
spec:
  jobLabel: ray.io/node-type
  # No namespaceSelector: the PodMonitor's own namespace, wherever an overlay puts it.
  selector:
    matchLabels:
      {{- include "ray101.selectorLabels" (dict "ctx" $ctx "component" .component) | nindent 6 }}
      {{- with .nodeType }}
      ray.io/node-type: {{ . }}
      {{- end }}
  podMetricsEndpoints:
    - port: metrics
      interval: {{ $ctx.Values.monitoring.interval }}
      relabelings:
        - action: replace
          sourceLabels: [__meta_kubernetes_pod_label_ray_io_cluster]
          targetLabel: ray_io_cluster
    {{- if .haproxy }}
    - port: haproxy-metrics
      path: /metrics
      interval: {{ $ctx.Values.monitoring.interval }}
      relabelings:
        - action: replace
          sourceLabels: [__meta_kubernetes_pod_label_ray_io_cluster]
          targetLabel: ray_io_cluster
    {{- end }}
{{- end }}

{{/* Marks a pod the head NetworkPolicy lets onto the job API and Ray Client ports. */}}
{{- define "ray101.rayJobClientLabel" -}}
ray101/ray-job-client: "true"
{{- end }}

{{/*
The namespaces an Ingress or HTTPRoute to the shared head's dashboard comes
from, as a YAML list (empty: the dashboard is not routed). The routes carry the
same namespace in their ray101/traffic-from-namespace annotation, which
tools/manifests reads to check that a policy lets that traffic in.
*/}}
{{- define "ray101.dashboardRouteNamespaces" -}}
{{- $found := list }}
{{- if and .Values.ingress.enabled .Values.ingress.dashboard.host }}
{{- $found = append $found .Values.ingress.controllerNamespace }}
{{- end }}
{{- if and .Values.gateway.enabled .Values.gateway.dashboard.hostnames }}
{{- $found = append $found .Values.gateway.proxyNamespace }}
{{- end }}
{{- uniq $found | toYaml }}
{{- end }}

{{/* The KubeRay operator reads job and Serve status from the heads' dashboard. */}}
{{- define "ray101.headJobApiPeers" -}}
- from:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ .Values.ray.networkPolicy.operatorNamespace }}
  ports:
    - protocol: TCP
      port: 8265
{{- end }}

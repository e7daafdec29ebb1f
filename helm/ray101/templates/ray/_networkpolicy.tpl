{{/* Marks a pod the head NetworkPolicy lets onto the job API and Ray Client ports. */}}
{{- define "ray101.rayJobClientLabel" -}}
ray101/ray-job-client: "true"
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

{{/* Redis, the GCS's external storage (ha.enabled). */}}
{{- define "ray101.redis.fullname" -}}
{{- printf "%s-redis" (include "ray101.fullname" .) }}
{{- end }}

{{- define "ray101.redis.secretName" -}}
{{- default (include "ray101.redis.fullname" .) .Values.ha.redis.auth.existingSecret }}
{{- end }}

{{/* host:port of Redis: its Service's name, qualified by namespace. */}}
{{- define "ray101.redis.address" -}}
{{- printf "%s.%s.svc:6379" (include "ray101.redis.fullname" .) .Release.Namespace }}
{{- end }}

{{/*
gcsFaultToleranceOptions of a Ray cluster, or nothing. KubeRay then sets
RAY_REDIS_ADDRESS, the password and the external storage namespace on the head
itself (and a GCS reconnect timeout on the workers), and refuses them set by
hand, together with the older ray.io/ft-enabled annotation.
*/}}
{{- define "ray101.gcsFaultTolerance" -}}
{{- if .Values.ha.enabled }}
gcsFaultToleranceOptions:
  redisAddress: {{ include "ray101.redis.address" . | quote }}
  redisPassword:
    valueFrom:
      secretKeyRef:
        name: {{ include "ray101.redis.secretName" . }}
        key: password
{{- end }}
{{- end }}

{{/*
The pods the Redis NetworkPolicy lets in, one podSelector each: the Ray heads
(the GCS), and the Job KubeRay runs when a RayCluster is deleted to remove
that cluster's keys (a copy of the head labelled ray.io/node-type:
redis-cleanup; the deletion waits for it).
*/}}
{{- define "ray101.redisClients" -}}
{{- range $type := list "head" "redis-cleanup" }}
- podSelector:
    matchLabels:
      app.kubernetes.io/instance: {{ $.Release.Name }}
      ray.io/node-type: {{ $type }}
{{- end }}
{{- end }}

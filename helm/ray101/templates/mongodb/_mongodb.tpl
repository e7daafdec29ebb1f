{{/*
MongoDB, the workloads' database (mongodb.enabled): one StatefulSet behind a
headless Service. Its names, its Secret's keys as variables, and the marker
label its NetworkPolicy lets in.
*/}}

{{/* The name of MongoDB's objects: <fullname>-mongodb. Call with $. */}}
{{- define "ray101.mongodb.fullname" -}}
{{- printf "%s-mongodb" (include "ray101.fullname" .) }}
{{- end }}

{{/* MongoDB's Secret: mongodb.auth.existingSecret, else the chart's own. Call with $. */}}
{{- define "ray101.mongodb.secretName" -}}
{{- default (include "ray101.mongodb.fullname" .) .Values.mongodb.auth.existingSecret }}
{{- end }}

{{/* host:port of MongoDB: the headless Service's name, qualified by namespace. Call with $. */}}
{{- define "ray101.mongodb.address" -}}
{{- printf "%s.%s.svc:27017" (include "ray101.mongodb.fullname" .) .Release.Namespace }}
{{- end }}

{{/*
One key of MongoDB's Secret as a variable: an env list item, no leading
newline. Call with (dict "ctx" $ "name" VARIABLE "key" SECRET-KEY).
*/}}
{{- define "ray101.mongodb.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "ray101.mongodb.secretName" .ctx }}
      key: {{ .key }}
{{- end }}

{{/*
MONGODB_URI, whole from the Secret's `uri` key: the chart writes it with the
user and password percent-encoded (a password may hold @ : / % ?), the
kustomize path from secret.env. No password or username in the pod's env.
An env list item; call with $.
*/}}
{{- define "ray101.mongodbEnv" -}}
{{- include "ray101.mongodb.secretEnv" (dict "ctx" . "name" "MONGODB_URI" "key" "uri") }}
{{- end }}

{{/* Marks a pod the MongoDB NetworkPolicy lets in: one label. Call with $. */}}
{{- define "ray101.mongodbClientLabel" -}}
ray101/mongodb-client: "true"
{{- end }}

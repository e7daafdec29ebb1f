{{/*
SeaweedFS, Tune's S3 store (seaweedfs.enabled): one `weed server` (master,
volume, filer and S3 gateway in one process). Its admin identity comes from
AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in its own environment (the Secret's
rootUser/rootPassword); the bucket Job makes the Tune identity through the
IAM API on the S3 port (jobs/commands/bucket.py).
*/}}
{{- define "ray101.seaweedfs.fullname" -}}
{{- printf "%s-seaweedfs" (include "ray101.fullname" .) }}
{{- end }}

{{- define "ray101.seaweedfs.secretName" -}}
{{- default (include "ray101.seaweedfs.fullname" .) .Values.seaweedfs.auth.existingSecret }}
{{- end }}

{{- define "ray101.seaweedfs.endpoint" -}}
{{- printf "http://%s:8333" (include "ray101.seaweedfs.fullname" .) }}
{{- end }}

{{/*
`weed server`'s arguments. Only the S3 gateway listens beyond the pod: its
HTTP port 8333 and its gRPC port 18333 (IAM cache updates and lifecycle
deletes, which it takes from local peers only). The master, volume server and
filer, whose APIs have no authentication, bind to 127.0.0.1. The IAM API on the S3 port takes writes (the bucket Job's), only
from the admin identity: self-service key minting needs a grant too.
tests/servers/seaweedfs.py runs the real server with the same S3 and IAM flags.
*/}}
{{- define "ray101.seaweedfs.args" -}}
- -logtostderr=true
- server
- -dir=/data
- -ip=127.0.0.1
- -ip.bind=127.0.0.1
- -filer
- -s3
- -s3.ip.bind=0.0.0.0
- -s3.port=8333
# Volume files of 128 MiB, as many as the data volume holds (kind's 1Gi: 7;
# a bucket takes several, objects of any size span volumes in 4 MiB chunks).
- -volume.max=0
- -master.volumeSizeLimitMB=128
- -s3.iam.readOnly=false
- -s3.iam.selfServiceRequiresGrant=true
- -s3.port.iceberg=0
- -s3.port.lance=0
- -master.telemetry=false
{{- end }}

{{/*
A pair of keys from the store's Secret as two variables:
(dict "ctx" . "names" (list ACCESS_VAR SECRET_VAR) "keys" (list USER_KEY PASSWORD_KEY)).
*/}}
{{- define "ray101.seaweedfs.keys" -}}
{{- range $i, $var := .names }}
- name: {{ $var }}
  valueFrom:
    secretKeyRef:
      name: {{ include "ray101.seaweedfs.secretName" $.ctx }}
      key: {{ index $.keys $i }}
{{- end }}
{{- end }}

{{/*
The store's admin identity, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (rootUser,
rootPassword): for SeaweedFS itself and the bucket Job alone. Env list items,
with a leading newline; call with $.
*/}}
{{- define "ray101.seaweedfs.adminKeys" -}}
{{- include "ray101.seaweedfs.keys" (dict "ctx" . "names" (list "AWS_ACCESS_KEY_ID" "AWS_SECRET_ACCESS_KEY") "keys" (list "rootUser" "rootPassword")) }}
{{- end }}

{{/* The S3 credentials of the Ray pods: the Tune identity, limited to its bucket. */}}
{{- define "ray101.seaweedfs.credentials" -}}
{{- include "ray101.seaweedfs.keys" (dict "ctx" . "names" (list "AWS_ACCESS_KEY_ID" "AWS_SECRET_ACCESS_KEY") "keys" (list "tuneUser" "tunePassword")) }}
{{- end }}

{{/* The store's endpoint and the Tune identity's keys, for `ray101 wait bucket`. */}}
{{- define "ray101.bucketEnv" -}}
- name: AWS_ENDPOINT_URL
  value: {{ include "ray101.seaweedfs.endpoint" . | quote }}
{{ include "ray101.seaweedfs.credentials" . }}
{{- end }}

{{/*
The bucket Job's environment: the store's admin keys (it creates the bucket
and the Tune identity) and the Tune identity's keys for
`ray101 bucket create --bucket-user`.
*/}}
{{- define "ray101.bucketJobEnv" -}}
- name: AWS_ENDPOINT_URL
  value: {{ include "ray101.seaweedfs.endpoint" . | quote }}
{{ include "ray101.seaweedfs.adminKeys" . }}
{{ include "ray101.seaweedfs.keys" (dict "ctx" . "names" (list "BUCKET_USER_ACCESS_KEY" "BUCKET_USER_SECRET_KEY") "keys" (list "tuneUser" "tunePassword")) }}
{{- end }}

{{/* Marks a pod the store's NetworkPolicy lets in. */}}
{{- define "ray101.s3ClientLabel" -}}
ray101/s3-client: "true"
{{- end }}

{{/* The Tune identity has a key of its own: the Ray pods must not hold the admin's. */}}
{{- define "ray101.validateValues.seaweedfsUsers" -}}
{{- if and .Values.seaweedfs.enabled (eq .Values.seaweedfs.auth.tuneUser .Values.seaweedfs.auth.rootUser) }}
{{- printf "seaweedfs.auth.tuneUser must differ from seaweedfs.auth.rootUser (%q): the Ray pods must not hold the store's admin keys" .Values.seaweedfs.auth.rootUser }}
{{- end }}
{{- end }}

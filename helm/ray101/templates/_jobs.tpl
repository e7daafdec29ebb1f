{{/*
Jobs: the container that runs a `ray101` command (the one-off Jobs, the
RayJobs' submitter pods) and the hook annotations of the one-off Jobs. The
RayJobs' own pieces live in ray/_rayjob.tpl.
*/}}

{{/*
A container running a `ray101` command from the project image, with the
submitter's resources. Call with (dict "ctx" $ "name" "wait-for-data"
"command" (list "wait" "data") "env" "<YAML list>" "resources" {...}), and
"timeout" SECONDS to end the command by then (coreutils `timeout`, exit 124).
*/}}
{{- define "ray101.commandContainer" -}}
{{- $ctx := .ctx -}}
{{- $argv := concat (list "python" "-m" "jobs.cli") .command }}
{{- with .timeout }}
{{- $argv = concat (list "timeout" (printf "%v" .)) $argv }}
{{- end }}
- name: {{ .name }}
  image: {{ include "ray101.image" $ctx | quote }}
  imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
  command: {{ $argv | toJson }}
  {{- with .env }}
  env:
    {{- . | trim | nindent 4 }}
  {{- end }}
  resources:
    {{- toYaml .resources | nindent 4 }}
  securityContext:
    {{- include "ray101.readOnlySecurityContext" $ctx | nindent 4 }}
  volumeMounts:
    - name: tmp
      mountPath: /tmp
{{- end }}

{{/*
The annotations that make a one-off Job a Helm hook: created after the
release's other objects on every install and upgrade, the previous run deleted
first (before-hook-creation). A Job's pod template cannot change, so a plain
`helm upgrade` with a new image would otherwise stop on "field is immutable".
The kustomize base drops them (tools/generate/kustomize.py); scripts/deploy
deletes finished Jobs on that path. Call with $.
*/}}
{{- define "ray101.oneOffJobHook" -}}
helm.sh/hook: post-install,post-upgrade
helm.sh/hook-delete-policy: before-hook-creation
{{- end }}

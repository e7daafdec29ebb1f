{{/*
Secrets: the passwords of the Secrets the chart creates. Which Secret a
component reads is a name (mongodb/_mongodb.tpl, redis/_redis.tpl,
seaweedfs/_seaweedfs.tpl).
*/}}

{{/*
A password for a Secret the chart creates: the one given in the values, else
the one already in the cluster (upgrades), else a new random one, but only
when Helm talks to a cluster. Rendered without one (helm template, a
client-side dry run, Argo CD, Flux), `lookup` finds nothing and a new password
on every render would drift from the one MongoDB was initialised with: fail
instead. Whether Helm talks to a cluster is told by listing the release
namespace's Secrets (a cluster answers with a list, empty or not; none, with
nothing), which any Helm user may do: Helm keeps its releases there. A
cluster-scoped lookup would be Forbidden to a namespace-scoped deployer.
Call with (dict "ctx" $ "secret" NAME "key" KEY "given" VALUE "values" "mongodb.auth").
*/}}
{{- define "ray101.password" -}}
{{- if .given }}
{{- .given }}
{{- else }}
{{- $previous := lookup "v1" "Secret" .ctx.Release.Namespace .secret | default dict }}
{{- $data := get $previous "data" | default dict }}
{{- if hasKey $data .key }}
{{- index $data .key | b64dec }}
{{- else if lookup "v1" "Secret" .ctx.Release.Namespace "" }}
{{- randAlphaNum 32 }}
{{- else }}
{{- fail (printf "\nray101: rendered without a cluster (helm template, --dry-run=client, Argo CD, Flux), the Secret %s cannot keep its password: each render would draw a new one. Set %s.existingSecret to a Secret you create, or give the password (%s.%s)" .secret .values .values (get (dict "password" "password" "app-password" "appPassword" "rootPassword" "rootPassword" "tunePassword" "tunePassword") .key)) }}
{{- end }}
{{- end }}
{{- end }}

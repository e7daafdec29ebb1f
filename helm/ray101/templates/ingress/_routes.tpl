{{/* An Ingress or a set of HTTPRoutes has something to route to (one rule of ray101.validateValues). */}}
{{- define "ray101.validateValues.routes" -}}
{{- $found := list }}
{{- if and .Values.ingress.enabled (not .Values.echo.enabled) (not .Values.ingress.dashboard.host) }}
{{- $found = append $found "ingress.enabled routes the echo service or the dashboard: enable echo or set ingress.dashboard.host" }}
{{- end }}
{{- if and .Values.gateway.enabled (not .Values.echo.enabled) (not .Values.gateway.dashboard.hostnames) }}
{{- $found = append $found "gateway.enabled routes the echo service or the dashboard: enable echo or set gateway.dashboard.hostnames" }}
{{- end }}
{{- join "; " $found }}
{{- end }}

{{/* Images: the project image and its pull secrets. */}}

{{/* The project image, image.repository:image.tag. Call with $. */}}
{{- define "ray101.image" -}}
{{- printf "%s:%s" .Values.image.repository .Values.image.tag }}
{{- end }}

{{/* The project's GPU image, image.repository:image.gpuTag. Call with $. */}}
{{- define "ray101.gpuImage" -}}
{{- printf "%s:%s" .Values.image.repository .Values.image.gpuTag }}
{{- end }}

{{/* imagePullSecrets, or nothing; call as {{- with include "ray101.imagePullSecrets" . }}{{ . | nindent N }}{{ end }} */}}
{{- define "ray101.imagePullSecrets" -}}
{{- with .Values.image.pullSecrets -}}
imagePullSecrets:
{{ toYaml . | indent 2 }}
{{- end -}}
{{- end }}

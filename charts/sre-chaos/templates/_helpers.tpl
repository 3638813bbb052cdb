{{/* Common labels. */}}
{{- define "sre-chaos.labels" -}}
app.kubernetes.io/part-of: sre-chaos
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* The Secret holding the tokens (and the external database URL). */}}
{{- define "sre-chaos.secretName" -}}
{{- if .Values.secrets.existingSecret -}}
{{ .Values.secrets.existingSecret }}
{{- else -}}
{{ .Release.Name }}-secrets
{{- end -}}
{{- end -}}

{{/* Where the API server scores from. */}}
{{- define "sre-chaos.prometheusUrl" -}}
{{- if .Values.prometheus.internal.enabled -}}
http://{{ .Release.Name }}-prometheus:9090
{{- else -}}
{{ required "prometheus.url is required when prometheus.internal.enabled is false" .Values.prometheus.url }}
{{- end -}}
{{- end -}}

{{/* A restricted-profile container security context. */}}
{{- define "sre-chaos.containerSecurity" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

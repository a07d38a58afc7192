{{/* Labels on every object. */}}
{{- define "constellation.labels" -}}
app.kubernetes.io/name: constellation
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: constellation-{{ .Chart.Version }}
{{- end }}

{{/* What the Service, the PodDisruptionBudget and the ServiceMonitor select. */}}
{{- define "constellation.selectorLabels" -}}
app.kubernetes.io/name: constellation
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The Secret holding the broker's secrets: the user's own, or the chart's. */}}
{{- define "constellation.secretName" -}}
{{- if .Values.secrets.existingSecret }}{{ .Values.secrets.existingSecret }}{{ else }}{{ .Release.Name }}-constellation{{ end }}
{{- end }}

{{/* DATABASE_URL, the same for the broker and the migration init container. */}}
{{- define "constellation.databaseEnv" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
{{- if .Values.database.existingSecret }}
      name: {{ .Values.database.existingSecret }}
      key: {{ .Values.database.existingSecretKey }}
{{- else }}
      name: {{ .Release.Name }}-constellation
      key: DATABASE_URL
{{- end }}
{{- end }}

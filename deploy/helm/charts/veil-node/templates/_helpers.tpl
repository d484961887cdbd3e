{{/* The node's name: its StatefulSet, Service and the prefix of its Secrets. */}}
{{- define "veil-node.fullname" -}}
{{- printf "%s-%s" .Chart.Name .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{/* The Service's name in the cluster's DNS. */}}
{{- define "veil-node.host" -}}
{{ include "veil-node.fullname" . }}.{{ .Release.Namespace }}.{{ .Values.cluster.domain }}
{{- end }}

{{- define "veil-node.labels" -}}
app.kubernetes.io/name: veil-node
app.kubernetes.io/part-of: {{ include "veil-node.fullname" . }}
app.kubernetes.io/namespace: {{ .Release.Namespace }}
app.kubernetes.io/release: {{ .Release.Name }}
app.kubernetes.io/managed-by: helm
{{- end }}

{{- define "veil-node.selector" -}}
app.kubernetes.io/name: veil-node
app.kubernetes.io/part-of: {{ include "veil-node.fullname" . }}
app.kubernetes.io/release: {{ .Release.Name }}
{{- end }}

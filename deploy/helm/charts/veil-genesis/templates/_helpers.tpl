{{/*
The nodes of files/nodes/: one directory per node, named as the node chart's release
(validator-1, member-1, ...).
*/}}
{{- define "veil-genesis.nodes" -}}
{{- range $path, $_ := .Files.Glob "files/nodes/*/nodekey.pub" }}
{{ base (dir $path) }}
{{- end }}
{{- end }}

{{/* The node chart's fullname of a release: its Service, StatefulSet and Secrets' prefix. */}}
{{- define "veil-genesis.service" -}}
veil-node-{{ . }}
{{- end }}

{{/* Keeps a resource on uninstall unless told otherwise. */}}
{{- define "veil-genesis.keep" -}}
{{- if not . }}
  annotations:
    helm.sh/resource-policy: keep
{{- end }}
{{- end }}

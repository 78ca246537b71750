{{/* Names, labels and the pieces several templates share. */}}

{{- define "mcpctl.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release-qualified name every object starts with. */}}
{{- define "mcpctl.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "mcpctl.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "mcpctl.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels of one component: call with (dict "root" $ "component" "gateway"). */}}
{{- define "mcpctl.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mcpctl.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "mcpctl.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "mcpctl.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "mcpctl.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The Secret holding database-url (and redis-url, webhook-secret): the chart's own or an existing one. */}}
{{- define "mcpctl.secretName" -}}
{{- if .Values.secrets.existingSecret }}
{{- .Values.secrets.existingSecret }}
{{- else }}
{{- include "mcpctl.fullname" . }}
{{- end }}
{{- end }}

{{/* Fails the render early and clearly when nothing says where the store is. */}}
{{- define "mcpctl.checkStore" -}}
{{- if not (or .Values.store.databaseUrl .Values.secrets.existingSecret) }}
{{- fail "store.databaseUrl (a postgresql:// URL) or secrets.existingSecret (with a database-url key) is required: replicas share state only through PostgreSQL" }}
{{- end }}
{{- if and .Values.store.databaseUrl (not (hasPrefix "postgres" .Values.store.databaseUrl)) }}
{{- fail "store.databaseUrl must be a postgresql:// URL: a SQLite file cannot be shared by replicas" }}
{{- end }}
{{- end }}

{{/* Host header values the gateway accepts: the Service's names, the ingress hosts, gateway.allowedHosts. */}}
{{- define "mcpctl.allowedHosts" -}}
{{- $name := include "mcpctl.fullname" . }}
{{- $port := int .Values.service.port }}
{{- $hosts := list $name (printf "%s.%s" $name .Release.Namespace) (printf "%s.%s.svc" $name .Release.Namespace) (printf "%s.%s.svc.cluster.local" $name .Release.Namespace) }}
{{- $all := list }}
{{- range $hosts }}
{{- $all = append $all (printf "%s:%d" . $port) }}
{{- if or (eq $port 80) (eq $port 443) }}
{{- $all = append $all . }}
{{- end }}
{{- end }}
{{- if .Values.ingress.enabled }}
{{- range .Values.ingress.hosts }}
{{- $all = append $all .host }}
{{- end }}
{{- end }}
{{- concat $all .Values.gateway.allowedHosts | uniq | toJson }}
{{- end }}

{{/* The environment every mcpctl container gets: the store URL from the Secret, settings from the ConfigMap. */}}
{{- define "mcpctl.storeEnv" -}}
- name: MCPCTL_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "mcpctl.secretName" . }}
      key: database-url
{{- end }}

{{/* Writable places under a read-only root filesystem: /tmp and $HOME (stdio upstreams write there). */}}
{{- define "mcpctl.scratchVolumes" -}}
- name: tmp
  emptyDir: {}
- name: home
  emptyDir: {}
{{- end }}

{{- define "mcpctl.scratchMounts" -}}
- name: tmp
  mountPath: /tmp
- name: home
  mountPath: /home/mcpctl
{{- end }}

{{- define "mcpctl.checkRedis" -}}
{{- if and .Values.redis.enabled (not (or .Values.redis.url .Values.secrets.existingSecret)) }}
{{- fail "redis.enabled needs redis.url (or a redis-url key in secrets.existingSecret)" }}
{{- end }}
{{- end }}

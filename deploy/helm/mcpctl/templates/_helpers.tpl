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

{{- define "mcpctl.checkReconciler" -}}
{{- if not .Values.reconciler.git.url }}
{{- fail "reconciler.git.url is required (the config repository), or set reconciler.enabled=false" }}
{{- end }}
{{- if not (has .Values.reconciler.mode (list "deployment" "cronjob")) }}
{{- fail (printf "reconciler.mode must be deployment or cronjob, not %q" .Values.reconciler.mode) }}
{{- end }}
{{- if and .Values.reconciler.webhook.enabled (eq .Values.reconciler.mode "deployment") (not (or .Values.secrets.webhookSecret .Values.secrets.existingSecret)) }}
{{- fail "reconciler.webhook.enabled needs secrets.webhookSecret (or a webhook-secret key in secrets.existingSecret)" }}
{{- end }}
{{- end }}

{{/* The reconciler's pod spec; call with (dict "root" $ "once" true|false). */}}
{{- define "mcpctl.reconcilerPod" -}}
{{- $root := .root }}
{{- $values := $root.Values.reconciler }}
{{- $webhook := and $values.webhook.enabled (not .once) -}}
serviceAccountName: {{ include "mcpctl.serviceAccountName" $root }}
automountServiceAccountToken: false
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml $root.Values.podSecurityContext | nindent 2 }}
{{- if .once }}
restartPolicy: Never
{{- end }}
containers:
  - name: reconciler
    image: {{ include "mcpctl.image" $root | quote }}
    imagePullPolicy: {{ $root.Values.image.pullPolicy }}
    args:
      - reconcile
      - --repo
      - {{ $values.git.url | quote }}
      {{- with $values.git.ref }}
      - --ref
      - {{ . | quote }}
      {{- end }}
      {{- with $values.git.path }}
      - --path
      - {{ . | quote }}
      {{- end }}
      - --interval
      - {{ $values.interval | quote }}
      {{- if $values.dryRun }}
      - --dry-run
      {{- end }}
      {{- if $values.pruneAll }}
      - --prune-all
      {{- end }}
      {{- if $values.tokenOutput.enabled }}
      - --token-output
      - /var/lib/mcpctl/tokens
      {{- end }}
      {{- if $webhook }}
      - --webhook-listen
      - {{ printf "0.0.0.0:%d" (int $values.webhook.port) | quote }}
      {{- end }}
      {{- if .once }}
      - --once
      {{- end }}
    env:
      {{- include "mcpctl.storeEnv" $root | nindent 6 }}
      {{- if $webhook }}
      - name: MCPCTL_WEBHOOK_SECRET
        valueFrom:
          secretKeyRef:
            name: {{ include "mcpctl.secretName" $root }}
            key: webhook-secret
      {{- end }}
      {{- if $values.git.credentialsSecret }}
      # git reads extra configuration from GIT_CONFIG_COUNT/KEY_n/VALUE_n (git 2.31 and later).
      - name: GIT_CONFIG_COUNT
        value: "1"
      - name: GIT_CONFIG_KEY_0
        value: credential.helper
      - name: GIT_CONFIG_VALUE_0
        value: store --file=/etc/mcpctl/git/.git-credentials
      {{- end }}
      {{- if $values.git.sshSecret }}
      - name: GIT_SSH_COMMAND
        value: ssh -o BatchMode=yes -o IdentitiesOnly=yes -i /etc/mcpctl/git-ssh/ssh-privatekey -o UserKnownHostsFile=/etc/mcpctl/git-ssh/known_hosts
      {{- end }}
    {{- if $webhook }}
    ports:
      - name: webhook
        containerPort: {{ $values.webhook.port }}
        protocol: TCP
    livenessProbe:
      httpGet:
        path: /healthz
        port: webhook
      periodSeconds: 10
      timeoutSeconds: 3
    {{- end }}
    resources:
      {{- toYaml $values.resources | nindent 6 }}
    securityContext:
      {{- toYaml $root.Values.securityContext | nindent 6 }}
    volumeMounts:
      {{- include "mcpctl.scratchMounts" $root | nindent 6 }}
      - name: state
        mountPath: /var/lib/mcpctl
      - name: cache
        mountPath: /var/cache/mcpctl
      {{- if $values.tokenOutput.enabled }}
      - name: tokens
        mountPath: /var/lib/mcpctl/tokens
      {{- end }}
      {{- if $values.git.credentialsSecret }}
      - name: git-credentials
        mountPath: /etc/mcpctl/git
        readOnly: true
      {{- end }}
      {{- if $values.git.sshSecret }}
      - name: git-ssh
        mountPath: /etc/mcpctl/git-ssh
        readOnly: true
      {{- end }}
volumes:
  {{- include "mcpctl.scratchVolumes" $root | nindent 2 }}
  # The status file and the git cache: rebuilt by a new pod (one clone, then fetches).
  - name: state
    emptyDir: {}
  - name: cache
    emptyDir: {}
  {{- if $values.tokenOutput.enabled }}
  - name: tokens
    persistentVolumeClaim:
      claimName: {{ default (printf "%s-tokens" (include "mcpctl.fullname" $root)) $values.tokenOutput.existingClaim }}
  {{- end }}
  {{- if $values.git.credentialsSecret }}
  - name: git-credentials
    secret:
      secretName: {{ $values.git.credentialsSecret }}
      defaultMode: 0440
  {{- end }}
  {{- if $values.git.sshSecret }}
  - name: git-ssh
    secret:
      secretName: {{ $values.git.sshSecret }}
      defaultMode: 0440
  {{- end }}
{{- with $values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

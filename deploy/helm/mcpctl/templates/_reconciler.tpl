{{/* The reconciler's checks and pod spec, shared by its Deployment and its CronJob. */}}

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

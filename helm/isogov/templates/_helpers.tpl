{{/* Names, labels, the image, the secret and config names, and the pod parts every isogov process shares. */}}

{{- define "isogov.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "isogov.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "isogov.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* selector labels of one component: (dict "root" $ "component" "api") */}}
{{- define "isogov.selectorLabels" -}}
app.kubernetes.io/name: {{ include "isogov.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end -}}

{{- define "isogov.labels" -}}
helm.sh/chart: {{ include "isogov.chart" .root }}
{{ include "isogov.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: isogov
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "isogov.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "isogov.configName" -}}
{{- printf "%s-config" (include "isogov.fullname" .) -}}
{{- end -}}

{{/* the Secret the pods read: the operator's existingSecret, else the one this chart writes */}}
{{- define "isogov.secretName" -}}
{{- if .Values.secrets.existingSecret -}}
{{- .Values.secrets.existingSecret -}}
{{- else -}}
{{- printf "%s-secrets" (include "isogov.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "isogov.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "isogov.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
Annotations of the resources the migration Job needs (ConfigMap, Secret, ServiceAccount): they are hooks of a
lower weight, so Helm (and Argo CD, as PreSync with a lower sync wave) creates them before the Job runs, also on
the very first install. Regular resources would be created only after the pre-install hooks. pre-rollback: a
`helm rollback` brings back the configuration of the release it returns to.
*/}}
{{- define "isogov.prerequisiteHook" -}}
helm.sh/hook: pre-install,pre-upgrade,pre-rollback
helm.sh/hook-weight: "-10"
helm.sh/hook-delete-policy: before-hook-creation
argocd.argoproj.io/hook: PreSync
argocd.argoproj.io/hook-delete-policy: BeforeHookCreation
argocd.argoproj.io/sync-wave: "-10"
{{- end -}}

{{/* pods roll when the configuration or the chart's Secret changes */}}
{{- define "isogov.checksums" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- if .Values.secrets.existingSecret }}
checksum/secret-name: {{ .Values.secrets.existingSecret | sha256sum }}
{{- else }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- end -}}

{{- define "isogov.podSpecCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
serviceAccountName: {{ include "isogov.serviceAccountName" . }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: {{ .Values.tmpSizeLimit }}
{{- end -}}

{{/* the parts of every isogov container: image, security, environment, /tmp */}}
{{- define "isogov.containerCommon" -}}
image: {{ include "isogov.image" . }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
securityContext:
  {{- toYaml .Values.containerSecurityContext | nindent 2 }}
envFrom:
  - configMapRef:
      name: {{ include "isogov.configName" . }}
  - secretRef:
      name: {{ include "isogov.secretName" . }}
{{- with .Values.extraEnv }}
env:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
{{- end -}}

{{/* nodeSelector, tolerations, affinity and the like of one component's values */}}
{{- define "isogov.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end -}}

{{/* the checks every render makes before writing anything */}}
{{- define "isogov.validate" -}}
{{- if gt (int .Values.scheduler.replicas) 1 -}}
{{- fail (printf "scheduler.replicas must be 0 or 1, got %v: a second scheduler would run every cron job twice" .Values.scheduler.replicas) -}}
{{- end -}}
{{- if not .Values.secrets.existingSecret -}}
{{- if not .Values.secrets.databaseUrl -}}
{{- fail "secrets.databaseUrl is required (postgres://user:password@host:5432/db), or name a Secret of yours in secrets.existingSecret" -}}
{{- end -}}
{{- if not (hasPrefix "postgres" .Values.secrets.databaseUrl) -}}
{{- fail "secrets.databaseUrl must be a postgres:// or postgresql:// URL: production runs on PostgreSQL" -}}
{{- end -}}
{{- if not .Values.secrets.redisUrl -}}
{{- fail "secrets.redisUrl is required (redis://host:6379/0, or redis+sentinel://sentinel:26379/mymaster/0), or name a Secret of yours in secrets.existingSecret" -}}
{{- end -}}
{{- if and (eq (toString .Values.config.ISOGOV_EVIDENCE_BACKEND) "s3") (not (and .Values.secrets.s3AccessKey .Values.secrets.s3SecretKey)) -}}
{{- fail "secrets.s3AccessKey and secrets.s3SecretKey are required while config.ISOGOV_EVIDENCE_BACKEND is s3, or name a Secret of yours in secrets.existingSecret" -}}
{{- end -}}
{{- if lt (len .Values.secrets.secretKey) 32 -}}
{{- fail "secrets.secretKey must be at least 32 characters (e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'), or name a Secret of yours in secrets.existingSecret" -}}
{{- end -}}
{{- end -}}
{{- if and (eq (toString .Values.config.ISOGOV_EVIDENCE_BACKEND) "s3") (not .Values.config.ISOGOV_S3_ENDPOINT) -}}
{{- fail "config.ISOGOV_S3_ENDPOINT is required while config.ISOGOV_EVIDENCE_BACKEND is s3 (the `local` backend keeps files in the pod's /tmp: lost on restart, not shared between replicas)" -}}
{{- end -}}
{{- end -}}

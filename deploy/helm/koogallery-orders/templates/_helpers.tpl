{{/* Names: <release>-koogallery-orders unless the release name already contains the chart name. */}}
{{- define "koogallery-orders.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "koogallery-orders.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component (api, worker, migrate). Usage: include "koogallery-orders.selectorLabels" (list . "api") */}}
{{- define "koogallery-orders.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ $root.Chart.Name }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "koogallery-orders.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "koogallery-orders.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "koogallery-orders.fullname" .)) -}}
{{- end -}}

{{/*
The keys read from the Secret: every required key, and the optional ones that are present (chart-made Secret) or
listed (existing Secret: the chart cannot see inside it).
*/}}
{{- define "koogallery-orders.secretKeys" -}}
{{- $keys := list -}}
{{- range .Values.secrets.required }}{{ $keys = append $keys . }}{{ end -}}
{{- range .Values.secrets.optional -}}
{{- if or $.Values.secrets.existingSecret (hasKey $.Values.secrets.values .) }}{{ $keys = append $keys . }}{{ end -}}
{{- end -}}
{{- toJson $keys -}}
{{- end -}}

{{- define "koogallery-orders.secretsDir" -}}/etc/koogallery/secrets{{- end -}}
{{- define "koogallery-orders.temporalTlsDir" -}}/etc/koogallery/temporal-tls{{- end -}}

{{/* The environment shared by api, worker and migrate: settings as values, secrets as <KEY>_FILE paths. */}}
{{- define "koogallery-orders.env" -}}
- name: APP_ENV
  value: production
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: HOST
  value: "0.0.0.0"
- name: PORT
  value: {{ .Values.api.publicPort | quote }}
- name: INTERNAL_PORT
  value: {{ .Values.api.internalPort | quote }}
- name: WORKER_METRICS_PORT
  value: {{ .Values.worker.metricsPort | quote }}
- name: PG_POOL_MAX
  value: {{ .Values.postgres.poolMax | quote }}
- name: TEMPORAL_ADDRESS
  value: {{ .Values.temporal.address | quote }}
- name: TEMPORAL_NAMESPACE
  value: {{ .Values.temporal.namespace | quote }}
- name: TEMPORAL_TASK_QUEUE
  value: {{ .Values.temporal.taskQueue | quote }}
- name: TEMPORAL_WORKFLOW_BUNDLE
  value: /app/dist/workflow-bundle.js
{{- with .Values.temporal.mtls.existingSecret }}
- name: TEMPORAL_TLS_CERT_PATH
  value: {{ include "koogallery-orders.temporalTlsDir" $ }}/tls.crt
- name: TEMPORAL_TLS_KEY_PATH
  value: {{ include "koogallery-orders.temporalTlsDir" $ }}/tls.key
{{- if $.Values.temporal.mtls.privateCa }}
- name: TEMPORAL_TLS_CA_PATH
  value: {{ include "koogallery-orders.temporalTlsDir" $ }}/ca.crt
{{- end }}
{{- end }}
{{- with .Values.temporal.serverName }}
- name: TEMPORAL_TLS_SERVER_NAME
  value: {{ . | quote }}
{{- end }}
{{- range (include "koogallery-orders.secretKeys" . | fromJsonArray) }}
- name: {{ . }}_FILE
  value: {{ include "koogallery-orders.secretsDir" $ }}/{{ . }}
{{- end }}
{{- range $name, $value := .Values.env }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{- define "koogallery-orders.volumes" -}}
- name: secrets
  secret:
    secretName: {{ include "koogallery-orders.secretName" . }}
    defaultMode: 0440
    items:
{{- range (include "koogallery-orders.secretKeys" . | fromJsonArray) }}
      - key: {{ . }}
        path: {{ . }}
{{- end }}
{{- with .Values.temporal.mtls.existingSecret }}
- name: temporal-tls
  secret:
    secretName: {{ . }}
    defaultMode: 0440
{{- end }}
# readOnlyRootFilesystem: a writable /tmp for whatever a library writes there.
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end -}}

{{- define "koogallery-orders.volumeMounts" -}}
- name: secrets
  mountPath: {{ include "koogallery-orders.secretsDir" . }}
  readOnly: true
{{- if .Values.temporal.mtls.existingSecret }}
- name: temporal-tls
  mountPath: {{ include "koogallery-orders.temporalTlsDir" . }}
  readOnly: true
{{- end }}
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* Pod-level settings shared by every pod of the chart. */}}
{{- define "koogallery-orders.podCommon" -}}
automountServiceAccountToken: false
{{- with .Values.serviceAccountName }}
serviceAccountName: {{ . }}
{{- end }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
{{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
{{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end -}}

{{/* Pod annotations: a changed chart-made Secret rolls the pods (the files would change in place, but the
configuration is read once at start); plus the component's own. Usage: include ... (list . .Values.api.podAnnotations) */}}
{{- define "koogallery-orders.podAnnotations" -}}
{{- $root := index . 0 -}}
{{- $annotations := dict -}}
{{- if not $root.Values.secrets.existingSecret -}}
{{- $_ := set $annotations "checksum/secrets" (toJson $root.Values.secrets.values | sha256sum) -}}
{{- end -}}
{{- $annotations = merge $annotations (index . 1) -}}
{{- with $annotations -}}
annotations:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

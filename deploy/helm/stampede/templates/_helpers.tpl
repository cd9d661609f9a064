{{- define "stampede.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "stampede.fullname" -}}
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

{{- define "stampede.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "stampede.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "stampede.selectorLabels" -}}
app.kubernetes.io/name: {{ include "stampede.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "stampede.image" -}}
{{- if eq .Values.image.tag "latest" }}
{{- fail "image.tag latest: pin a release (empty: the chart's appVersion), or workers started after a release run another version than the master" }}
{{- end }}
{{- .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "stampede.secretName" -}}
{{- .Values.auth.existingSecret | default (printf "%s-auth" (include "stampede.fullname" .)) }}
{{- end }}

{{- define "stampede.scriptConfigMap" -}}
{{- .Values.script.existingConfigMap | default (printf "%s-script" (include "stampede.fullname" .)) }}
{{- end }}

{{- define "stampede.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- .Values.serviceAccount.name | default (include "stampede.fullname" .) }}
{{- else }}
{{- .Values.serviceAccount.name | default "default" }}
{{- end }}
{{- end }}

{{/* The worker Deployments: worker.groups, or one group from worker.* */}}
{{- define "stampede.workerGroups" -}}
{{- $groups := list }}
{{- if .Values.worker.groups }}
{{- range .Values.worker.groups }}
{{- $groups = append $groups (dict "name" (required "worker.groups[].name is required" .name) "region" (.region | default $.Values.worker.region) "replicas" (hasKey . "replicas" | ternary .replicas $.Values.worker.replicas) "nodeSelector" (.nodeSelector | default $.Values.worker.nodeSelector)) }}
{{- end }}
{{- else }}
{{- $groups = append $groups (dict "name" "" "region" .Values.worker.region "replicas" .Values.worker.replicas "nodeSelector" .Values.worker.nodeSelector) }}
{{- end }}
{{- toJson $groups }}
{{- end }}

{{- define "stampede.totalWorkers" -}}
{{- $total := 0 }}
{{- range (include "stampede.workerGroups" . | fromJsonArray) }}
{{- $total = add $total (int .replicas) }}
{{- end }}
{{- $total }}
{{- end }}

{{/* The headless Job's name and run id: a new Job per release revision,
since a Job's pod template is immutable and `helm upgrade` could not
change it; headless.runId, when set, names the run instead. */}}
{{- define "stampede.headlessJobName" -}}
{{- printf "%s-master-%d" (include "stampede.fullname" .) (int .Release.Revision) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "stampede.runId" -}}
{{- .Values.headless.runId | default (printf "%s-%d" .Release.Name (int .Release.Revision)) }}
{{- end }}

{{/* Arguments shared by the master Deployment and the headless Job.
Nothing here depends on the number of workers: the web UI master must not
be restarted when workers are scaled (the Job adds --expect-workers). */}}
{{- define "stampede.masterArgs" -}}
- master
- -f
- /etc/stampede/script/{{ ternary "test.tar.gz" .Values.script.key (ne .Values.script.bundle "") }}
- --master-bind-port
- {{ .Values.master.service.masterPort | quote }}
- -u
- {{ .Values.test.users | quote }}
- -r
- {{ .Values.test.spawnRate | quote }}
{{- with .Values.test.runTime }}
- -t
- {{ . | quote }}
{{- end }}
{{- with .Values.test.host }}
- --host
- {{ . | quote }}
{{- end }}
{{- if .Values.tls.secretName }}
- --tls-cert
- /etc/stampede/tls/tls.crt
- --tls-key
- /etc/stampede/tls/tls.key
{{- end }}
{{- range .Values.test.thresholds }}
- --threshold
- {{ . | quote }}
{{- end }}
{{- range .Values.test.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end }}

{{- define "stampede.masterVolumeMounts" -}}
- name: script
  mountPath: /etc/stampede/script
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- if .Values.tls.secretName }}
- name: tls
  mountPath: /etc/stampede/tls
  readOnly: true
{{- end }}
{{- end }}

{{- define "stampede.masterVolumes" -}}
- name: script
  configMap:
    name: {{ include "stampede.scriptConfigMap" . }}
- name: tmp
  emptyDir: {}
{{- if .Values.tls.secretName }}
- name: tls
  secret:
    secretName: {{ .Values.tls.secretName }}
{{- end }}
{{- end }}

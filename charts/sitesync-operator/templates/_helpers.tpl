{{/* The chart name, overridable. */}}
{{- define "sitesync.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The prefix of every resource name: <release>-<chart>, or the release when it contains the chart. */}}
{{- define "sitesync.fullname" -}}
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

{{/* Cluster-scoped objects (ClusterRoles, bindings) are shared by every release: add the namespace. */}}
{{- define "sitesync.clusterName" -}}
{{- printf "%s-%s" .Release.Namespace (include "sitesync.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sitesync.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sitesync.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sitesync.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "sitesync.labels" -}}
helm.sh/chart: {{ include "sitesync.chart" . }}
{{ include "sitesync.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: sitesync
{{- end }}

{{- define "sitesync.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sitesync.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "sitesync.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "sitesync.leaseName" -}}
{{- default (include "sitesync.fullname" .) .Values.leaderElection.leaseName }}
{{- end }}

{{/* The watched namespace, or "" for all namespaces (the operator's WATCH_NAMESPACE). */}}
{{- define "sitesync.watchNamespace" -}}
{{- if eq .Values.watch.scope "Namespace" }}
{{- if .Values.watch.namespaces }}
{{- join "," .Values.watch.namespaces }}
{{- else }}
{{- default .Release.Namespace .Values.watch.namespace }}
{{- end }}
{{- end }}
{{- end }}

{{/*
What the operator does on the apiserver in the namespaces it watches, and nothing more
(test/install/operator-permissions.ts lists the same, with the code that needs each verb):
- sitereplicationgroups: list + watch (informer), patch (finalizer add/remove, JSON patch),
  get (a BucketReplication reads its group); their /status: patch (merge patch).
- bucketreplications: list + watch (informer), patch (finalizer, owned-targets annotation);
  their /status: patch.
- identityproviders: list + watch (informer); their /status: patch.
- secrets: get (site credentials, CA bundles, the replicator Secret, an identity provider's
  client secret or bind password), create and patch (the
  <group>-sitesync-replicator Secret). No delete: what the operator creates carries an owner
  reference, and the garbage collector removes it with its owner.
- configmaps: get, patch + create (server-side apply of <group>-sitesync-state; applying a
  missing object creates it). No delete (owner references, as for Secrets).
- events (core/v1): create, patch (a repeated event bumps its count).
*/}}
{{- define "sitesync.operatorRules" -}}
- apiGroups: ["sitesync.io"]
  resources: ["sitereplicationgroups"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["sitesync.io"]
  resources: ["bucketreplications"]
  verbs: ["list", "watch", "patch"]
- apiGroups: ["sitesync.io"]
  resources: ["identityproviders"]
  verbs: ["list", "watch"]
- apiGroups: ["sitesync.io"]
  resources:
    - sitereplicationgroups/status
    - bucketreplications/status
    - identityproviders/status
  verbs: ["patch"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "create", "patch"]
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "create", "patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}

{{/*
The URL the sites post their change reports to: changeReceiver.url, or the receiver Service's
in-cluster name.
*/}}
{{- define "sitesync.changeReceiverURL" -}}
{{- if .Values.changeReceiver.url -}}
{{- .Values.changeReceiver.url -}}
{{- else -}}
{{- printf "https://%s-changes.%s.svc:%d" (include "sitesync.fullname" .) .Release.Namespace (int .Values.changeReceiver.service.port) -}}
{{- end -}}
{{- end }}

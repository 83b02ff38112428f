#!/usr/bin/env bash
# make demo: the local real stack (etcd + kube-apiserver + three MinIO sites), the CRDs, the
# sample resources, and a SiteReplicationGroup of the three local sites.
set -euo pipefail
cd "$(dirname "$0")/.."
source .stack/env
NS=sitesync-demo

echo "== CRDs"
kubectl apply --server-side --force-conflicts -f crds/ >/dev/null
kubectl wait --for=condition=Established --timeout=60s crd -l '!nothing' >/dev/null 2>&1 || true
kubectl get crd -o custom-columns=NAME:.metadata.name,ESTABLISHED:.status.conditions[?\(@.type==\"Established\"\)].status | grep -E 'NAME|sitesync'

echo "== Samples (namespace sitesync-samples)"
kubectl create namespace sitesync-samples --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl apply -n sitesync-samples -f manifests/samples/

echo "== A group of the three local sites (namespace $NS)"
kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
for s in a b c; do
  up=$(echo "$s" | tr a-z A-Z)
  ak_var="SITE_${up}_ACCESS_KEY"; sk_var="SITE_${up}_SECRET_KEY"
  kubectl create secret generic "site-$s-credentials" -n "$NS" \
    --from-literal=accessKey="${!ak_var}" --from-literal=secretKey="${!sk_var}" \
    --dry-run=client -o yaml | kubectl apply -f - >/dev/null
done
cat <<YAML | kubectl apply -n "$NS" -f -
apiVersion: sitesync.io/v1alpha1
kind: SiteReplicationGroup
metadata:
  name: local
spec:
  primary: site-a
  sites:
    - {name: site-a, endpoint: "$SITE_A_ENDPOINT", credentialsSecret: {name: site-a-credentials}}
    - {name: site-b, endpoint: "$SITE_B_ENDPOINT", credentialsSecret: {name: site-b-credentials}}
    - {name: site-c, endpoint: "$SITE_C_ENDPOINT", credentialsSecret: {name: site-c-credentials}}
YAML
kubectl get srg,brep,idp -A

#!/usr/bin/env bash
# make demo: the operator on the local real stack (etcd + kube-apiserver + three MinIO sites).
# Seeds site a, declares a SiteReplicationGroup of the three sites, shows it converge, then
# proves replication: an object written to one site is read from the others.
set -euo pipefail
cd "$(dirname "$0")/.."
source .stack/env
NS=sitesync-demo
LOG=.stack/demo-operator.log

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "CRDs"
kubectl apply --server-side --force-conflicts -f crds/ >/dev/null
kubectl wait --for=condition=Established --timeout=60s \
  crd/sitereplicationgroups.sitesync.io crd/bucketreplications.sitesync.io crd/identityproviders.sitesync.io
step "The commented samples are accepted by the apiserver (namespace sitesync-samples)"
kubectl create namespace sitesync-samples --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl apply -n sitesync-samples -f manifests/samples/

step "Seeding site a: buckets with configs, a user, a group, objects"
mc mb --ignore-existing sitea/photos sitea/logs >/dev/null
mc mb --ignore-existing --with-lock sitea/records >/dev/null
mc version enable sitea/photos >/dev/null
mc tag set sitea/photos "team=media&tier=gold" >/dev/null
mc encrypt set sse-s3 sitea/logs >/dev/null
mc anonymous set download sitea/photos/public >/dev/null
mc admin user add sitea demo-user demo-user-secret >/dev/null
mc admin policy attach sitea readwrite --user demo-user >/dev/null 2>&1 || true
mc admin group add sitea demo-team demo-user >/dev/null
for i in $(seq 1 20); do echo "photo $i" | mc pipe -q "sitea/photos/img-$i.txt" >/dev/null; done
mc ls sitea

step "A SiteReplicationGroup of the three local sites (namespace $NS)"
kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
for s in a b c; do
  up=$(echo "$s" | tr a-z A-Z)
  ak_var="SITE_${up}_ACCESS_KEY"; sk_var="SITE_${up}_SECRET_KEY"
  kubectl create secret generic "site-$s-credentials" -n "$NS" \
    --from-literal=accessKey="${!ak_var}" --from-literal=secretKey="${!sk_var}" \
    --dry-run=client -o yaml | kubectl apply -f - >/dev/null
done
# The sites serve https with a certificate of the stack's own CA: the group trusts it through
# tls.caSecret (the operator refuses plain http unless ALLOW_INSECURE_SITES is set).
kubectl create secret generic sites-ca -n "$NS" --from-file=ca.crt="$SITES_CA_FILE" \
  --dry-run=client -o yaml | kubectl apply -f - >/dev/null
cat <<YAML | kubectl apply -n "$NS" -f -
apiVersion: sitesync.io/v1alpha1
kind: SiteReplicationGroup
metadata:
  name: local
spec:
  primary: site-a
  syncInterval: 5s
  sites:
    - {name: site-a, endpoint: "$SITE_A_ENDPOINT", credentialsSecret: {name: site-a-credentials}, tls: {caSecret: {name: sites-ca}}}
    - {name: site-b, endpoint: "$SITE_B_ENDPOINT", credentialsSecret: {name: site-b-credentials}, tls: {caSecret: {name: sites-ca}}}
    - {name: site-c, endpoint: "$SITE_C_ENDPOINT", credentialsSecret: {name: site-c-credentials}, tls: {caSecret: {name: sites-ca}}}
YAML

step "Starting the operator (logs: $LOG)"
WATCH_NAMESPACE="$NS" METRICS_PORT=0 node --enable-source-maps dist/main.js >"$LOG" 2>&1 &
OP=$!
trap 'kill $OP 2>/dev/null || true' EXIT

step "Converging"
# Ready for the current generation, and (checked independently) every site lists the same buckets.
buckets() { mc ls "$1" | awk '{print $NF}' | sort | tr '\n' ' '; }
ready=""
for _ in $(seq 1 120); do
  kubectl get srg local -n "$NS" --no-headers 2>/dev/null | sed 's/^/  /'
  ready=$(kubectl get srg local -n "$NS" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}/{.status.observedGeneration}/{.metadata.generation}')
  a=$(buckets sitea)
  if [ "${ready%%/*}" = "True" ] && [ "$(echo "$ready" | cut -d/ -f2)" = "$(echo "$ready" | cut -d/ -f3)" ] \
    && [ "$a" = "$(buckets siteb)" ] && [ "$a" = "$(buckets sitec)" ]; then
    ready=True
    break
  fi
  sleep 2
done
kubectl get srg -n "$NS" -o wide
[ "$ready" = "True" ] || { echo "The group did not become Ready; see $LOG"; exit 1; }
kubectl get srg local -n "$NS" \
  -o jsonpath='{range .status.sites[*]}  {.name}: buckets in sync {.buckets.inSync}, IAM in sync {.iam.inSync}, root {.merkleRoot}{"\n"}{end}'

step "Every site now holds the same buckets and users"
for s in a b c; do echo "-- site$s"; mc ls "site$s"; mc admin user list "site$s" | grep -v sitesync-replicator; done

step "Replication proof: an object written to site b is read from sites a and c"
stamp="written on site b at $(date -u +%H:%M:%S)"
echo "$stamp" | mc pipe -q siteb/photos/proof.txt >/dev/null
for s in a c; do
  for _ in $(seq 1 30); do
    got=$(mc cat "site$s/photos/proof.txt" 2>/dev/null || true)
    [ "$got" = "$stamp" ] && break
    sleep 1
  done
  echo "site$s/photos/proof.txt: $got"
  [ "$got" = "$stamp" ] || { echo "not replicated to site$s"; exit 1; }
done
step "Done: the group is Ready and data flows between the sites"

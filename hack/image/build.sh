#!/usr/bin/env bash
# `make image`: the operator image as an OCI image, named and tagged as the chart deploys it
# (image.repository of charts/sitesync-operator/values.yaml, the chart's appVersion):
#
#   build/image/sitesync-operator-0.1.0/            OCI image layout (skopeo copy oci:DIR:0.1.0 ...)
#   build/image/sitesync-operator-0.1.0.oci.tar     the same as an OCI archive (podman load -i ...)
#   build/image/sitesync-operator-0.1.0.spdx.json   SPDX 2.3 SBOM: every Debian and npm package in it
#   build/image/sitesync-operator-0.1.0.packages.txt  the same as a list
#   build/image/image.json                          digests and sizes
#
# Built from pinned inputs only (hack/image/inputs.lock, package-lock.json, the sources), so the
# same sources give the same image, byte for byte. The result is cached in
# $SITESYNC_CACHE/image/ by the digest of those inputs: a second build of the same sources
# takes a second. Needs `make deps` (tsc) and a Debian 12 machine (apt-get, dpkg-deb); as root,
# missing package lists are fetched. Prints the output folder last.
set -euo pipefail
export LC_ALL=C
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
CACHE="${SITESYNC_CACHE:-$HOME/.cache/sitesync}"
OUT="${IMAGE_OUT:-$repo/build/image}"
EPOCH="${SOURCE_DATE_EPOCH:-0}"

log() { printf '[image] %s\n' "$*" >&2; }

chart=charts/sitesync-operator
name=$(awk '/^image:/ { inside = 1; next } inside && /^[^ #]/ { inside = 0 } inside && $1 == "repository:" { print $2; exit }' "$chart/values.yaml")
tag=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' "$chart/Chart.yaml")
[ -n "$name" ] && [ -n "$tag" ] || {
  echo "image: cannot read image.repository or appVersion from $chart" >&2
  exit 1
}

# The digest of every input: what is copied into the image and what decides how.
inputs() {
  {
    printf '%s\n' package.json package-lock.json tsconfig.json tsconfig.build.json Dockerfile \
      hack/tools.sh "$chart/Chart.yaml" "$chart/values.yaml"
    find hack/image -type f
    find src -type f ! -name '*.test.ts'
  } | sort | xargs sha256sum
  echo "name=$name tag=$tag epoch=$EPOCH arch=$(dpkg --print-architecture)"
  tar --version | head -1
  gzip --version | head -1
}
key=$(inputs | sha256sum | cut -c1-16)
cached="$CACHE/image/$name-$tag-$key"

if [ -f "$cached/image.json" ]; then
  log "$name:$tag from the cache ($cached)"
else
  log "building $name:$tag (inputs $key)"
  start=$(date +%s)
  mkdir -p "$CACHE/image"
  work=$(mktemp -d "$CACHE/image/.build.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  hack/image/rootfs.sh "$work/rootfs"
  hack/image/app.sh "$repo" "$work/app-layer/app"
  node hack/image/oci.mjs --rootfs "$work/rootfs" --app "$work/app-layer" --out "$work/out" \
    --name "$name" --tag "$tag" --dockerfile Dockerfile --lock hack/image/inputs.lock \
    --epoch "$EPOCH" >/dev/null
  # Another worktree may have built the same inputs meanwhile: same bytes, keep either.
  mv -T "$work/out" "$cached" 2>/dev/null || [ -f "$cached/image.json" ]
  log "built in $(($(date +%s) - start)) s"
  # Keep the three newest builds.
  find "$CACHE/image" -mindepth 1 -maxdepth 1 -type d ! -name '.*' -printf '%T@ %p\n' |
    sort -rn | tail -n +4 | cut -d' ' -f2- | xargs -r rm -rf
fi

# The outputs, as hard links to the cache when it is on the same filesystem.
rm -rf "$OUT"
mkdir -p "$OUT"
base="$name-$tag"
for f in "$base.oci.tar" "$base.spdx.json" "$base.packages.txt" image.json; do
  ln "$cached/$f" "$OUT/$f" 2>/dev/null || cp "$cached/$f" "$OUT/$f"
done
cp -al "$cached/oci" "$OUT/$base" 2>/dev/null || cp -a "$cached/oci" "$OUT/$base"
log "$(node -e 'const s = require(process.argv[1]);
  console.log(`${s.name}:${s.tag} ${s.manifestDigest}, ${(s.compressedBytes / 1e6).toFixed(1)} MB compressed, ${(s.unpackedBytes / 1e6).toFixed(1)} MB unpacked, ${s.packages} packages`)' "$OUT/image.json")"
echo "$OUT"

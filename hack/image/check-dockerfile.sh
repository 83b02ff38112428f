#!/usr/bin/env bash
# Builds the Dockerfile as written, with buildah, and compares the result with the image
# `make image` built: every path, type, mode, owner, size, content digest and link target, and
# the config (user, working directory, environment, ports, entrypoint, labels). Prints
# "identical" or the differences (exit 1).
#
# No registry is reachable here, so the pinned base node:24-bookworm-slim cannot be pulled: the
# build stages run on a stand-in passed as BUILD_IMAGE, a Debian 12 minbase from mmdebstrap
# with the Node and npm of hack/tools.sh where the node image keeps them (/usr/local). The
# stand-in is kept in podman's storage, tagged by what it holds. Needs root, buildah, podman,
# runc, mmdebstrap; used by test/integration/image.int.test.ts.
#
#   hack/image/check-dockerfile.sh build/image/sitesync-operator-0.1.0.oci.tar
set -euo pipefail
export LC_ALL=C
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
archive=$(realpath "${1:?usage: hack/image/check-dockerfile.sh OCI_ARCHIVE}")
cd "$repo"
CACHE="${SITESYNC_CACHE:-$HOME/.cache/sitesync}"
node_version=$(sed -n 's/^NODE_VERSION=//p' hack/tools.sh)
npm_version=$(npm --version)
# The sandbox's limits are below podman's defaults (see test/install/image.ts).
nofile=$(ulimit -Hn)
[ "$nofile" = unlimited ] && nofile=1048576
limits=(--ulimit "nofile=$nofile:$nofile" --ulimit nproc=4096:4096)

work=$(mktemp -d)
checked="localhost/sitesync-dockerfile-check:$$"
trap 'rm -rf "$work"; podman rmi -f "$checked" >/dev/null 2>&1 || true' EXIT

standin="localhost/sitesync-build-standin:node-$node_version-npm-$npm_version"
if ! podman image exists "$standin"; then
  echo "[check] the stand-in $standin (Debian 12 minbase, a minute)" >&2
  mmdebstrap --quiet --variant=minbase --include=ca-certificates bookworm "$work/base.tar"
  base=$(podman import --quiet "$work/base.tar")
  layer="$work/layer"
  mkdir -p "$layer/usr/local/bin" "$layer/usr/local/lib/node_modules" "$layer/etc/ssl/certs"
  cp "$CACHE/node-$node_version/bin/node" "$layer/usr/local/bin/node"
  (cd "$work" && npm pack --silent "npm@$npm_version" >/dev/null && tar xzf npm-*.tgz)
  mv "$work/package" "$layer/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$layer/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$layer/usr/local/bin/npx"
  # This machine's CAs: its egress may pass a TLS-inspecting proxy that npm must trust.
  cp /etc/ssl/certs/ca-certificates.crt "$layer/etc/ssl/certs/host-ca-certificates.crt"
  ctr=$(buildah from --quiet "$base")
  buildah copy --quiet "$ctr" "$layer/" / >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/host-ca-certificates.crt "$ctr"
  buildah commit --quiet --rm "$ctr" "$standin" >/dev/null
  podman rmi "$base" >/dev/null
fi

echo "[check] buildah build of the Dockerfile on $standin" >&2
buildah build --quiet --isolation chroot "${limits[@]}" --build-arg "BUILD_IMAGE=$standin" \
  -t "$checked" -f Dockerfile . >"$work/build.log" 2>&1 || {
  cat "$work/build.log" >&2
  exit 1
}
podman load --quiet -i "$archive" >/dev/null
# By its ID (the config digest), not by name: another checkout may load another build.
ours=$(node -e '
  const { execFileSync } = require("node:child_process");
  const blob = (path) => JSON.parse(execFileSync("tar", ["-xOf", process.argv[1], path]));
  const manifest = blob("blobs/sha256/" + blob("index.json").manifests[0].digest.slice(7));
  console.log(manifest.config.digest.slice(7));' "$archive")

# Every file of an image, listed by the image's own Node.
cat >"$work/walk.js" <<'JS'
const fs = require('node:fs'), path = require('node:path'), crypto = require('node:crypto');
// Mount points the runtime adds, not the image's.
const skip = new Set(['/proc', '/sys', '/dev', '/run', '/walk.js', '/etc/hosts', '/etc/hostname', '/etc/resolv.conf']);
const walk = (dir) => {
  for (const name of fs.readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (skip.has(p)) continue;
    const st = fs.lstatSync(p);
    const meta = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
    if (st.isSymbolicLink()) console.log(`l ${p} -> ${fs.readlinkSync(p)}`);
    else if (st.isDirectory()) { console.log(`d ${p} ${meta}`); walk(p); }
    else console.log(`f ${p} ${meta} ${st.size} ${crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`);
  }
};
walk('/');
JS
list() {
  podman --runtime runc run --rm --network none "${limits[@]}" -v "$work/walk.js:/walk.js:ro" \
    --entrypoint /nodejs/bin/node "$1" /walk.js
}
config() {
  podman image inspect "$1" --format json | node -e '
    const [i] = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
    const { User, WorkingDir, Env, ExposedPorts, Entrypoint, Cmd, Labels } = i.Config;
    delete Labels?.["io.buildah.version"];
    console.log(JSON.stringify({ User, WorkingDir, Env, ExposedPorts, Entrypoint, Cmd, Labels }, null, 1));'
}
list "$checked" >"$work/dockerfile.files"
list "$ours" >"$work/make-image.files"
config "$checked" >"$work/dockerfile.config"
config "$ours" >"$work/make-image.config"
if diff -u "$work/dockerfile.files" "$work/make-image.files" && diff -u "$work/dockerfile.config" "$work/make-image.config"; then
  echo "identical: $(wc -l <"$work/make-image.files") paths"
else
  exit 1
fi

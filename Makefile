# irsa-policy: build, test and run the Kubewarden policy.
#
#   make run    build everything and evaluate a bundled example Pod
#   make test   fmt, clippy, unit + conformance tests, e2e.bats

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

policy.wasm: $(POLICY_SOURCES)
	$(CARGO) build $(CARGO_FLAGS) --target wasm32-wasip1 --release -p irsa-policy
	cp $(TARGET_DIR)/wasm32-wasip1/release/irsa_policy.wasm policy.wasm

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

.PHONY: test
test: fmt lint unit-tests check-artifacthub e2e-tests

# The newcomer's first command: a Pod whose ServiceAccount carries a role,
# with a replay session standing in for the cluster. The patch is decoded.
.PHONY: run
run: annotated-policy.wasm
	$(KWCTL) run --allow-context-aware \
	  --request-path test_data/pod_creation.json \
	  --settings-path test_data/settings/region.yml \
	  --replay-host-capabilities-interactions test_data/sessions/sa-with-role.yml \
	  annotated-policy.wasm | jq '.patch |= (if . then (@base64d | fromjson) else . end)'

.PHONY: clean
clean:
	$(CARGO) clean
	rm -f policy.wasm annotated-policy.wasm

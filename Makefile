# ray101 — run `make help` for the targets.
# Versions live in versions.env; this file only reads them.
include versions.env

PYTHON ?= $(shell command -v python$(PYTHON_VERSION) 2>/dev/null || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
# pip reads the constraints file so every install resolves to the same versions.
PIP    := $(BIN)/pip install --constraint constraints.txt
STAMP  := $(VENV)/.installed
# checkov (the manifests' security scanner) lives in a virtualenv of its own:
# its pins (packaging, ...) conflict with Ray's.
CHECKOV_VENV  ?= .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
PYTEST_ARGS ?=
# pytest-xdist workers for make test (0: one process); each has its own Ray.
TEST_WORKERS ?= 2

.DEFAULT_GOAL := help
.PHONY: help setup demo data test lint format manifests e2e bench constraints constraints-checkov dashboards clean

help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(PIP) --quiet --editable '.[dev]'
	@touch $@

$(CHECKOV_STAMP): versions.env constraints-checkov.txt
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet --constraint constraints-checkov.txt 'checkov==$(CHECKOV_VERSION)'
	@touch $@

setup: $(STAMP) $(CHECKOV_STAMP) ## Create .venv (ray101 and its pinned dependencies) and .venv-checkov

demo: $(STAMP) ## Run every workload on an embedded local Ray and print one summary table
	$(BIN)/ray101 run all

data: $(STAMP) ## Load sample_mflix-shaped data into MONGODB_URI (idempotent)
	$(BIN)/ray101 data load

test: $(STAMP) $(CHECKOV_STAMP) ## Run the test suite (real Ray; MongoDB from MONGODB_URI or the nx-27017 stand-in)
	PYTHONFAULTHANDLER=1 $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: $(STAMP) $(CHECKOV_STAMP) ## ruff, the docs' commands against the code (tools.docs_check), the generated files current (tools.generate --check), plus helm lint, schemas, checkov and the project's checks of every rendered manifest
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m tools.docs_check
	$(BIN)/python -m tools.generate --check
	$(BIN)/python -m tools.manifests

manifests: $(STAMP) ## Regenerate the chart's generated values and the kustomize tree k8s/ (base, overlays, monitoring component) from jobs/ and helm/ray101
	$(BIN)/python -m tools.generate

format: $(STAMP) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP) ## Every workload's benchmark (under 15 min on 2 cores), then docs/benchmarks.md from their JSON
	@status=0; $(BIN)/python scripts/bench/run.py --out results/bench || status=$$?; \
	$(BIN)/python scripts/bench/report.py --results results/bench --page docs/benchmarks.md && exit $$status

e2e: ## kind end to end: dockerd, what cannot be pulled built here, scripts/e2e-kind (the failure paths included), the rest of pytest -m e2e tests/e2e (docs/kind.md); E2E_ARGS=--delete-cluster deletes the cluster at the end
	@$(MAKE) --no-print-directory setup
	PYTEST_ARGS="$(PYTEST_ARGS)" scripts/e2e $(E2E_ARGS)

constraints: ## Re-pin constraints.txt from the current .venv
	{ head -n 2 constraints.txt; $(BIN)/pip freeze --exclude-editable | grep -v '^ray101' \
	  | sed -E 's/^(torch==[0-9.]+)\+cpu$$/\1/'; } > constraints.txt.new && mv constraints.txt.new constraints.txt

dashboards: $(STAMP) ## Regenerate helm/ray101/dashboards/ from the Grafana dashboards a Ray head writes
	RAY101_PYTHON=$(abspath $(BIN))/python scripts/dashboards

constraints-checkov: ## Re-pin constraints-checkov.txt from the current .venv-checkov
	{ head -n 2 constraints-checkov.txt; $(CHECKOV_VENV)/bin/pip freeze | grep -v '^checkov=='; } \
	  > constraints-checkov.txt.new && mv constraints-checkov.txt.new constraints-checkov.txt

clean: ## Remove .venv, .venv-checkov and the tool caches (results/, your benchmark output, is kept)
	rm -rf $(VENV) $(CHECKOV_VENV) .pytest_cache .ruff_cache

.PHONY: offline-images
offline-images: ## Build here what the kind path cannot pull (tools, Kubernetes, images): scripts/offline-images, docs/kind.md
	scripts/offline-images

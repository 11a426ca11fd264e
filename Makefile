.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

# The Lambda runtime is python3.12: the app is built and tested with CPython 3.12.
PYTHON312 ?= $(shell scripts/find-python.sh 3.12 2>/dev/null)
VENV := .venv
PY := $(VENV)/bin/python
ENV ?= dev
ZIP := dist/lambda.zip
TF := scripts/terraform.sh
# The unit run records the app's AWS calls here and the e2e IAM test reads them: a folder of make's own, so an
# ad-hoc pytest run (which records under .local/aws-calls/) never replaces what `make test` recorded.
export GATEWAY_TEST_AWS_CALLS_DIR ?= $(CURDIR)/.local/aws-calls/make

# `make help`: the targets (colour on a terminal only), then the variables, from the `#: NAME ...` lines below.
#: ENV                 dev|prod for plan, deploy; local|dev|prod for admin, reconcile (default: dev, local)
#: EMAIL, NAME         make admin: the admin's address and full name
#: LOCAL_AWS_PORT      the local AWS target's port for make local, local-down (4566)
#: LOCAL_AWS_DIR       its state, log and Terraform state (.local/aws); make admin, logs, serve find it there
#: E2E_LOCAL_AWS_PORT  the port of the stack make e2e starts for itself (4599)
#: AUTO_APPROVE=1      make deploy: apply without asking
#: PORT, RELOAD=1      make serve: the port (8000), reload on code changes
#: SINCE, FOLLOW=0     make logs: minutes of past lines (10); print them and exit instead of following
#: DURATION            make bench-http: seconds per concurrency level (10)
#: MODULES             make mutation: the rule modules to mutate (all)
#: MUTATION_MINUTES    make mutation: the bound of the whole run, in minutes (30)
#: UNIT_WORKERS        make unit, boundaries: processes the unit tests run on, a test file to each (2; 0: one)
#: RUNS                make boundaries: full unit runs, the clock at each boundary in turn (20)
#: PYTHON312           the CPython 3.12 to build .venv with (found on PATH or under pyenv)
.PHONY: help
help: ## list the targets and the variables that matter
	@# `make help | head` closes the pipe early: that is not an error.
	@trap '' PIPE; { \
		colour=; plain=; if [ -t 1 ]; then colour=$$(printf '\033[36m'); plain=$$(printf '\033[0m'); fi; \
		grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sort | \
		awk -v c="$$colour" -v p="$$plain" 'BEGIN {FS = ":.*## "}; {printf "  %s%-12s%s %s\n", c, $$1, p, $$2}'; \
		echo; echo "Variables (make <target> NAME=value, or in the environment):"; \
		grep -hE '^#: ' $(MAKEFILE_LIST) | sed 's/^#: /  /'; \
	} 2>/dev/null || true

$(VENV)/.installed: pyproject.toml lambda_src/requirements.txt
	@test -n "$(PYTHON312)" || scripts/find-python.sh 3.12
	$(PYTHON312) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r lambda_src/requirements.txt -e '.[dev]'
	touch $@

.PHONY: venv
venv: $(VENV)/.installed ## create the Python 3.12 dev environment (.venv)

.PHONY: lint
lint: venv ## ruff (lint + format check) and terraform fmt -check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(TF) fmt -check -recursive terraform

.PHONY: validate
validate: ## terraform init + validate of every module and environment, offline (5.x where TF_AWS5_MIRROR has it)
	scripts/terraform-check.sh

# The unit tests run on both cores (pytest-xdist), each test file on one process in its order: a file's
# module fixtures are built once, and tests that follow one another there (test_stack_isolation.py) do.
UNIT_WORKERS ?= 2
UNIT_XDIST = $(if $(filter-out 0,$(UNIT_WORKERS)),-n $(UNIT_WORKERS) --dist loadfile)
# pytest keeps the test modules it rewrites (about 2 s of each process's start) only where Python may write
# bytecode: a PYTHONDONTWRITEBYTECODE exported in the shell is dropped for the unit runs.
UNIT_ENV = PYTHONDONTWRITEBYTECODE=

.PHONY: unit
unit: venv ## unit tests (moto in-process, FastAPI TestClient) on UNIT_WORKERS processes
	$(UNIT_ENV) $(PY) -m pytest tests/unit -q $(UNIT_XDIST)

.PHONY: boundaries
boundaries: venv ## the unit suite RUNS times (20), clock at the last second of a minute, day, month, year in turn
	$(UNIT_ENV) UNIT_WORKERS="$(UNIT_WORKERS)" $(PY) scripts/boundaries.py $(RUNS)

.PHONY: mutation
mutation: venv ## mutation testing (mutmut) of the rule modules, bounded to 30 min: make mutation [MODULES="limits pricing"]
	$(PY) scripts/mutation.py $(MODULES)

.PHONY: package
package: venv ## build dist/lambda.zip reproducibly and print its size
	$(PY) scripts/package_lambda.py

.PHONY: local
local: package ## start the local AWS target, apply terraform/envs/local, print how to call the API
	scripts/local.sh up

.PHONY: logs
logs: venv ## follow the local function's log: make logs [SINCE=minutes] [FOLLOW=0] (needs make local; Ctrl-C ends)
	$(PY) -m scripts.logs --since "$(or $(SINCE),10)" $(if $(filter 0,$(FOLLOW)),--no-follow)

.PHONY: local-down
local-down: ## stop the local AWS target
	scripts/local.sh down

.PHONY: e2e
e2e: package ## end-to-end tests through the local API Gateway (starts and stops its own local target)
	$(PY) -m pytest tests/e2e -q

.PHONY: test
test: lint validate unit e2e ## everything CI runs: lint, validate, unit and end-to-end tests

.PHONY: plan
plan: package ## terraform plan of terraform/envs/$(ENV) (ENV=dev|prod); without backend.hcl, an offline preview
	scripts/deploy.sh plan $(ENV)

.PHONY: deploy
deploy: package ## deploy to AWS: terraform apply in terraform/envs/$(ENV) (ENV=dev|prod; AUTO_APPROVE=1: no prompt)
	AUTO_APPROVE="$(AUTO_APPROVE)" scripts/deploy.sh apply $(ENV)

.PHONY: admin
admin: venv ## first admin, signed in at once with an API key: make admin EMAIL=you@example.com [NAME=...] ENV=local|dev|prod
	@test -n "$(EMAIL)" || { echo "usage: make admin EMAIL=you@example.com [NAME='Ada Lovelace'] [ENV=local|dev|prod]"; exit 2; }
	TF="$(TF)" $(PY) -m scripts.make_admin --email "$(EMAIL)" --name "$(NAME)" \
		--env "$(or $(ADMIN_ENV),$(if $(filter command line,$(origin ENV)),$(ENV),local))"

.PHONY: reconcile
reconcile: venv ## run the metering reconciler once: make reconcile [ENV=local|dev|prod] (it also runs every 5 minutes)
	$(PY) -m scripts.reconcile --env "$(if $(filter command line,$(origin ENV)),$(ENV),local)"

.PHONY: serve
serve: venv ## the app under uvicorn on 127.0.0.1:8000 with the local Lambda's settings (PORT=, RELOAD=1; needs make local)
	PORT="$(PORT)" RELOAD="$(RELOAD)" $(PY) -m scripts.serve

.PHONY: bench
bench: package ## benchmarks (about 6 minutes; not part of make test): each target ok/MISSED, a summary, exit 1 on a miss
	$(PY) scripts/bench_all.py

.PHONY: bench-http
bench-http: venv ## HTTP load (wrk) on make serve: req/s and app CPU ms per chat completion at 1, 8, 32 (needs make local)
	DURATION="$(DURATION)" $(PY) -m scripts.bench_http

.PHONY: clean
clean: ## remove build output (keeps .venv and .local toolchains)
	rm -rf dist .pytest_cache .ruff_cache

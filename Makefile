# The commands a developer needs. Everything runs inside the uv workspace (.venv).
UV ?= uv
PYTEST_ARGS ?=

.PHONY: help install run test check lint typecheck protos bench bench-quick clean

help:
	@echo "make run      - the whole stack on this machine (Ctrl-C stops it)"
	@echo "make test     - install what is needed and run every test"
	@echo "make check    - ruff + mypy"
	@echo "make protos   - regenerate the gRPC code from protos/"
	@echo "make bench    - benchmarks; writes docs/benchmarks.md"

install:
	@command -v $(UV) >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --all-packages --frozen

run: install
	@bash scripts/install_system_deps.sh
	$(UV) run python -m devstack

test: install
	@bash scripts/install_system_deps.sh --with-browser
	$(UV) run pytest $(PYTEST_ARGS)

check: install
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy

lint: check

protos: install
	$(UV) run bash scripts/gen_protos.sh

bench: install
	@bash scripts/install_system_deps.sh
	$(UV) run python -m bench

clean:
	rm -rf .venv .pytest_cache .mypy_cache .ruff_cache test-artifacts

# sisra — the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
PY := .venv/bin/python

.PHONY: env demo serve test test-sqlite test-postgres lint typecheck check bench clean package

env: .venv/.synced

.venv/.synced: pyproject.toml uv.lock
	@scripts/ensure-uv
	$(UV) sync --frozen
	@touch $@

demo: env  # another port: make demo PORT=8101
	$(PY) -m sisra.cli demo --serve $(if $(PORT),--port $(PORT))

serve: env
	$(PY) -m sisra.cli serve

test: env
	scripts/test

test-sqlite: env
	.venv/bin/pytest -q

test-postgres: env
	SISRA_TEST_DATABASE_URL=$${SISRA_TEST_PG_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/sisra_test} .venv/bin/pytest -q

lint: env
	.venv/bin/ruff check src tests bench
	.venv/bin/ruff format --check src tests bench

typecheck: env
	.venv/bin/mypy

check: lint typecheck

bench: env
	$(PY) bench/flow.py

clean:
	rm -rf .venv var build dist .pytest_cache .mypy_cache .ruff_cache

# MonSisra for Linux: dist/monsisra_<version>_amd64.deb (docs/packaging.md)
package: env
	$(PY) packaging/linux/build_deb.py

# sisra — the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
PY := .venv/bin/python

.PHONY: env demo psc-provider serve test test-sqlite test-postgres multinode region lint typecheck check bench clean package package-service

env: .venv/.synced

.venv/.synced: pyproject.toml uv.lock
	@scripts/ensure-uv
	$(UV) sync --frozen --all-extras
	@touch $@

demo: env  # another port: make demo PORT=8101
	$(PY) -m sisra.cli demo --serve $(if $(PORT),--port $(PORT))

# Pro Santé Connect stand-in for the demo (a real OpenID Connect provider, Node.js): prints
# the SISRA_PSC_* settings to give `make demo`
psc-provider: env
	$(PY) -m sisra.devtools.oidc_provider $(or $(PSC_PORT),9090)

serve: env
	$(PY) -m sisra.cli serve

test: env
	scripts/test

# one pass, on its workers as `make test` runs it (scripts/test)
XDIST := -n $${SISRA_TEST_WORKERS:-2} --dist loadgroup

test-sqlite: env
	.venv/bin/pytest -q $(XDIST)

test-postgres: env  # the tests that reach the database only (docs/decisions.md 177)
	SISRA_TEST_DATABASE_URL=$${SISRA_TEST_PG_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/sisra_test} .venv/bin/pytest -q $(XDIST) -m database

# Two platform nodes (2 workers each) behind HAProxy, one PostgreSQL, one S3 store (SeaweedFS):
# the end-to-end test (a node is killed mid-run) and the cross-worker events tests.
multinode: env
	@command -v haproxy >/dev/null || { echo "HAProxy manque (paquet Debian haproxy)."; exit 1; }
	SISRA_TEST_DATABASE_URL=$${SISRA_TEST_PG_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/sisra_test_multinode} \
		.venv/bin/pytest -q tests/platform/test_multinode.py tests/platform/test_events_multiworker.py

# The same region, left running to explore by hand (Ctrl-C stops everything).
region: env
	SISRA_DATABASE_URL=$${SISRA_REGION_DB_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/sisra_region} \
		$(PY) -m sisra.devtools.multinode

lint: env
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports

typecheck: env
	.venv/bin/mypy

check: lint typecheck

bench: env
	$(PY) bench/flow.py

clean:
	rm -rf .venv var build dist .pytest_cache .mypy_cache .ruff_cache

# MonSisra for Linux: dist/monsisra_<version>_amd64.deb (docs/packaging.md); for a region:
# make package SERVER_URL=https://sisra.example.fr CONTACT=support@example.fr REGION_NAME="…"
package: env
	$(PY) packaging/linux/build_deb.py \
		--server-url "$(SERVER_URL)" --contact "$(CONTACT)" --region-name "$(REGION_NAME)"

# MonSisra's headless engine for a practice server: dist/monsisra-service_<version>_amd64.deb
# (`sisra client …`, the systemd unit monsisra.service, no Qt; docs/monsisra-service.md)
package-service: env
	$(PY) packaging/linux/build_service_deb.py

# Two commands on a fresh machine: `make run` and `make test`. Everything else is set up here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The whole dependency tree, pinned with hashes (make lock writes it from requirements*.txt).
LOCK := requirements-dev.lock
PIP_VERSION := 26.3
PIP_TOOLS_VERSION := 7.7.0
STAMP := $(VENV)/.installed-$(shell cat $(LOCK) | sha1sum | cut -c1-12)
export FLASK_APP := app

.PHONY: setup run test bench lint fmt migrate translations messages clean lock check-setup check-run check-test

$(STAMP): $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q pip==$(PIP_VERSION)
	$(BIN)/python -m pip install -q --require-hashes --no-deps -r $(LOCK)
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# Browser libraries (the QR decoder) come from npm with the lockfile, served by the app itself.
NPM_STAMP := node_modules/.package-lock.json
$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

# What the machine must have, checked before anything is installed: one line per missing piece
# with the Debian and macOS packages; a required one stops here (scripts/prerequisites.py).
check-setup check-run check-test:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "missing: $(PYTHON) (Python 3.11+ with venv). Install it: Debian: sudo apt-get install python3 python3-venv · macOS: brew install python@3.12" >&2; exit 1; }
	@$(PYTHON) scripts/prerequisites.py $(patsubst check-%,%,$@)

setup: check-setup $(STAMP) $(NPM_STAMP) translations

translations: $(STAMP)
	$(BIN)/pybabel compile --statistics -d app/translations -f

run: check-run setup
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	$(BIN)/flask serve --host 127.0.0.1 --port 5000

test: check-test setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Figures beside a bare-Flask or raw-SQL baseline from the same run (bench/); they report, never fail.
bench: setup
	$(BIN)/python -m bench $(BENCH_ARGS)

# Style, and which way imports may go (the import-linter contracts in pyproject.toml).
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

fmt: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrate: setup
	$(BIN)/flask db upgrade

# Refresh the message catalogues after adding strings: extract, then merge into zh and en.
messages: setup
	$(BIN)/pybabel extract -F babel.cfg -k _l -w 120 -o app/translations/messages.pot .
	$(BIN)/pybabel update -w 120 -i app/translations/messages.pot -d app/translations

clean:
	rm -rf $(VENV) .venv-lock .pytest_cache node_modules

# Re-pin the whole tree after changing requirements.txt or requirements-dev.txt: every package
# (transitive ones too) at one version with the hashes of its files, runtime and development.
# pip-tools runs in a venv of its own so it never lands in the app's.
lock:
	test -x .venv-lock/bin/python || $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install -q pip==$(PIP_VERSION) pip-tools==$(PIP_TOOLS_VERSION)
	.venv-lock/bin/pip-compile -q --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links \
		--no-header -o requirements.lock requirements.txt
	.venv-lock/bin/pip-compile -q --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links \
		--no-header -o requirements-dev.lock requirements-dev.txt

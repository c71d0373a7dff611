# The front door: `make demo` and `make test` work on a fresh clone with
# nothing installed by hand (they create .venv themselves).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.hotmod-installed
PYTEST_ARGS ?=

.PHONY: help venv test lint unit docs vscode vsix e2e-setup e2e-vscode demo demo-live bench clean

help:
	@echo "make demo   set up .venv and check the example workspace"
	@echo "make demo-live  a running web app takes verified edits (live reload, a few seconds)"
	@echo "make test   set up .venv and run lint, type checks and the whole test suite"
	@echo "make lint   ruff and mypy only"
	@echo "make bench  benchmarks (prints ratios measured side by side)"
	@echo "make vsix   build, test and package the VS Code extension (editors/vscode/hotmod-*.vsix)"
	@echo "make docs   build the documentation site into site/ (mkdocs --strict)"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "hotmod needs Python 3.11+ (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench]'
	@touch $@

venv: $(STAMP)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	@mkdir -p .typecheck/hotmod && ln -sfn ../../core .typecheck/hotmod/core && ln -sfn ../../core/live .typecheck/hotmod/live && ln -sfn ../../server .typecheck/hotmod/server
	$(PY) -m mypy

# pytest exits 5 when it collected nothing: for `make test` that is a broken
# selection, never a pass.
unit: $(STAMP)
	@set +e; $(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests (exit 5): failing"; exit 1; fi; \
	exit $$rc

# The VS Code extension: npm ci (npm registry), compile, lint, unit tests, the
# bundled server (hotmod and its dependencies from PyPI, bundle.sh) and
# `vsce package --target` for this machine.
vscode vsix: $(STAMP)
	PYTHON=$(abspath $(PY)) editors/vscode/ci.sh

# A real VS Code (code-server 4.100.3 from npm) driven by headless Chromium
# against the packaged extension and the server it carries, with no hotmod
# installed anywhere it can see. Cached under ~/.cache/hotmod-e2e; installs
# Debian's chromium, libkrb5-dev and ripgrep when missing (about 4 minutes from
# nothing, 35 s warm).
e2e-vscode: vscode e2e-setup
	HOTMOD_E2E_BASE_PYTHON=$(PYTHON) tests/e2e/vscode/run.sh --apt --no-screenshot

# Debian's chromium (also used by the HTML report test), ripgrep, libkrb5-dev
# and code-server; Emacs 29+ for the eglot test (tests/e2e/emacs): installed
# once, when missing.
e2e-setup:
	tests/e2e/vscode/setup.sh --apt
	tests/e2e/emacs/setup.sh --apt

# The documentation site; --strict turns broken links and missing pages into errors.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --quiet
	@echo "== docs: built site/index.html"

test: lint e2e-setup unit docs vscode e2e-vscode

demo: $(STAMP)
	@echo "== hotmod check examples/  (shop.cart is broken on purpose; shop.checkout depends on it)"
	@set +e; $(VENV)/bin/hotmod check examples/ --color always; rc=$$?; \
	echo "== exit status $$rc (1 = some module fails to import)"; \
	[ $$rc -le 1 ]
	@if [ -t 0 ] && [ -t 1 ] && [ -z "$$CI" ]; then \
		echo "== Opening the demo in Neovim (a copy of examples/; quit with :qa)"; sleep 2; \
		editors/nvim/demo/run.sh; \
	else \
		echo "== No terminal: skipping the Neovim demo (run 'make demo' in a terminal, or editors/nvim/demo/run.sh)"; \
	fi
	@echo "== VS Code: 'make vsix', then: code --install-extension editors/vscode/hotmod-$$(cat editors/vscode/bundled/target 2>/dev/null || echo linux-x64)-$$($(PY) -c 'import hotmod.core as c; print(c.__version__)').vsix"
	@echo "== Live reload: 'make demo-live' (examples/live_shop/README.md)"

# examples/live_shop served with hotmod's live agent, edited three times by a
# script (one edit applied, one needing a restart, one breaking a dependent):
# the app's answers show its state kept and only verified code applied.
demo-live: $(STAMP)
	$(PY) examples/live_shop/scripts/demo.py

# Byte-compiled first, as pip does for an installed wheel: with
# PYTHONDONTWRITEBYTECODE set (as on the CI machines) every server start would
# otherwise compile hotmod from source, ~100 ms a user never pays.
bench: $(STAMP)
	$(PY) -m compileall -q core server
	$(PY) tests/benchmarks/bench_check.py && $(PY) tests/benchmarks/bench_lsp.py
	for b in scaling dependents ordering cache mutations live real; do $(PY) tests/benchmarks/bench_$$b.py || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache

# The commands people type. Everything installs itself: a fresh machine needs Python >= 3.11 and make.
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
RUN := $(UV) run --frozen
PYTEST_WORKERS ?= 2

.PHONY: install demo test test-browser lint format bench clean messages

$(UV):
	$(PYTHON) -m pip install --user --quiet uv || $(PYTHON) -m pip install --quiet uv

install: $(UV)
	$(UV) sync --frozen

demo: install
	$(RUN) jiedao demo

test: install
	JIEDAO_TESTING=1 $(RUN) pytest -q -n $(PYTEST_WORKERS) -m "not browser"

test-browser: install
	JIEDAO_TESTING=1 $(RUN) pytest -q -m browser

lint: install
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	JIEDAO_TESTING=1 $(RUN) mypy jiedao

format: install
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

bench: install
	$(RUN) python -m benchmarks

messages: install
	$(RUN) python -m jiedao.core.i18n_compile

clean:
	rm -rf var test-artifacts .venv

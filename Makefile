# The commands people type. Everything installs itself: a fresh machine needs Python >= 3.11 and make.
PYTHON ?= python3
UV := $(PYTHON) -m uv
RUN := $(UV) run --frozen
PYTEST_WORKERS ?= 2

.PHONY: install demo test test-browser lint format bench clean messages

install:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv || $(PYTHON) -m pip install --user --quiet uv
	@$(UV) sync --frozen --quiet

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

# Needs GNU gettext (apt-get install gettext); the compiled .mo files are committed.
messages: install
	cd jiedao && JIEDAO_TESTING=1 $(RUN) django-admin makemessages -l zh_Hans --no-obsolete --settings=jiedao.config.settings --pythonpath=..
	cd jiedao && JIEDAO_TESTING=1 $(RUN) django-admin compilemessages -l zh_Hans --settings=jiedao.config.settings --pythonpath=..

clean:
	rm -rf var test-artifacts .venv

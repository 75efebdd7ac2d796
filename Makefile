# The two set-up commands are `make demo` and `make test`; both make the virtualenv themselves.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install demo serve test lint format bench bench-http lock clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "clinicflow needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)

# requirements.lock pins every package, ours and theirs, so each machine installs the same set;
# clinicflow itself goes on top without re-resolving anything.
$(STAMP): pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

install: $(STAMP)  ## create the virtualenv and install clinicflow with its test tools

demo: install  ## migrate an SQLite file, load a demo clinic and serve it on $(HOST):$(PORT)
	$(BIN)/clinicflow demo --host $(HOST) --port $(PORT)

serve: install
	$(BIN)/clinicflow db migrate
	$(BIN)/clinicflow serve --host $(HOST) --port $(PORT)

test: install  ## the whole suite (PostgreSQL tests skip locally when it is unreachable)
	$(BIN)/python -m pytest

lint: install  ## ruff, mypy --strict and the import contracts
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

# The API reference page (/docs) serves these files itself: no CDN at run time. Re-run after
# changing the pinned version; the files are checked in (gateway/static/docs/VERSIONS).
SWAGGER_UI := swagger-ui-dist@5.35.0
DOCS_STATIC := src/clinicflow/gateway/static/docs
.PHONY: vendor
vendor:  ## fetch the pinned Swagger UI release from npm into $(DOCS_STATIC)
	@tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent $(SWAGGER_UI) >/dev/null && tar xzf *.tgz && \
	cd - >/dev/null && mkdir -p $(DOCS_STATIC) && \
	cp $$tmp/package/swagger-ui-bundle.js $$tmp/package/swagger-ui.css $$tmp/package/LICENSE \
	   $$tmp/package/NOTICE $(DOCS_STATIC)/ && \
	printf '%s\n' "Swagger UI, vendored by \`make vendor\` from the npm package $(SWAGGER_UI)" \
	  "(https://www.npmjs.com/package/swagger-ui-dist), licence Apache-2.0 (LICENSE, NOTICE)." \
	  "Files: swagger-ui-bundle.js, swagger-ui.css; docs.js is ours (gateway/docs_page.py serves the page)." \
	  > $(DOCS_STATIC)/VERSIONS && rm -rf $$tmp

bench: install  ## availability over the shared bench data set
	$(BIN)/python benchmarks/availability.py --data ../shared/bench/dataset.json

# Needs PostgreSQL and Redis on 127.0.0.1 and Debian's wrk (apt-get install wrk); not in CI.
bench-http: install  ## HTTP load: 2 server workers on PostgreSQL, driven by wrk
	$(BIN)/python benchmarks/http_load.py $(BENCH_ARGS)

lock: install  ## re-resolve requirements.lock after a dependency in pyproject.toml changed
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --quiet -o requirements.lock

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis

# The two set-up commands are `make demo` and `make test`; both make the virtualenv themselves.
# The interpreter the virtualenv is made from: the system's /usr/bin/python3 where it is 3.11
# or newer and has venv (a distribution's build: Debian's is profile-guided and link-time
# optimized, as the python.org builds in deploy/Dockerfile's image are, and links libpython
# into the executable), else the first python3 on PATH. A version manager's default build
# (pyenv's: no PGO or LTO, libpython shared) spent ~20% more CPU importing clinicflow (4.07
# against 3.36 core-s), and its suite ~9% more, on the same machine (benchmarks/README.md,
# "Ninth pass"). `make PYTHON=…` picks another.
SYSTEM_PYTHON := /usr/bin/python3
PYTHON ?= $(shell $(SYSTEM_PYTHON) -c 'import sys, ensurepip, venv; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && echo $(SYSTEM_PYTHON) || echo python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
SPARK_STAMP := $(VENV)/.spark-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install spark demo serve test lint format bench bench-http bench-web bench-calendars bench-analytics bench-lake bench-sqlite lock clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "clinicflow needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)

# requirements.txt pins every package, ours and theirs, with the sha256 of each release file,
# so each machine installs the same bytes (--require-hashes: a file that does not match, or a
# package the lock does not name, stops the install); clinicflow itself goes on top without
# re-resolving anything. pip itself is the one the interpreter's venv brings (ensurepip's,
# fixed by the Python release): upgrading it to whatever is newest would make the one
# unpinned install of the set-up. What builds packages (setuptools, wheel) comes first, from
# requirements-build.txt, hashed too, and every later install uses it without build isolation:
# clinicflow itself, and the locks' source-only releases (autograd-gamma and http-ece here,
# pyspark in requirements-spark.txt). Under isolation pip fetched whatever setuptools was
# newest to build each of them; pip 23.0 (Debian's Python's) fell back to `setup.py install`.
$(STAMP): pyproject.toml requirements.txt requirements-build.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-build.txt
	$(BIN)/python -m pip install --quiet --require-hashes --no-build-isolation -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

install: $(STAMP)  ## create the virtualenv and install clinicflow with its test tools

# pyspark (requirements-spark.txt) is large and the app never imports it: installed for the
# Spark test and the type checks only (docs/analytics.md "Scale-out"; Spark needs a Java
# runtime too: .ci/run installs Debian's default-jre-headless).
$(SPARK_STAMP): requirements-spark.txt | $(STAMP)
	$(BIN)/python -m pip install --quiet --require-hashes --no-build-isolation -r requirements-spark.txt
	@touch $@

spark: $(SPARK_STAMP)  ## install pyspark for `clinicflow analytics spark` and the Spark test

demo: install  ## migrate an SQLite file, load a demo clinic and serve it on $(HOST):$(PORT)
	$(BIN)/clinicflow demo --host $(HOST) --port $(PORT)

serve: install
	$(BIN)/clinicflow db migrate
	$(BIN)/clinicflow serve --host $(HOST) --port $(PORT)

test: install $(SPARK_STAMP)  ## the whole suite (PostgreSQL tests skip locally when it is unreachable)
	$(BIN)/python -m pytest

lint: install $(SPARK_STAMP)  ## ruff, mypy --strict and the import contracts
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

# Browser files are pinned npm releases, checked in with their version and licence: nothing
# loads from a CDN at run time. Re-run after changing a pinned version.
# The API reference page (/docs): Swagger UI (gateway/static/docs/VERSIONS).
SWAGGER_UI := swagger-ui-dist@5.35.0
DOCS_STATIC := src/clinicflow/gateway/static/docs
# The pages (web/static/vendor/VERSIONS): htmx for partial updates, uPlot for the charts.
HTMX := htmx.org@2.0.11
UPLOT := uplot@1.6.32
WEB_VENDOR := src/clinicflow/web/static/vendor
.PHONY: vendor
vendor:  ## fetch the pinned browser files (Swagger UI, htmx, uPlot) from npm
	@tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent $(SWAGGER_UI) >/dev/null && tar xzf *.tgz && \
	cd - >/dev/null && mkdir -p $(DOCS_STATIC) && \
	cp $$tmp/package/swagger-ui-bundle.js $$tmp/package/swagger-ui.css $$tmp/package/LICENSE \
	   $$tmp/package/NOTICE $(DOCS_STATIC)/ && \
	printf '%s\n' "Swagger UI, vendored by \`make vendor\` from the npm package $(SWAGGER_UI)" \
	  "(https://www.npmjs.com/package/swagger-ui-dist), licence Apache-2.0 (LICENSE, NOTICE)." \
	  "Files: swagger-ui-bundle.js, swagger-ui.css; docs.js is ours (gateway/docs_page.py serves the page)." \
	  > $(DOCS_STATIC)/VERSIONS && rm -rf $$tmp
	@tmp=$$(mktemp -d) && cd $$tmp && mkdir htmx uplot && \
	(cd htmx && npm pack --silent $(HTMX) >/dev/null && tar xzf *.tgz) && \
	(cd uplot && npm pack --silent $(UPLOT) >/dev/null && tar xzf *.tgz) && \
	cd - >/dev/null && mkdir -p $(WEB_VENDOR) && \
	cp $$tmp/htmx/package/dist/htmx.min.js $(WEB_VENDOR)/htmx.min.js && \
	cp $$tmp/htmx/package/LICENSE $(WEB_VENDOR)/htmx.LICENSE && \
	cp $$tmp/uplot/package/dist/uPlot.iife.min.js $$tmp/uplot/package/dist/uPlot.min.css $(WEB_VENDOR)/ && \
	cp $$tmp/uplot/package/LICENSE $(WEB_VENDOR)/uPlot.LICENSE && \
	printf '%s\n' "Vendored by \`make vendor\` from npm; served by clinicflow itself (web/static)." \
	  "htmx.min.js: $(HTMX) (https://www.npmjs.com/package/htmx.org), licence 0BSD (htmx.LICENSE)." \
	  "uPlot.iife.min.js, uPlot.min.css: $(UPLOT) (https://www.npmjs.com/package/uplot), licence MIT (uPlot.LICENSE)." \
	  > $(WEB_VENDOR)/VERSIONS && (cd $(WEB_VENDOR) && sha256sum htmx.min.js uPlot.iife.min.js uPlot.min.css >> VERSIONS) && \
	rm -rf $$tmp

bench: install  ## availability over the shared bench data set
	$(BIN)/python benchmarks/availability.py --data ../shared/bench/dataset.json

# Needs PostgreSQL and Redis on 127.0.0.1 and Debian's wrk (apt-get install wrk); not in CI.
bench-http: install  ## HTTP load: 2 server workers on PostgreSQL, driven by wrk
	$(BIN)/python benchmarks/http_load.py $(BENCH_ARGS)

# Serves `clinicflow demo` (SQLite) in a temp dir; nothing else needed.
bench-web: install  ## the booking site's first page: server time, bytes sent, slots in the HTML
	$(BIN)/python benchmarks/web_pages.py $(BENCH_ARGS)

# The fake Calendly and Graph on loopback, a SQLite file in a temp dir; nothing else needed.
bench-calendars: install  ## issue 17: a 60-day refresh from the fake Calendly and Graph; availability with and without
	$(BIN)/python benchmarks/calendars.py $(BENCH_ARGS)

# Needs PostgreSQL on 127.0.0.1 (a role that may create databases); not in CI (12 min here).
bench-analytics: install  ## issue 18: every metric over a synthetic year and 1M visits, DuckDB beside PostgreSQL
	$(BIN)/python benchmarks/analytics.py $(BENCH_ARGS)

# A temp dir and an SQLite catalog; nothing else needed (~20 s).
bench-lake: install  ## the lake writer's appends over a day of syncs: the last as fast as the first
	$(BIN)/python benchmarks/lake_appends.py $(BENCH_ARGS)

# A temp dir; nothing else needed (~10 s).
bench-sqlite: install  ## one SQLite statement's cost: aiosqlite's adapter beside clinicflow's engine
	$(BIN)/python benchmarks/sqlite_statements.py $(BENCH_ARGS)

lock: install  ## re-resolve the lock files (with hashes) after a dependency in pyproject.toml changed
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-lock.txt
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --quiet --generate-hashes -o requirements.txt
	$(BIN)/uv pip compile requirements-spark.in -c requirements.txt --python-version 3.11 --quiet --generate-hashes -o requirements-spark.txt
	$(BIN)/uv pip compile requirements-lock.in --python-version 3.11 --quiet --generate-hashes -o requirements-lock.txt
	$(BIN)/uv pip compile requirements-build.in -c requirements.txt --python-version 3.11 --quiet --generate-hashes -o requirements-build.txt
	$(BIN)/uv pip compile pyproject.toml -c requirements.txt --python-version 3.12 --quiet --generate-hashes -o requirements-runtime.txt

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis

# Lyfta: `make run` serves the demo county, `make test` runs every check.
# Each target sets up .venv itself (python3 >= 3.11) when it is missing or the lock file changed.

PORT ?= 8000
HOST ?= 127.0.0.1
SIZE ?= regional
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The first interpreter on PATH that is Python 3.11 or newer.
PYTHON3 := $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& { echo $$p; break; }; done)

.PHONY: run test lint fmt bench load drills venv demo-db clean reset-demo
.DEFAULT_GOAL := run

$(STAMP): requirements.lock pyproject.toml
	@test -n "$(PYTHON3)" || { echo "Lyfta needs python3 >= 3.11 on PATH." >&2; exit 1; }
	@test -x $(PY) || $(PYTHON3) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@touch $(STAMP)

venv: $(STAMP)

demo-db: $(STAMP)
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo
	$(PY) manage.py collectstatic --no-input --verbosity 0

# The demo serves plain HTTP on the loopback address, so HTTPS-only protections are off for it.
run: export LYFTA_HTTPS ?= false
run: export LYFTA_REQUIRE_MFA ?= false
run: demo-db
	$(PY) manage.py serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy lyfta conftest.py
	$(VENV)/bin/lint-imports --no-cache
	$(PY) manage.py makemigrations --check --dry-run

fmt: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: lint
	$(VENV)/bin/pytest -n 2 $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) bench/run.py --size $(SIZE)

# Load and fault drills against PostgreSQL on 127.0.0.1 (bench/drills.py says what each checks);
# the load is Locust's (bench/locustfile.py), its figures in var/load/<drill>_report.json.
load: $(STAMP)
	$(PY) bench/drills.py load

drills: $(STAMP)
	$(PY) bench/drills.py kill-worker
	$(PY) bench/drills.py pg-restart
	$(PY) bench/drills.py backup-restore

clean:
	rm -rf $(VENV) var/static var/screenshots

# Start the demo county afresh: the SQLite database, its audit checkpoints and its shipped audit
# copy go together.
reset-demo:
	rm -f var/lyfta.sqlite3 var/lyfta.sqlite3-wal var/lyfta.sqlite3-shm var/audit-checkpoints.jsonl
	rm -rf var/audit-shipped

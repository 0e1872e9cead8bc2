# Two commands a new user needs: `make demo` and `make test`. Both create .venv/ on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { echo "error: '$(PYTHON) -m venv' failed; install your system's python3-venv package" >&2; exit 2; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[tf,dev]"
	@touch $(STAMP)

demo: $(STAMP)
	@$(PY) examples/demo.py

# -n auto: one worker per core (pytest-xdist); the tests that run TensorFlow programs are most of the time.
# --dist worksteal: each worker takes one contiguous half of the suite (a module's fixtures and its checks
# of one original mostly stay on one worker) and a worker that runs out takes half of the other's rest.
test: $(STAMP)
	$(PY) -m pytest -n auto --dist worksteal

test-fast: $(STAMP)
	$(PY) -m pytest -n auto --dist worksteal -m "not slow"

# Static checks (rules and exclusions in pyproject.toml). tests/test_lint.py runs the same three
# commands, so `make test` fails on them too.
LINT_PATHS := bn_migrate tests benchmarks

lint: $(STAMP)
	$(PY) -m ruff check $(LINT_PATHS)
	$(PY) -m ruff format --check $(LINT_PATHS)
	$(PY) -m mypy bn_migrate

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

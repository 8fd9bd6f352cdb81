# Set-up and main tasks.  `make demo` and `make test` create .venv when missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
# The local CPU build of torch (a bare `torch` may pull a multi-GB CUDA build).
TORCH_SPEC ?= torch==2.13.0
LAVA_SPEC ?= lava-nc==0.10.0
LAVA_DL_SPEC ?= lava-dl==0.6.0

.PHONY: demo test test-fast fuzz lint bench clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet "$(TORCH_SPEC)"
	# lava-nc declares Requires-Python <3.11: install it alone, its requirements come with ours.
	$(PIP) install --quiet --no-deps --ignore-requires-python "$(LAVA_SPEC)"
	# lava-dl (the netx tests) likewise: it pins torch<2.4 and torchvision, a CUDA torch download (docs/netx.md).
	$(PIP) install --quiet --no-deps --ignore-requires-python "$(LAVA_DL_SPEC)"
	$(PIP) install --quiet -e ".[dev,netx]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/s5rf-deploy demo

test: $(STAMP)
	$(VENV)/bin/pytest

# The edit loop: everything but Lava runs, fuzzing and slow tests (make test runs them all).
test-fast: $(STAMP)
	$(VENV)/bin/pytest -m "not lava and not fuzz and not slow"

# The long fuzzing budget (CI runs the same tests with a short one inside `make test`).
fuzz: $(STAMP)
	S5RF_FUZZ_EXAMPLES=1000 $(VENV)/bin/pytest -m fuzz

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	$(PY) benchmarks/forward.py
	$(PY) benchmarks/stepper.py
	$(PY) benchmarks/lava.py
	$(PY) benchmarks/onnx_runtime.py

clean:
	rm -rf $(VENV) build *.egg-info

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

.PHONY: demo test test-fast fuzz lint bench clean mutate interop

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

# Mutation testing (docs/testing.md): mutmut on the integer arithmetic and the S5-RF layout, run in a scratch
# copy of the sources (mutmut writes its mutants/ and setup.cfg there; this tree is never touched) against the
# fast test selection (no Lava).  10 minutes on 2 idle cores (597 mutants), 30 under load.  `make mutate
# MUTATE_DIR=...` keeps the copy elsewhere; `cd $(MUTATE_DIR) && mutmut show NAME` shows a survivor.
MUTATE_DIR ?= /tmp/s5rf-mutate
MUTATE_MODULES := s5rf_deploy/fixed/arithmetic.py s5rf_deploy/s5rf/layout.py
MUTATE_TESTS := tests/s5rf/test_oracle_bigint.py tests/s5rf/test_fixed_vs_float.py tests/fixed tests/s5rf/test_quantize.py
mutate: $(STAMP)
	$(PIP) install --quiet "mutmut==3.8.1"
	rm -rf $(MUTATE_DIR) && mkdir -p $(MUTATE_DIR)
	cp -r s5rf_deploy hw_profiles tests pyproject.toml $(MUTATE_DIR)/
	printf '%s\n' '[mutmut]' 'source_paths = s5rf_deploy' 'process_isolation = forkserver' \
		'also_copy = hw_profiles' 'only_mutate =' \
		$(addprefix '    ',$(MUTATE_MODULES)) 'pytest_add_cli_args_test_selection =' '    -m' '    not lava' \
		$(addprefix '    ',$(MUTATE_TESTS)) > $(MUTATE_DIR)/setup.cfg
	cd $(MUTATE_DIR) && OMP_NUM_THREADS=1 $(CURDIR)/$(VENV)/bin/mutmut run --max-children 2 > mutmut.log 2>&1 \
		|| (tail -40 mutmut.log; false)
	cd $(MUTATE_DIR) && tail -3 mutmut.log && $(CURDIR)/$(VENV)/bin/mutmut results

# Framework interop data (docs/interop.md): snnTorch, norse, sinabs, rockpool and spyx in their own environment
# (never the project's .venv), which rebuild, rerun and re-export the networks of tests/data/interop, then the
# checks of our readings against them.  Needs the package registries; several GB of downloads the first time.
INTEROP_VENV ?= .venv-interop
INTEROP_PY := $(INTEROP_VENV)/bin/python
INTEROP_SPECS := "$(TORCH_SPEC)" nir==1.0.8 nirtorch==2.6 snntorch==1.0.0 norse==1.1.0 rockpool==3.1.0 spyx==1.0.0 \
	"jax[cpu]==0.10.2" pbr matplotlib
interop: $(STAMP)
	test -x $(INTEROP_PY) || $(PYTHON) -m venv $(INTEROP_VENV)
	$(INTEROP_PY) -m pip install --quiet $(INTEROP_SPECS)
	# sinabs pins nir<=1.0.4; it runs with 1.0.8
	$(INTEROP_PY) -m pip install --quiet --no-deps sinabs==3.1.3
	$(INTEROP_PY) tools/interop/record.py
	$(PY) tools/interop/baseline.py
	$(VENV)/bin/pytest tests/graphs/test_interop.py tests/cli/test_semantics.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	$(PY) benchmarks/forward.py
	$(PY) benchmarks/stepper.py
	$(PY) benchmarks/lava.py
	$(PY) benchmarks/onnx_runtime.py
	$(PY) benchmarks/scale_out.py

clean:
	rm -rf $(VENV) build *.egg-info

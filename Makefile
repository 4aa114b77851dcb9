# The README's commands. Each target installs what it needs (scripts/setup-deps.sh) and builds.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: deps configure build demo test bench python-install clean

deps:
	bash scripts/setup-deps.sh

configure: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# The main demo: SFT of a small language model from scratch on generated addition, RL with HAPO on the
# verifiable reward, before/after evaluation (greedy accuracy, pass@k, maj@8) and plots.
# Builds the program only (not the tests), to start sooner on a fresh machine.
demo: configure
	cmake --build $(BUILD) -j $(JOBS) --target rlpp_cli
	bash scripts/demo.sh $(BUILD)

# The program and the test binaries only (the benchmarks are `make bench`'s).
test: configure
	cmake --build $(BUILD) -j $(JOBS) --target rlpp_tests
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 900

bench: build
	bash scripts/bench.sh $(BUILD)

# The Python module (build/python/rlpp) copied into the user's site-packages of Debian's python3,
# whose torch is the LibTorch the module links.
python-install: configure
	cmake --build $(BUILD) -j $(JOBS) --target rlpp_python
	site="$$(/usr/bin/python3 -m site --user-site)" && mkdir -p "$$site" && rm -rf "$$site/rlpp" && \
	  cp -r $(BUILD)/python/rlpp "$$site/" && echo "installed rlpp into $$site"

clean:
	rm -rf $(BUILD)

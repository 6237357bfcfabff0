# Genesis: `make demo` builds and serves the site; `make test` runs every test layer.
# Both install what is missing first and are quiet when everything is present.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export PATH := $(HOME)/.cargo/bin:$(PATH)
# One build directory outside the clone, reused between runs (CI included).
export CARGO_TARGET_DIR ?= /var/cache/genesis/target
export XDG_RUNTIME_DIR ?= /tmp

WASM := wasm32-unknown-unknown
WASM_BINDGEN_VERSION := $(shell sed -n '/^name = "wasm-bindgen"$$/{n;s/version = "\(.*\)"/\1/p;}' Cargo.lock)
TRUNK_VERSION := 0.21.14
WASM_PACK_VERSION := 0.15.1
CHROMEDRIVER := /usr/bin/chromedriver
WASM_PACKAGES := -p genesis-core -p genesis-nn -p genesis-train -p genesis-web
# Native crates build and test with the wgpu backend next to the default CPU one (one build,
# shared by clippy's check and the tests); its tests run on Mesa's software Vulkan driver
# (lavapipe) where no GPU is present.
NATIVE_FEATURES := --features genesis-nn/wgpu,genesis-train/wgpu,genesis-cli/wgpu
# wasm-bindgen tests that run in headless Chromium (each crate has a webdriver.json), run the
# way the README tells wasm users to: through wasm-pack, with Debian's chromedriver.
WASM_TEST_CRATES := crates/genesis-core crates/genesis-web

.PHONY: demo test site tools web-tools browser-tools gpu-tools lint unit wasm wasm-test e2e bench-web

demo: site
	@echo "Serving the site on http://127.0.0.1:8080 (Ctrl-C to stop)"
	python3 -m http.server 8080 --bind 127.0.0.1 --directory dist

test: tools lint unit wasm wasm-test e2e
	@echo "All test layers passed."

tools: web-tools browser-tools gpu-tools

web-tools:
	@rustup target list --installed | grep -qx $(WASM) || rustup target add $(WASM)
	@wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $(WASM_BINDGEN_VERSION)" \
	  || cargo install -q wasm-bindgen-cli --version "=$(WASM_BINDGEN_VERSION)"
	@trunk --version 2>/dev/null | grep -qx "trunk $(TRUNK_VERSION)" \
	  || cargo install -q trunk --version "=$(TRUNK_VERSION)" --locked
	@wasm-pack --version 2>/dev/null | grep -qx "wasm-pack $(WASM_PACK_VERSION)" \
	  || cargo install -q wasm-pack --version "=$(WASM_PACK_VERSION)" --locked

browser-tools:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null \
	  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }
	@test -d tests/e2e/node_modules/playwright-core \
	  || (cd tests/e2e && npm ci --silent --no-audit --no-fund)

# The Vulkan loader and lavapipe, the software Vulkan driver that runs the wgpu tests on the CPU.
gpu-tools:
	@ls /usr/share/vulkan/icd.d/lvp_icd.*.json >/dev/null 2>&1 \
	  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >/dev/null; }

lint:
	cargo fmt --all --check
	bash scripts/check-layers.sh
	cargo clippy -q --release --workspace --all-targets $(NATIVE_FEATURES) -- -D warnings

unit: gpu-tools
	cargo test -q --release --workspace $(NATIVE_FEATURES)

wasm:
	cargo build -q --release --target $(WASM) $(WASM_PACKAGES)

# wasm-bindgen's runner gives a whole suite 20 s by default; the browser suite does real work
# (decoding volumes, restoring cubes) and takes about 12 s on two idle cores.
wasm-test:
	for crate in $(WASM_TEST_CRATES); do \
	  CHROMEDRIVER=$(CHROMEDRIVER) WASM_BINDGEN_TEST_TIMEOUT=300 \
	    wasm-pack test --headless --chrome --release $$crate; \
	done

site: web-tools
	trunk --quiet build --config Trunk.toml
	cp -r www/. dist/
	@# The service worker's cache is named after a hash of the built demo (a new build, a new cache).
	build=$$(cd dist/demo && find . -type f ! -name sw.js | sort | xargs cat | sha256sum | cut -c1-16); \
	  sed -i "s/__BUILD__/$$build/" dist/demo/sw.js

e2e: site browser-tools
	cd tests/e2e && node --test

# Performance of the page in headless Chromium on the CPU backend, as JSON.
bench-web: site browser-tools
	@cd tests/e2e && node bench-web.mjs

#!/usr/bin/env bash
# The GPU benchmark, in two halves (docs/gpu.md):
#
#   scripts/gpu-bench.sh build   on a build machine (Rust, the crate registry, apt): builds the
#                                wgpu release binary, strips and gzips it, and downloads the
#                                Vulkan loader as Debian packages, into gpu-bundle/ (git ignores
#                                it; ≈ 20 MB, inside the 64 MiB a GPU machine receives).
#   scripts/gpu-bench.sh run     on the GPU machine (an NVIDIA GPU with its driver and PyTorch
#                                with CUDA; no Rust, no network): unpacks the loader, runs
#                                `genesis bench model --device wgpu` and the PyTorch reference
#                                (tests/parity/bench_unet3d_torch.py --device cuda) on the same
#                                GPU, and prints one JSON summary with the wgpu/PyTorch ratios.
#                                Takes 2-4 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
BUNDLE=gpu-bundle
REPS="${REPS:-5}"

build() {
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/genesis/target}"
  cargo build --release -p genesis-cli --features wgpu
  rm -rf "$BUNDLE" && mkdir -p "$BUNDLE/debs"
  strip -o "$BUNDLE/genesis" "$CARGO_TARGET_DIR/release/genesis"
  gzip -9 "$BUNDLE/genesis"
  (cd "$BUNDLE/debs" && apt-get download -qq libvulkan1)
  du -sh "$BUNDLE"/* "$BUNDLE"
}

# Unpacks every .deb of the bundle under $1 (dpkg-deb where present, else ar + tar).
unpack_debs() {
  local root=$1 deb
  for deb in "$BUNDLE"/debs/*.deb; do
    if command -v dpkg-deb >/dev/null; then
      dpkg-deb -x "$deb" "$root"
    else
      (cd "$root" && ar x "$OLDPWD/$deb" data.tar.xz && tar -xf data.tar.xz && rm data.tar.xz)
    fi
  done
}

# Points the Vulkan loader at NVIDIA's driver when the container has the library but no ICD
# file (NVIDIA_DRIVER_CAPABILITIES without `graphics` mounts no nvidia_icd.json).
nvidia_icd() {
  local root=$1 dir
  for dir in /usr/share/vulkan/icd.d /etc/vulkan/icd.d; do
    ls "$dir"/nvidia_icd*.json >/dev/null 2>&1 && return 0
  done
  if ldconfig -p 2>/dev/null | grep -q libGLX_nvidia.so.0; then
    printf '{"file_format_version":"1.0.0","ICD":{"library_path":"libGLX_nvidia.so.0","api_version":"1.3.0"}}\n' \
      >"$root/nvidia_icd.json"
    export VK_ICD_FILENAMES="$root/nvidia_icd.json" VK_DRIVER_FILES="$root/nvidia_icd.json"
    echo "gpu-bench: no NVIDIA Vulkan ICD file; using $root/nvidia_icd.json" >&2
  else
    echo "gpu-bench: NVIDIA's Vulkan driver (libGLX_nvidia.so.0) is missing: run the container with NVIDIA_DRIVER_CAPABILITIES=all (or graphics,compute,utility)" >&2
  fi
}

run() {
  local root
  root=$(mktemp -d)
  unpack_debs "$root"
  export LD_LIBRARY_PATH="$root/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
  gunzip -c "$BUNDLE/genesis.gz" >"$root/genesis" && chmod +x "$root/genesis"
  nvidia_icd "$root"
  local gpu
  gpu=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1 || true)
  timeout 240 "$root/genesis" bench model --device wgpu --reps "$REPS" --json >"$root/wgpu.json" \
    || echo '{"error": "genesis bench model --device wgpu failed (see stderr)"}' >"$root/wgpu.json"
  (cd tests/parity && timeout 120 python3 bench_unet3d_torch.py --device cuda --batches 1,2,6 \
    --reps "$REPS" --json) >"$root/torch.json" \
    || echo '{"error": "the PyTorch reference failed (see stderr)"}' >"$root/torch.json"
  GPU="$gpu" python3 - "$root/wgpu.json" "$root/torch.json" <<'EOF'
import json, os, sys

wgpu, torch = (json.load(open(p)) for p in sys.argv[1:3])
summary = {"gpu": os.environ.get("GPU") or None, "target": "wgpu/pytorch <= 1.2", "rows": []}
errors = [x["error"] for x in (wgpu, torch) if isinstance(x, dict)]
if errors:
    summary["errors"] = errors
reference = {tuple(r["input"]): r for r in torch} if isinstance(torch, list) else {}
for r in wgpu if isinstance(wgpu, list) else []:
    row = {"name": r["name"], "input": r["input"], "device": r["device"],
           "wgpu_forward_ms": round(r["forward_ms"], 2), "wgpu_train_step_ms": round(r["train_step_ms"], 2)}
    ref = reference.get(tuple(r["input"])) if r["name"] == "unet3d" else None
    if ref:
        row.update({"torch_device": ref["device"], "torch_forward_ms": round(ref["forward_ms"], 2),
                    "torch_train_step_ms": round(ref["train_step_ms"], 2),
                    "forward_ratio": round(r["forward_ms"] / ref["forward_ms"], 2),
                    "train_step_ratio": round(r["train_step_ms"] / ref["train_step_ms"], 2)})
    summary["rows"].append(row)
print(json.dumps(summary, indent=1))
EOF
}

case "${1:-}" in
  build) build ;;
  run) run ;;
  *) echo "usage: scripts/gpu-bench.sh build|run (see the comment at the top)" >&2; exit 2 ;;
esac

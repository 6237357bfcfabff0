#!/usr/bin/env bash
# Peak memory and throughput of `genesis pretrain --data CACHE` on a cube cache of 1× and 8× a
# fixed size (docs/pretraining.md, "Caches larger than memory").
#
# Writes a `genesis cubes`-style cache of SHARDS shards of CUBES cubes (64×64×32 f32, 512 KiB
# each) under $TMPDIR, the 8× cache by repeating the same shard files under new names, runs a
# short, seeded 3-D Models Genesis pretraining on each under `/usr/bin/time -v` and prints the
# peak resident set and the training throughput. Everything it writes is removed at the end.
#
#   scripts/rss-cache.sh [GENESIS_BINARY]     (default target/release/genesis)
#   SHARDS=2 CUBES=64 STEPS=20 scripts/rss-cache.sh
set -euo pipefail

genesis=${1:-${CARGO_TARGET_DIR:-target}/release/genesis}
shards=${SHARDS:-2}
cubes=${CUBES:-64}
steps=${STEPS:-20}
[ -x "$genesis" ] || { echo "no genesis binary at $genesis (cargo build --release -p genesis-cli)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install time" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/genesis-rss.XXXXXX")
trap 'rm -rf "$work"' EXIT

# make_cache DIR COPIES: COPIES × SHARDS shard files of CUBES cubes each, and their manifest.
make_cache() {
    python3 - "$1" "$2" "$shards" "$cubes" <<'EOF'
import array, json, math, os, shutil, sys
out, copies, shards, cubes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
os.makedirs(out)
x, y, z = 64, 64, 32
header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d, %d, %d), }" % (cubes, x, y, z)
header += " " * (-(10 + len(header) + 1) % 64) + "\n"
preamble = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()
records = []
for s in range(shards):
    first = f"shard-0of1-{s:05}.npy"
    with open(os.path.join(out, first), "wb") as f:
        f.write(preamble)
        for c in range(cubes):
            k = s * cubes + c
            # A smooth blob per cube, values in [0, 1].
            cube = array.array("f", (
                0.5 + 0.5 * math.sin(0.1 * (i + k) + 0.3 * j) * math.cos(0.2 * l + k)
                for i in range(x) for j in range(y) for l in range(z)))
            f.write(cube.tobytes())
    records.append({"file": first, "cubes": cubes})
    for r in range(1, copies):
        name = f"shard-0of1-{r * shards + s:05}.npy"
        shutil.copyfile(os.path.join(out, first), os.path.join(out, name))
        records.append({"file": name, "cubes": cubes})
manifest = {"config": {}, "partition": {"index": 0, "count": 1}, "shards": records, "scans": []}
with open(os.path.join(out, "manifest-0of1.json"), "w") as f:
    json.dump(manifest, f)
EOF
}

printf '%-6s %10s %12s %14s\n' cache "size MiB" "peak RSS MiB" "samples/s"
for copies in 1 8; do
    cache="$work/cache-$copies"
    make_cache "$cache" "$copies"
    size=$(du -sm "$cache" | cut -f1)
    run="$work/run-$copies"
    /usr/bin/time -v -o "$work/time-$copies" "$genesis" pretrain --data "$cache" --dim 3d \
        --method models-genesis --epochs 1 --steps-per-epoch "$steps" --seed 0 --out "$run" \
        >"$work/log-$copies" 2>&1 || { cat "$work/log-$copies" >&2; exit 1; }
    rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$work/time-$copies")
    speed=$(grep -o '[0-9.]* samples/s' "$run/summary.txt" | head -1 | cut -d' ' -f1)
    printf '%-6s %10s %12s %14s\n' "${copies}x" "$size" "$rss" "$speed"
    rm -rf "$cache" "$run"
done

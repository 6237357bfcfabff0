#!/usr/bin/env bash
# The architecture's rules that a grep can check (docs/architecture.md): arrows point one way,
# core/io ← nn ← train ← {cli, web}; the engine prints, parses and draws nothing; its base
# modules import no workflow; no import cycle between files. Exits 1 naming each breach.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0

# forbid PATTERN WHY PATH...: report every line of the Rust sources under PATH matching PATTERN.
forbid() {
  local pattern=$1 why=$2
  shift 2
  local hits
  if hits=$(grep -rnE --include='*.rs' "$pattern" "$@"); then
    echo "layering: $why" >&2
    echo "$hits" >&2
    status=1
  fi
}

forbid 'genesis_(nn|train|cli|web)\b' "genesis-core and genesis-io never import nn, the engine or a front end" \
  crates/genesis-core crates/genesis-io
forbid 'genesis_(train|cli|web)\b' "genesis-nn never imports the engine or a front end" crates/genesis-nn
forbid 'genesis_(cli|web)\b' "genesis-train never imports a front end" crates/genesis-train
forbid 'genesis_web\b' "the command line never imports the web crate" crates/genesis-cli
forbid 'genesis_cli\b' "the web crate never imports the command line" crates/genesis-web
forbid '\b(e?print(ln)?!|indicatif|RgbImage|image::)' "genesis-train prints and draws nothing (use the Observer)" \
  crates/genesis-train/src
forbid '^\s*use clap|clap::(Parser|Args|Subcommand)' "genesis-train parses no arguments (clap only as cfg_attr behind the cli feature)" \
  crates/genesis-train/src
base=(recipe.rs recipe/pretrain.rs recipe/finetune.rs schedule.rs batch.rs source.rs manifest.rs
      checkpoint.rs metrics.rs objective.rs step.rs fit.rs observer.rs device.rs phantoms.rs)
forbid 'crate::(pretrain|finetune|discover|embed|experiment|session)\b' \
  "the engine's base modules import no workflow" "${base[@]/#/crates/genesis-train/src/}"
forbid 'AdamConfig|SgdConfig|\.step\(lr|GradientsParams' "front ends never build an optimiser or step one" \
  crates/genesis-cli/src crates/genesis-web/src

# Crate dependencies point the same way.
for crate in genesis-core genesis-io; do
  if grep -qE '^genesis-(nn|train)' "crates/$crate/Cargo.toml"; then
    echo "layering: $crate depends on nn or the engine" >&2; status=1
  fi
done
if grep -qE '^genesis-train' crates/genesis-nn/Cargo.toml; then
  echo "layering: genesis-nn depends on the engine" >&2; status=1
fi

# Import cycles between files, when the shared tool is at hand.
if [[ -x ../shared/tools/rust-cycles ]]; then
  ../shared/tools/rust-cycles . || status=1
fi
exit $status

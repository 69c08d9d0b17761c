#!/usr/bin/env bash
# The README's main command: installs what the machine lacks, builds the plugin bundles and the
# `continuo` command line (release), and lets the built-in Bach model answer the example phrase.
#
# Leaves:
#   target/bundled/Continuo.clap, target/bundled/Continuo.vst3   (`cargo xtask install` copies them
#                                                                 into ~/.clap and ~/.vst3)
#   target/release/continuo                                      (the command line)
#   out/bwv773-continued.mid, out/bwv773-continued.png           (the answer, to hear and see)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

echo "== build the plugin bundles (CLAP, VST3) and the continuo command line"
cargo xtask bundle continuo-plugin --release
cargo build --release -p continuo-trainer

echo "== the built-in Bach model continues the opening of BWV 773 by four measures"
mkdir -p out
target/release/continuo continue examples/bwv773-opening.mid --measures 4 --seed 7 \
    -o out/bwv773-continued.mid --png out/bwv773-continued.png

cat <<'DONE'

Done.
  Listen:  out/bwv773-continued.mid (any MIDI player; e.g. `timidity out/bwv773-continued.mid`)
  Look:    out/bwv773-continued.png (the phrase, then the answer, bar lines in grey)
  Plugin:  target/bundled/Continuo.clap and Continuo.vst3; `cargo xtask install` puts them
           where DAWs look (~/.clap, ~/.vst3 on Linux).
DONE

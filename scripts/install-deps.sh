#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the build and the tests need, when they are missing.
# Runs apt-get as root (directly, or through sudo when it is there).
set -euo pipefail

packages=(
    build-essential pkg-config     # C toolchain for -sys crates
    libasound2-dev libjack-jackd2-dev  # the plugin's standalone program (ALSA and JACK)
    jackd2                         # JACK's dummy driver, to feed the standalone MIDI in tests
    python3-venv                   # the VST3 test hosts the plugin in Spotify's pedalboard
    mesa-vulkan-drivers            # a software Vulkan driver, so the GPU trainer's tests run on CPU
)

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing: ${missing[*]}"
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q
"${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"

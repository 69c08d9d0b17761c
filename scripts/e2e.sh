#!/usr/bin/env bash
# End-to-end tests: the built plugin in real hosts.
#
#   1. Builds the bundles (Continuo.clap and .vst3, kept in target/e2e/bundled) and the
#      standalone program in the `e2e` profile: the release profile with debug assertions on,
#      and nice-plug's assert_process_allocs, so that any allocation on the audio thread aborts
#      the host.
#   2. CLAP: the continuo-tests crate loads Continuo.clap with a clack-host host.
#   3. VST3: Spotify's pedalboard (in a virtual environment under target/) renders Continuo.vst3.
#   4. Standalone: `--backend dummy` runs headless and must exit cleanly on SIGINT and SIGTERM.
#
# Every step runs even when an earlier one failed; the script fails if any did.
set -uo pipefail
cd "$(dirname "$0")/.."

# The e2e profile, defined here so that no Cargo.toml has to carry it (see tests/src/bundle.rs).
export CARGO_PROFILE_E2E_INHERITS=release
export CARGO_PROFILE_E2E_DEBUG_ASSERTIONS=true
logs=target/e2e-logs
mkdir -p "$logs"
failed=()
started=$SECONDS

step() { echo "== e2e: $*"; }
fail() { echo "FAILED: $*"; failed+=("$*"); }

# The bundler writes to target/bundled/ whatever the profile, where the release bundles of
# scripts/run.sh (the ones `cargo xtask install` installs) are: set those aside while the checked
# build passes through, and put them back however this script ends.
bundled=target/bundled
set_aside=target/e2e/release-bundles
bundle_names=(Continuo.clap Continuo.vst3 Continuo)
rm -rf "$set_aside" && mkdir -p "$set_aside" "$bundled"
for name in "${bundle_names[@]}"; do
    [ -e "$bundled/$name" ] && mv "$bundled/$name" "$set_aside/"
done
restore_release_bundles() {
    for name in "${bundle_names[@]}"; do
        rm -rf "${bundled:?}/$name"
        [ -e "$set_aside/$name" ] && mv "$set_aside/$name" "$bundled/"
    done
    return 0
}
trap restore_release_bundles EXIT

step "build the standalone program and the bundles (profile e2e)"
# The standalone first: the bundler copies the library of the last build, which must be the one
# without the standalone feature.
if ! cargo build -p continuo-plugin --profile e2e --bin continuo_plugin \
        --features standalone,assert_process_allocs; then
    fail "standalone build"
fi
if ! cargo xtask bundle continuo-plugin --profile e2e --features assert_process_allocs; then
    echo "FAILED: bundle build; nothing else can run"
    exit 1
fi
# Keep this build's bundles apart at once (the release ones go back into target/bundled/).
bundles=target/e2e/bundled
rm -rf "$bundles" && mkdir -p "$bundles"
cp -r "$bundled/Continuo.clap" "$bundled/Continuo.vst3" "$bundles/"
echo "built in $((SECONDS - started)) s"

step "CLAP: clack-host drives Continuo.clap"
clap_started=$SECONDS
# The bundles were just built: the tests need not ask Cargo again.
if ! CONTINUO_E2E_BUILT=1 cargo test -p continuo-tests --no-fail-fast 2>&1 | tee "$logs/clap.log"; then
    fail "CLAP tests"
fi
# nice-plug reports failed debug assertions in the plugin as warnings, not panics. The state
# tests feed the plugin broken state on purpose, and its complaints about that are expected.
unexpected_assertions() {
    grep "Debug assertion failed" "$1" | grep -v -i "deserializ"
}
if unexpected_assertions "$logs/clap.log" >/dev/null; then
    unexpected_assertions "$logs/clap.log" | sort | uniq -c
    fail "the plugin failed debug assertions under the CLAP host"
fi
echo "CLAP tests took $((SECONDS - clap_started)) s"

step "VST3: pedalboard renders Continuo.vst3"
vst3_started=$SECONDS
venv=target/e2e-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import pedalboard, numpy, mido" 2>/dev/null; then
    python3 -m venv "$venv" \
        && "$venv/bin/pip" install --quiet "pedalboard==0.9.26" "numpy>=1.26,<3" "mido==1.3.3" \
        || fail "creating the Python environment for pedalboard (python3-venv and PyPI needed)"
fi
if [ -x "$venv/bin/python" ]; then
    if ! "$venv/bin/python" tests/vst3/answer_audio.py "$bundles/Continuo.vst3" \
            ../shared/corpus/bach/bwv772-invention01.mid 2>&1 | tee "$logs/vst3.log"; then
        fail "VST3 tests"
    fi
    if unexpected_assertions "$logs/vst3.log" >/dev/null; then
        fail "the plugin failed debug assertions under pedalboard"
    fi
fi
echo "VST3 test took $((SECONDS - vst3_started)) s"

step "standalone: headless run, clean exit on request"
standalone=target/e2e/continuo_plugin
for signal in INT TERM; do
    if [ ! -x "$standalone" ]; then
        fail "standalone: $standalone was not built"
        break
    fi
    "$standalone" --backend dummy >"$logs/standalone-$signal.log" 2>&1 &
    pid=$!
    sleep 3
    if ! kill -0 "$pid" 2>/dev/null; then
        wait "$pid"
        fail "standalone exited by itself within 3 s (status $?) before SIG$signal"
        tail -5 "$logs/standalone-$signal.log"
        continue
    fi
    kill -s "$signal" "$pid"
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -s KILL "$pid"
        wait "$pid" 2>/dev/null
        fail "standalone still running 5 s after SIG$signal"
        continue
    fi
    wait "$pid"
    status=$?
    if [ "$status" -ne 0 ]; then
        fail "standalone exited with status $status on SIG$signal (128+n means killed by signal n)"
        tail -5 "$logs/standalone-$signal.log"
    else
        echo "ok   standalone ran 3 s headless and exited cleanly on SIG$signal"
    fi
done

echo "== e2e: done in $((SECONDS - started)) s; logs in $logs"
if [ ${#failed[@]} -gt 0 ]; then
    printf 'e2e failures:\n'
    printf '  - %s\n' "${failed[@]}"
    exit 1
fi
echo "e2e: all passed"

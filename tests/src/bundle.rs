//! Where the plugin's bundles are, and building them for the tests.
//!
//! The tests load the plugin built with nice-plug's `assert_process_allocs` feature, which makes
//! any allocation inside `process()` abort the host with the allocation's backtrace. That check
//! only exists in builds with debug assertions, so a `--release` bundle would pass it without
//! checking anything. The tests therefore build in a profile of their own, `e2e`: the release
//! profile (so the composer runs at shipping speed) with debug assertions on. The profile is
//! defined through Cargo's environment configuration, so that no Cargo.toml has to carry it, and
//! its objects live in `target/e2e/`, apart from the release build's.
//!
//! The bundler writes to `target/bundled/` whatever the profile, where a release bundle made by
//! someone else in the same target directory may replace them at any time. The tests therefore
//! copy the bundles they built to `target/e2e/bundled/` at once and load them from there (and
//! `clap_realtime` checks that the copy is the checked build).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The Cargo profile the tests build the plugin in.
pub const PROFILE: &str = "e2e";
/// The package the bundler builds.
pub const PLUGIN_PACKAGE: &str = "continuo-plugin";
/// The feature that makes allocations on the audio thread abort.
pub const REAL_TIME_FEATURE: &str = "assert_process_allocs";
/// The CLAP plugin ID of Continuo.
pub const CLAP_ID: &str = "org.continuo.continuo";
/// Set (to anything) when the bundles were just built by the caller (`scripts/e2e.sh`), so that
/// every test binary does not ask Cargo again.
pub const BUILT_ENV: &str = "CONTINUO_E2E_BUILT";

/// The workspace root: this crate lives in `<root>/tests`.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lies inside the workspace")
        .to_path_buf()
}

/// Cargo's target directory, honouring `CARGO_TARGET_DIR`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

/// Where the bundler writes the bundles.
fn bundler_output() -> PathBuf {
    target_dir().join("bundled")
}

/// Where the tests keep the bundles they built: `target/e2e/bundled/`.
pub fn tested_bundles() -> PathBuf {
    target_dir().join(PROFILE).join("bundled")
}

/// The CLAP bundle the tests load.
pub fn clap_bundle() -> PathBuf {
    tested_bundles().join("Continuo.clap")
}

/// The VST3 bundle the tests load.
pub fn vst3_bundle() -> PathBuf {
    tested_bundles().join("Continuo.vst3")
}

/// The corpus of Bach pieces: `../shared/corpus/bach` beside the workspace.
pub fn bach_corpus() -> PathBuf {
    workspace_root()
        .join("..")
        .join("shared")
        .join("corpus")
        .join("bach")
}

/// The environment that defines the `e2e` profile for Cargo.
pub fn profile_env() -> [(&'static str, &'static str); 2] {
    [
        ("CARGO_PROFILE_E2E_INHERITS", "release"),
        ("CARGO_PROFILE_E2E_DEBUG_ASSERTIONS", "true"),
    ]
}

/// Builds and bundles the plugin once per test process (Cargo does nothing when it is up to
/// date) and returns the CLAP bundle's path. Panics with Cargo's exit status when the build
/// fails: a test that needs the plugin must not pass without it.
pub fn ensure_built() -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        if std::env::var_os(BUILT_ENV).is_none() {
            build_bundles();
            keep_bundles();
        }
    });
    let clap = clap_bundle();
    assert!(
        clap.exists(),
        "{} is missing; run `bash scripts/e2e.sh`, which builds it",
        clap.display()
    );
    clap
}

/// `cargo xtask bundle continuo-plugin --profile e2e --features assert_process_allocs`.
fn build_bundles() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(workspace_root())
        .envs(profile_env())
        .args(["xtask", "bundle", PLUGIN_PACKAGE, "--profile", PROFILE])
        .args(["--features", REAL_TIME_FEATURE])
        .status()
        .expect("running cargo to build the plugin bundles");
    assert!(
        status.success(),
        "building the plugin bundles failed ({status}); the build's output is above"
    );
}

/// Copies the bundles just built out of the bundler's shared folder.
fn keep_bundles() {
    let kept = tested_bundles();
    std::fs::create_dir_all(&kept).expect("making target/e2e/bundled");
    for name in ["Continuo.clap", "Continuo.vst3"] {
        copy_tree(&bundler_output().join(name), &kept.join(name));
    }
}

/// Copies a file, or a folder and everything in it, replacing what was at `to`.
fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        if to.exists() {
            std::fs::remove_dir_all(to)
                .unwrap_or_else(|error| panic!("removing {}: {error}", to.display()));
        }
        std::fs::create_dir_all(to)
            .unwrap_or_else(|error| panic!("making {}: {error}", to.display()));
        let entries = std::fs::read_dir(from)
            .unwrap_or_else(|error| panic!("listing {}: {error}", from.display()));
        for entry in entries {
            let entry = entry.unwrap_or_else(|error| panic!("listing {}: {error}", from.display()));
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::copy(from, to).unwrap_or_else(|error| {
            panic!("copying {} to {}: {error}", from.display(), to.display())
        });
    }
}

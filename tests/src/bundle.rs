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
//! The bundler writes to `target/bundled/` whatever the profile, so after the tests ran,
//! `target/bundled/Continuo.clap` and `Continuo.vst3` are the checked build.

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

/// `target/bundled/Continuo.clap`.
pub fn clap_bundle() -> PathBuf {
    target_dir().join("bundled").join("Continuo.clap")
}

/// `target/bundled/Continuo.vst3`.
pub fn vst3_bundle() -> PathBuf {
    target_dir().join("bundled").join("Continuo.vst3")
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
        }
    });
    let clap = clap_bundle();
    assert!(
        clap.exists(),
        "{} is missing after the build; run `bash scripts/e2e.sh`",
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

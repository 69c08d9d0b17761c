//! `cargo xtask`: nice-plug's bundler, plus `install`.
//!
//! - `cargo xtask bundle continuo-plugin --release` builds the plugin and writes
//!   `target/bundled/Continuo.clap` and `target/bundled/Continuo.vst3` (add
//!   `--features standalone` for the standalone program `target/bundled/Continuo`). The bundle
//!   name comes from `bundler.toml`; the argument is the Cargo package name.
//! - `cargo xtask install` copies those bundles to the user's plugin folders (see
//!   [`plugin_folders`]); `--clap-dir DIR` and `--vst3-dir DIR` choose other folders.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The bundle name set in `bundler.toml`.
const BUNDLE_NAME: &str = "Continuo";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("install") => install(&args[1..]),
        _ => nice_plug_xtask::main_with_args("cargo xtask", args),
    }
}

/// Copies the bundles made by `cargo xtask bundle` into the plugin folders.
fn install(args: &[String]) -> Result<()> {
    nice_plug_xtask::chdir_workspace_root()?;
    let metadata = cargo_metadata::MetadataCommand::new()
        .manifest_path("./Cargo.toml")
        .no_deps()
        .exec()
        .context("reading the workspace's metadata")?;
    let bundled = metadata.target_directory.as_std_path().join("bundled");

    let (mut clap_dir, mut vst3_dir) = plugin_folders()?;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let value = || rest.clone().next().map(PathBuf::from);
        match arg.as_str() {
            "--clap-dir" => clap_dir = value().context("--clap-dir needs a folder")?,
            "--vst3-dir" => vst3_dir = value().context("--vst3-dir needs a folder")?,
            other => bail!(
                "unknown option {other:?}\n\nUsage: cargo xtask install [--clap-dir DIR] \
                 [--vst3-dir DIR]"
            ),
        }
        rest.next();
    }

    let bundles = [
        (format!("{BUNDLE_NAME}.clap"), clap_dir),
        (format!("{BUNDLE_NAME}.vst3"), vst3_dir),
    ];
    for (name, _) in &bundles {
        if !bundled.join(name).exists() {
            bail!(
                "{} is missing: run `cargo xtask bundle continuo-plugin --release` first",
                bundled.join(name).display()
            );
        }
    }
    for (name, folder) in &bundles {
        let target = folder.join(name);
        copy_bundle(&bundled.join(name), &target)?;
        eprintln!("Installed {}", target.display());
    }
    Ok(())
}

/// Where hosts look for a user's CLAP and VST3 plugins:
/// - Linux: `~/.clap` and `~/.vst3`;
/// - macOS: `~/Library/Audio/Plug-Ins/CLAP` and `~/Library/Audio/Plug-Ins/VST3`;
/// - Windows: `%LOCALAPPDATA%\Programs\Common\CLAP` and `...\VST3` (the per-user folders; the
///   system-wide `%COMMONPROGRAMFILES%\CLAP` and `\VST3` need an administrator).
fn plugin_folders() -> Result<(PathBuf, PathBuf)> {
    if cfg!(target_os = "windows") {
        let local = std::env::var_os("LOCALAPPDATA").context("LOCALAPPDATA is not set")?;
        let common = PathBuf::from(local).join("Programs").join("Common");
        return Ok((common.join("CLAP"), common.join("VST3")));
    }
    let home = PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?);
    if cfg!(target_os = "macos") {
        let plug_ins = home.join("Library").join("Audio").join("Plug-Ins");
        Ok((plug_ins.join("CLAP"), plug_ins.join("VST3")))
    } else {
        Ok((home.join(".clap"), home.join(".vst3")))
    }
}

/// Copies a bundle (a file, or a folder on macOS and for VST3) over any older copy.
fn copy_bundle(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    if to.is_dir() {
        fs::remove_dir_all(to).with_context(|| format!("removing the old {}", to.display()))?;
    } else if to.exists() {
        fs::remove_file(to).with_context(|| format!("removing the old {}", to.display()))?;
    }
    copy_recursively(from, to)
}

fn copy_recursively(from: &Path, to: &Path) -> Result<()> {
    if from.is_dir() {
        fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
        for entry in fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
            let entry = entry?;
            copy_recursively(&entry.path(), &to.join(entry.file_name()))?;
        }
    } else {
        fs::copy(from, to)
            .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    }
    Ok(())
}

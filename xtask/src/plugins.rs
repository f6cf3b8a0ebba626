//! `cargo xtask plugins`: builds every plugin crate into a WebAssembly component.
//!
//! Crates are found under `plugins/*/` (shipped plugins, written to `target/plugins/<crate>.wasm`,
//! which the daemon installs into a fresh database) and `tests/fixtures/plugins/*/` (test plugins,
//! written to `target/plugins/fixtures/<crate>.wasm`, never installed by default). Each is a
//! `cdylib` using `wit-bindgen`; it is compiled for `wasm32-unknown-unknown` with the `plugin`
//! profile, and its core module is turned into a component in-process by `wit-component`.
//!
//! The wasm32 toolchain, in this order (see `shared/docs/wasm-toolchain.md`):
//! 1. rustup's toolchain when `rustup target list --installed` shows `wasm32-unknown-unknown`;
//! 2. else `timeout 120 rustup target add wasm32-unknown-unknown`, then the same;
//! 3. else Debian's second Rust (`rustc-web cargo-web rust-web-src lld-22`, installed with apt
//!    when running as root, otherwise the exact command is printed), building `std` from source
//!    (`-Zbuild-std`) into its own target directory `target/wasm-debian`.
//!
//! `cargo xtask plugins NAME...` builds only the named crates. Crates without a `cdylib` (shared
//! libraries such as `plugins/police-common`) are not plugins and are skipped.
//! `JINGXUN_WASM_ROUTE=rustup` or `=debian` forces a route. Nothing is rebuilt when every output
//! is newer than every input (the crate's sources and `Cargo.toml`, the workspace `Cargo.toml`
//! and `wit/`), so the command is cheap to run before every `run` and `test`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use crate::say;

/// The target triple plugins are built for. WASI targets are not used: a plugin gets nothing but
/// the host interfaces of its WIT world, and Debian's Rust has no wasi-libc.
pub(crate) const TARGET: &str = "wasm32-unknown-unknown";
/// The cargo profile (root `Cargo.toml`) plugins are built with.
const PROFILE: &str = "plugin";
/// The Debian packages of the fallback route.
const DEBIAN_PACKAGES: &[&str] = &["rustc-web", "cargo-web", "rust-web-src", "lld-22"];

/// One plugin crate to build.
#[derive(Debug)]
struct PluginCrate {
    /// The package name from its `Cargo.toml`.
    name: String,
    /// Its directory.
    dir: PathBuf,
    /// Where its component goes.
    output: PathBuf,
}

/// How the wasm32 code is compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// The rustup toolchain that runs this xtask, with the target installed.
    Rustup,
    /// Debian's `rustc-web` with `-Zbuild-std`.
    Debian,
}

/// Builds every stale plugin component (or only the crates named in `only`, when it is not
/// empty). See the module documentation.
pub fn build(root: &Path, only: &[String]) -> Result<(), String> {
    let mut crates = discover(root)?;
    if !only.is_empty() {
        if let Some(unknown) = only.iter().find(|n| !crates.iter().any(|c| &c.name == *n)) {
            let known: Vec<&str> = crates.iter().map(|c| c.name.as_str()).collect();
            return Err(format!(
                "no plugin crate named `{unknown}`; the plugin crates are: {}",
                known.join(", ")
            ));
        }
        crates.retain(|c| only.contains(&c.name));
    }
    if crates.is_empty() {
        say("no plugin crates under plugins/ or tests/fixtures/plugins/: nothing to build");
        return Ok(());
    }
    let stale: Vec<&PluginCrate> = crates.iter().filter(|c| is_stale(root, c)).collect();
    if stale.is_empty() {
        say(&format!(
            "plugins up to date: {} component(s) in target/plugins",
            crates.len()
        ));
        return Ok(());
    }
    let names: Vec<&str> = stale.iter().map(|c| c.name.as_str()).collect();
    say(&format!(
        "building {} plugin(s) for {TARGET}: {}",
        stale.len(),
        names.join(", ")
    ));
    let route = choose_route()?;
    let target_dir = match route {
        Route::Rustup => root.join("target"),
        Route::Debian => root.join("target/wasm-debian"),
    };
    let mut cargo = match route {
        Route::Rustup => {
            say("compiling with rustup's toolchain (wasm32-unknown-unknown installed)");
            let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
            c.args(["build", "--target", TARGET]);
            c
        }
        Route::Debian => {
            say(
                "compiling with Debian's rustc-web and -Zbuild-std into target/wasm-debian (the first build compiles std: about 3 minutes)",
            );
            let mut c = Command::new("/usr/bin/cargo");
            c.env("RUSTC", "/usr/bin/rustc")
                .env("RUSTDOC", "/usr/bin/rustdoc")
                .env("RUSTC_BOOTSTRAP", "1")
                // The rustup proxy's choice must not leak into Debian's cargo.
                .env_remove("RUSTUP_TOOLCHAIN")
                .env_remove("CARGO")
                .args(["build", "--target", TARGET, "-Zbuild-std=std,panic_abort"]);
            c
        }
    };
    cargo
        .current_dir(root)
        .args(["--profile", PROFILE, "--target-dir"])
        .arg(&target_dir);
    for name in &names {
        cargo.args(["--package", name]);
    }
    crate::status(cargo, "building the plugins")?;

    let modules = target_dir.join(TARGET).join(PROFILE);
    for plugin in stale {
        let module = modules.join(format!("{}.wasm", plugin.name.replace('-', "_")));
        say(&format!(
            "encoding {} as a component -> {}",
            module.display(),
            plugin.output.display()
        ));
        encode(&module, &plugin.output)?;
    }
    Ok(())
}

/// Finds the plugin crates, sorted by name.
fn discover(root: &Path) -> Result<Vec<PluginCrate>, String> {
    let out = root.join("target/plugins");
    let mut crates = Vec::new();
    for (parent, output_dir) in [
        (root.join("plugins"), out.clone()),
        (root.join("tests/fixtures/plugins"), out.join("fixtures")),
    ] {
        let Ok(entries) = fs::read_dir(&parent) else {
            continue;
        };
        for entry in entries {
            let dir = entry
                .map_err(|e| format!("cannot list {}: {e}", parent.display()))?
                .path();
            let manifest = dir.join("Cargo.toml");
            if !manifest.is_file() {
                continue;
            }
            let text = fs::read_to_string(&manifest)
                .map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
            let name = package_name(&text).ok_or_else(|| {
                format!(
                    "{} has no `name = \"...\"` in its [package] section",
                    manifest.display()
                )
            })?;
            if !text.contains("\"cdylib\"") {
                // A library shared by plugins (plugins/police-common), not a plugin itself.
                continue;
            }
            let output = output_dir.join(format!("{name}.wasm"));
            crates.push(PluginCrate { name, dir, output });
        }
    }
    crates.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(crates)
}

/// The `name` of the `[package]` section. Hand-written rather than a TOML parser: the xtask
/// stays small, and plugin manifests are ordinary cargo files.
fn package_name(cargo_toml: &str) -> Option<String> {
    let mut in_package = false;
    for line in cargo_toml.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if in_package && let Some(rest) = line.strip_prefix("name") {
            let value = rest.trim_start().strip_prefix('=')?.trim();
            return Some(value.trim_matches('"').to_string());
        }
    }
    None
}

/// Whether the component is missing or older than any of its inputs.
fn is_stale(root: &Path, plugin: &PluginCrate) -> bool {
    let Some(built) = modified(&plugin.output) else {
        return true;
    };
    let mut inputs = vec![
        plugin.dir.join("Cargo.toml"),
        plugin.dir.join("build.rs"),
        plugin.dir.join("src"),
        root.join("wit"),
        root.join("Cargo.toml"),
    ];
    // Sources outside the crate directory (a shared library crate, an `include!`d file) are
    // listed in the dep-info file of the last build, whichever route made it.
    let lib = plugin.name.replace('-', "_");
    for target_dir in ["target", "target/wasm-debian"] {
        let dep_info = root
            .join(target_dir)
            .join(TARGET)
            .join(PROFILE)
            .join(format!("{lib}.d"));
        if let Ok(text) = fs::read_to_string(&dep_info) {
            inputs.extend(dep_info_sources(&text));
        }
    }
    inputs
        .iter()
        .filter_map(|p| newest(p))
        .any(|input| input > built)
}

/// The source files a cargo dep-info file (`output: source source ...`) lists.
fn dep_info_sources(text: &str) -> Vec<PathBuf> {
    text.lines()
        .filter_map(|line| line.split_once(": "))
        .flat_map(|(_, sources)| sources.split_whitespace().map(PathBuf::from))
        .collect()
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest modification time of a file, or of anything under a directory.
fn newest(path: &Path) -> Option<SystemTime> {
    let meta = fs::metadata(path).ok()?;
    let mut latest = meta.modified().ok()?;
    if meta.is_dir() {
        for entry in fs::read_dir(path).ok()?.flatten() {
            if let Some(t) = newest(&entry.path()) {
                latest = latest.max(t);
            }
        }
    }
    Some(latest)
}

/// Picks the toolchain as the module documentation says, installing what it can.
pub(crate) fn choose_route() -> Result<Route, String> {
    match std::env::var("JINGXUN_WASM_ROUTE").as_deref() {
        Ok("rustup") => return Ok(Route::Rustup),
        Ok("debian") => {
            ensure_debian_toolchain()?;
            return Ok(Route::Debian);
        }
        Ok(other) => {
            return Err(format!(
                "JINGXUN_WASM_ROUTE={other} is not a route; use rustup or debian, or unset it"
            ));
        }
        Err(_) => {}
    }
    if rustup_has_target() {
        return Ok(Route::Rustup);
    }
    if Command::new("rustup").arg("--version").output().is_ok() {
        say(&format!(
            "rustup's toolchain lacks {TARGET}: trying `rustup target add {TARGET}` (at most 120 s)"
        ));
        let added = Command::new("timeout")
            .args(["120", "rustup", "target", "add", TARGET])
            .status()
            .is_ok_and(|s| s.success());
        if added && rustup_has_target() {
            return Ok(Route::Rustup);
        }
        say("rustup could not add the target: falling back to Debian's Rust");
    }
    ensure_debian_toolchain()?;
    Ok(Route::Debian)
}

fn rustup_has_target() -> bool {
    Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .is_ok_and(|o| {
            o.status.success()
                && String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .any(|l| l.trim() == TARGET)
        })
}

/// Makes sure Debian's `rustc-web` route is installed: with apt when root, else says how.
fn ensure_debian_toolchain() -> Result<(), String> {
    let present = Path::new("/usr/bin/rustc").exists()
        && Path::new("/usr/bin/cargo").exists()
        && Path::new("/usr/lib/rustlib/src").exists()
        && Path::new("/usr/bin/rust-lld").exists();
    if present {
        return Ok(());
    }
    crate::apt::install(
        DEBIAN_PACKAGES,
        "Debian's Rust for wasm32 (about 400 MB, a minute)",
    )
    .map_err(|e| format!("no wasm32 toolchain: run `rustup target add {TARGET}`, or {e}"))
}

/// Turns a core module with wit-bindgen's embedded component type into a component.
fn encode(module: &Path, output: &Path) -> Result<(), String> {
    let bytes = fs::read(module)
        .map_err(|e| format!("cannot read the core module {}: {e}", module.display()))?;
    let component = wit_component::ComponentEncoder::default()
        .validate(true)
        .module(&bytes)
        .and_then(|mut encoder| encoder.encode())
        .map_err(|e| {
            format!(
                "cannot make a component of {}: {e:#}; does the crate call wit_bindgen::generate! \
                 with world \"query-plugin\" and export! its implementation?",
                module.display()
            )
        })?;
    if let Some(dir) = output.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    // Write then rename, so that a daemon never loads a half-written component.
    let partial = output.with_extension("wasm.partial");
    fs::write(&partial, &component)
        .and_then(|()| fs::rename(&partial, output))
        .map_err(|e| format!("cannot write {}: {e}", output.display()))
}

#[cfg(test)]
mod tests {
    use super::package_name;

    #[test]
    fn dep_info_lists_every_source() {
        let text = "/t/x.wasm: /w/a/src/lib.rs /w/b/src/plugin.rs\n\n/t/x.d: /w/a/src/lib.rs\n";
        let sources = super::dep_info_sources(text);
        assert!(sources.contains(&std::path::PathBuf::from("/w/b/src/plugin.rs")));
    }

    #[test]
    fn reads_the_package_name_and_not_a_dependency_name() {
        let toml = "[package]\nname = \"fixture-echo\"\nversion = \"1.0.0\"\n\n[dependencies]\nname = \"x\"\n";
        assert_eq!(package_name(toml).as_deref(), Some("fixture-echo"));
        assert_eq!(package_name("[dependencies]\nname = \"x\"\n"), None);
    }
}

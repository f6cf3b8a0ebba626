//! `cargo xtask web`: builds the web admin's browser bundle, and (for `cargo xtask test`) makes
//! sure the browser tests have a Chromium to drive.
//!
//! The bundle is the `web/` crate with feature `hydrate`, compiled for `wasm32-unknown-unknown`
//! by the same toolchain route as the plugins (see `plugins.rs`: rustup's target when
//! installed, else Debian's `rustc-web` with `-Zbuild-std`), into its own target directory
//! (`target/web-wasm`, or `target/wasm-debian` on the Debian route) so that the daemon's build
//! keeps its artefacts and its lock. Then `wasm-bindgen --target web` writes
//! `target/site/pkg/jingxun_web.js` and `jingxun_web_bg.wasm`, which the daemon serves under
//! `/pkg/`. The `wasm-bindgen` command-line tool must be exactly the version of the
//! `wasm-bindgen` crate in `Cargo.lock`; it is installed once into `target/tools`.
//! Nothing is rebuilt when the bundle is newer than `web/` and `Cargo.lock`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::plugins::{self, Route};
use crate::say;

/// The crate of the web admin.
const PACKAGE: &str = "jingxun-web";
/// Its library name, as cargo names the `.wasm`.
const LIB: &str = "jingxun_web";
/// The Debian packages the browser tests need.
const BROWSER_PACKAGES: &[&str] = &["chromium", "chromium-driver", "fonts-noto-cjk"];

/// Builds the bundle when it is stale. See the module documentation.
pub fn build(root: &Path) -> Result<(), String> {
    let pkg = root.join("target/site/pkg");
    let js = pkg.join(format!("{LIB}.js"));
    let wasm = pkg.join(format!("{LIB}_bg.wasm"));
    let built = [&js, &wasm].iter().map(|p| modified(p)).min().flatten();
    let inputs = [
        root.join("web/src"),
        root.join("web/Cargo.toml"),
        root.join("host/sms/src"),
        root.join("Cargo.lock"),
    ];
    let newest_input = inputs.iter().filter_map(|p| newest(p)).max();
    if let (Some(built), Some(input)) = (built, newest_input)
        && built >= input
    {
        say("web admin bundle up to date: target/site/pkg");
        return Ok(());
    }
    let version = wasm_bindgen_version(root)?;
    let bindgen = ensure_wasm_bindgen(root, &version)?;
    say(&format!(
        "building the web admin's browser bundle ({PACKAGE}, feature hydrate) for {}",
        plugins::TARGET
    ));
    let route = plugins::choose_route()?;
    let (mut cargo, target_dir) = match route {
        Route::Rustup => {
            say(
                "compiling with rustup's toolchain into target/web-wasm (the first build takes a few minutes)",
            );
            let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
            c.args(["build", "--target", plugins::TARGET]);
            (c, root.join("target/web-wasm"))
        }
        Route::Debian => {
            say(
                "compiling with Debian's rustc-web and -Zbuild-std into target/wasm-debian (the first build compiles std: minutes)",
            );
            let mut c = Command::new("/usr/bin/cargo");
            c.env("RUSTC", "/usr/bin/rustc")
                .env("RUSTDOC", "/usr/bin/rustdoc")
                .env("RUSTC_BOOTSTRAP", "1")
                .env_remove("RUSTUP_TOOLCHAIN")
                .env_remove("CARGO")
                .args([
                    "build",
                    "--target",
                    plugins::TARGET,
                    "-Zbuild-std=std,panic_abort",
                ]);
            (c, root.join("target/wasm-debian"))
        }
    };
    cargo
        .current_dir(root)
        .args([
            "--profile",
            "web",
            "--lib",
            "--package",
            PACKAGE,
            "--features",
            "hydrate",
        ])
        .arg("--target-dir")
        .arg(&target_dir);
    crate::status(cargo, "building the web admin bundle")?;
    let module = target_dir
        .join(plugins::TARGET)
        .join("web")
        .join(format!("{LIB}.wasm"));
    say(&format!(
        "wasm-bindgen --target web {} -> target/site/pkg",
        module.display()
    ));
    fs::create_dir_all(&pkg).map_err(|e| format!("cannot create {}: {e}", pkg.display()))?;
    let mut run = Command::new(&bindgen);
    run.args([
        "--target",
        "web",
        "--no-typescript",
        // Function names are 60% of the module and only help a debugger.
        "--remove-name-section",
        "--remove-producers-section",
        "--out-name",
        LIB,
        "--out-dir",
    ])
    .arg(&pkg)
    .arg(&module);
    crate::status(run, "wasm-bindgen")
}

/// The version of the `wasm-bindgen` crate in `Cargo.lock`.
fn wasm_bindgen_version(root: &Path) -> Result<String, String> {
    let lock = fs::read_to_string(root.join("Cargo.lock"))
        .map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    lock_version(&lock, "wasm-bindgen").ok_or_else(|| {
        "Cargo.lock lists no wasm-bindgen; run `cargo build -p jingxun-web` once".to_owned()
    })
}

/// The version of package `name` in a `Cargo.lock` text.
fn lock_version(lock: &str, name: &str) -> Option<String> {
    let wanted = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            let version = lines.next()?.trim().strip_prefix("version = ")?;
            return Some(version.trim_matches('"').to_owned());
        }
    }
    None
}

/// `target/tools/bin/wasm-bindgen` at exactly `version`, installed if missing or different.
fn ensure_wasm_bindgen(root: &Path, version: &str) -> Result<PathBuf, String> {
    let tools = root.join("target/tools");
    let binary = tools.join("bin/wasm-bindgen");
    let installed = Command::new(&binary)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if installed.as_deref() == Some(&format!("wasm-bindgen {version}")) {
        return Ok(binary);
    }
    say(&format!(
        "installing wasm-bindgen-cli {version} (the version of wasm-bindgen in Cargo.lock) into target/tools: once, a few minutes"
    ));
    let install = |locked: bool| {
        let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        c.args(["install", "wasm-bindgen-cli", "--version"])
            .arg(format!("={version}"))
            .arg("--root")
            .arg(&tools);
        if locked {
            c.arg("--locked");
        }
        crate::status(c, "cargo install wasm-bindgen-cli")
    };
    if install(true).is_err() {
        // The registry may lack one of the exact versions its lock file pins; the tool's own
        // version is still exact.
        say(
            "the locked install failed; installing wasm-bindgen-cli with its newest compatible dependencies",
        );
        install(false)?;
    }
    Ok(binary)
}

/// What [`BROWSER_PACKAGES`] install, checked before installing them.
const BROWSER_FILES: &[&str] = &[
    "/usr/bin/chromium",
    "/usr/bin/chromedriver",
    // Chinese glyphs, so that pages and screenshots show characters rather than boxes.
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
];

/// Makes sure Chromium, chromedriver and a Chinese font are installed for the browser tests.
pub fn ensure_browser() -> Result<(), String> {
    if BROWSER_FILES.iter().all(|f| Path::new(f).exists()) {
        say("browser tests: chromium, chromedriver and the CJK font present");
        return Ok(());
    }
    crate::apt::install(BROWSER_PACKAGES, "the browser tests' Chromium")
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest modification time of a file, or of anything under a directory.
fn newest(path: &Path) -> Option<std::time::SystemTime> {
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

#[cfg(test)]
mod tests {
    #[test]
    fn reads_a_package_version_from_the_lock_file() {
        let lock = "[[package]]\nname = \"wasm-bindgen-macro\"\nversion = \"9\"\n\n[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\n";
        assert_eq!(
            super::lock_version(lock, "wasm-bindgen").as_deref(),
            Some("0.2.130")
        );
        assert_eq!(super::lock_version(lock, "leptos"), None);
    }
}

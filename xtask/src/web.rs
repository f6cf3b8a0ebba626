//! `cargo xtask web`: builds the web admin's browser bundle, and (for `cargo xtask test`) makes
//! sure the browser tests have a Chromium to drive.
//!
//! The bundle is the `web/` crate with feature `hydrate`, compiled for `wasm32-unknown-unknown`
//! by the same toolchain route as the plugins (see `plugins.rs`: rustup's target when
//! installed, else Debian's `rustc-web` with `-Zbuild-std`), into its own target directory
//! (`target/web-wasm`, or `target/wasm-debian` on the Debian route) so that the daemon's build
//! keeps its artefacts and its lock. Then wasm-bindgen's generator (`--target web`) writes
//! `target/site/pkg/jingxun_web.js` and `jingxun_web_bg.wasm`, which the daemon serves under
//! `/pkg/`. The generator runs in this process, from the `wasm-bindgen-cli-support` crate the
//! `wasm-bindgen` command-line tool is built on: installing that tool compiled some 200 crates
//! (an HTTP client and TLS for its test runner) for one function call. It must be exactly the
//! version of the `wasm-bindgen` crate in `Cargo.lock`, which is checked first.
//! Nothing is rebuilt when the bundle is newer than `web/` and `Cargo.lock`.

use std::fs;
use std::path::Path;
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
    check_bindgen_versions(root)?;
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
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&module)
        .web(true)
        .map_err(|e| format!("wasm-bindgen: {e:#}"))?
        .typescript(false)
        .remove_name_section(true)
        .remove_producers_section(true)
        .out_name(LIB)
        .generate(&pkg)
        .map_err(|e| format!("wasm-bindgen failed on {}: {e:#}", module.display()))
}

/// Checks that the generator linked into xtask is the version of the `wasm-bindgen` crate the
/// bundle is built with (the two refuse each other's output otherwise).
fn check_bindgen_versions(root: &Path) -> Result<(), String> {
    let lock = fs::read_to_string(root.join("Cargo.lock"))
        .map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    let crate_version = lock_version(&lock, "wasm-bindgen");
    let generator = lock_version(&lock, "wasm-bindgen-cli-support");
    match (crate_version, generator) {
        (Some(a), Some(b)) if a == b => Ok(()),
        (Some(a), b) => Err(format!(
            "Cargo.lock has wasm-bindgen {a} but wasm-bindgen-cli-support {}: set \
             `wasm-bindgen-cli-support = \"={a}\"` in xtask/Cargo.toml",
            b.as_deref().unwrap_or("(none)")
        )),
        (None, _) => {
            Err("Cargo.lock lists no wasm-bindgen; run `cargo build -p jingxun-web` once".into())
        }
    }
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

//! The project's build and test driver: `cargo xtask run` starts the platform on its embedded
//! defaults, `cargo xtask test` runs every test (the Rust tests, then schemathesis against the
//! HTTP API's OpenAPI document), `cargo xtask plugins` builds the WebAssembly plugins,
//! `cargo xtask new-plugin NAME --keyword KW` starts a plugin crate,
//! `cargo xtask schemathesis` runs only that last step, `cargo xtask bench-api` measures the
//! HTTP API with wrk. Each builds whatever it needs first and says what it is doing. Plain `std`
//! plus `wit-component` (which turns a plugin's core module into a component in-process, so that no
//! extra tool has to be installed).

mod apt;
mod bench_api;
mod daemon;
mod deb;
mod deps;
mod leftovers;
mod lint;
mod new_plugin;
mod plugins;
mod schemathesis;
mod web;

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("test") => test(&args[1..]),
        Some("plugins") => plugins::build(&root(), &args[1..]),
        Some("web") => web::build(&root()),
        Some("schemathesis") => schemathesis_only(&args[1..]),
        Some("bench-api") => bench_api::run(&args[1..]),
        Some("deb") => deb::run(&root(), &args[1..]),
        Some("deps") => deps::run(&root(), &args[1..]),
        Some("new-plugin") => new_plugin::run(&root(), &args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n  run [ARGS]    build and start `jingxun serve` on the embedded defaults (extra ARGS go to jingxun)\n  test [ARGS]   build everything and run the whole test suite (extra ARGS go to the test runner)\n  plugins [NAME...]  build plugins/* and tests/fixtures/plugins/* into components in target/plugins\n  new-plugin NAME --keyword KW  create plugins/NAME: a plugin on the newest contract answering KW, with its own test\n  schemathesis [--no-build]  build the debug daemon and run only the schemathesis step of `test`\n  bench-api [--threads N --connections N --duration 15s --no-build]  measure POST /api/v1/messages with wrk (release build)\n  deps [--check]  list which top-level modules of host/src use which, and their cycles (--check: fail on a new cycle)\n  deb [--check] [--release]  build the Debian package into target/deb (--check: from the debug binary, then inspect it and, as root on Debian, install and purge it)\n\nPostgreSQL tests run too when JINGXUN_TEST_POSTGRES_URL is set (e.g. postgres://postgres@127.0.0.1:5432/test).\nJINGXUN_WASM_ROUTE=rustup|debian forces how plugins are built (default: rustup when it has the target).\nJINGXUN_SKIP_SCHEMATHESIS=1 skips the schemathesis step of `test` (quick local runs; CI runs it)."
            );
            Err("unknown command".into())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn say(message: &str) {
    eprintln!("==> {message}");
}

fn cargo() -> Command {
    let mut command = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(root());
    command
}

fn status(mut command: Command, what: &str) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|e| format!("cannot start {what}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

/// Builds the daemon and runs `jingxun serve` in the current folder.
fn run(extra: &[String]) -> Result<(), String> {
    plugins::build(&root(), &[])?;
    web::build(&root())?;
    say("building jingxun (the first build takes a few minutes on 2 cores)");
    let mut build = cargo();
    build.args([
        "build",
        "--release",
        "--package",
        "jingxun",
        "--bin",
        "jingxun",
    ]);
    status(build, "cargo build")?;
    let binary = root().join("target/release/jingxun");
    say(
        "starting jingxun serve: SQLite store ./jingxun.db, one simulated modem, the web admin at http://127.0.0.1:8080/ (Ctrl-C stops)",
    );
    let mut serve = Command::new(binary);
    if extra.is_empty() {
        serve.arg("serve");
    } else {
        serve.args(extra);
    }
    status(serve, "jingxun")
}

/// Builds everything and runs every test, with nextest when it is installed.
fn test(extra: &[String]) -> Result<(), String> {
    match env::var("JINGXUN_TEST_POSTGRES_URL") {
        Ok(url) => say(&format!("PostgreSQL tests enabled against {url}")),
        Err(_) => say(
            "JINGXUN_TEST_POSTGRES_URL is not set: store and end-to-end tests run on SQLite only",
        ),
    }
    let checks = source_checks();
    plugins::build(&root(), &[])?;
    web::build(&root())?;
    web::ensure_browser()?;
    let clippy = lint::clippy_driver()?;
    say(
        "building the daemon and the tests, linted by clippy as they compile (the lints of the top Cargo.toml)",
    );
    let mut build = cargo();
    lint::as_workspace_wrapper(&mut build, &clippy);
    build.args(["build", "--workspace", "--tests", "--bins"]);
    let warnings = lint::build_counting_warnings(build)?;
    let lints = if warnings == 0 {
        say("clippy: no warning");
        Ok(())
    } else {
        Err(format!(
            "clippy and rustc found {warnings} warning(s) in the workspace (shown above); fix them"
        ))
    };
    let nextest = cargo()
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    let mut run = cargo();
    // The same wrapper as the build, so that the test binaries just built are fresh.
    lint::as_workspace_wrapper(&mut run, &clippy);
    if nextest {
        say("running the tests with cargo nextest");
        run.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
    } else {
        say("running the tests with cargo test (install cargo-nextest for a faster, clearer run)");
        run.args(["test", "--workspace", "--no-fail-fast"]);
    }
    run.args(extra);
    let before = leftovers::snapshot();
    let tests = status(run, "the test suite");
    // The property run of the HTTP API goes on even when a Rust test failed, so that one CI run
    // reports both.
    let api = schemathesis::run(&root().join("target/debug/jingxun"));
    // The Debian package of the binary just tested: its files, unit and scripts and, as root on
    // Debian, its install, the service started as its unit says, its removal and purge.
    let deb = if env::var_os("JINGXUN_SKIP_DEB").is_some() {
        say("JINGXUN_SKIP_DEB is set: the Debian package is not checked");
        Ok(())
    } else {
        say("checking the Debian package of the debug binary (cargo xtask deb --check --no-build)");
        deb::run(&root(), &["--check".to_owned(), "--no-build".to_owned()])
    };
    let left = leftovers::check(&before);
    if left.is_ok() {
        say("the tests left no daemon, chromedriver or browser running");
    }
    tests.and(api).and(deb).and(left).and(checks).and(lints)
}

/// `cargo fmt --check` and the module-cycle check. A finding fails the test command, but only
/// after the tests ran, so that one run reports everything.
fn source_checks() -> Result<(), String> {
    say("checking the formatting (cargo fmt --check)");
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--check"]);
    let fmt = status(fmt, "cargo fmt --check (run `cargo fmt --all`)");
    say("checking for new module cycles (cargo xtask deps --check)");
    let deps = deps::run(&root(), &["--check".to_owned()]);
    fmt.and(deps)
}

/// `cargo xtask schemathesis`: builds the debug daemon and runs only the schemathesis step.
/// `--no-build` uses the binary already built (debug, else release), e.g. when another build
/// holds cargo's lock.
fn schemathesis_only(args: &[String]) -> Result<(), String> {
    if schemathesis::skipped() || args.iter().any(|a| a == "--no-build") {
        let debug = root().join("target/debug/jingxun");
        let binary = if debug.exists() {
            debug
        } else {
            root().join("target/release/jingxun")
        };
        return schemathesis::run(&binary);
    }
    say("building the debug jingxun");
    let mut build = cargo();
    build.args(["build", "--package", "jingxun", "--bin", "jingxun"]);
    status(build, "cargo build")?;
    schemathesis::run(&root().join("target/debug/jingxun"))
}

//! Clippy without a second compilation. `cargo clippy` type-checks the whole workspace and its
//! dependencies in check mode, which shares nothing with the build the tests need: on 2 cores
//! a cold `cargo clippy --workspace --all-targets` took 8 minutes on top of the build. Here the
//! build itself is linted: clippy's driver is the workspace's rustc wrapper
//! (`RUSTC_WORKSPACE_WRAPPER`, which is how `cargo clippy` runs it too), so the workspace's
//! crates are compiled and linted in one pass and the dependencies are compiled by plain rustc,
//! as always. The lints are those of the top `Cargo.toml` (`[workspace.lints]`) and clippy's
//! defaults; a warning does not stop the build (the tests still run) but fails `cargo xtask
//! test` at the end, like `cargo clippy -- -D warnings` did.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The clippy driver of the toolchain that runs cargo.
pub fn clippy_driver() -> Result<PathBuf, String> {
    let output = Command::new("rustup")
        .args(["which", "clippy-driver"])
        .output();
    let found = match output {
        Ok(o) if o.status.success() => {
            PathBuf::from(String::from_utf8_lossy(&o.stdout).trim().to_owned())
        }
        // Without rustup (a toolchain from elsewhere), the driver beside rustc.
        _ => PathBuf::from("clippy-driver"),
    };
    let works = Command::new(&found)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if works {
        Ok(found)
    } else {
        Err(format!(
            "clippy is not installed ({} does not run): `rustup component add clippy`",
            found.display()
        ))
    }
}

/// Makes `command` (a cargo build, test or nextest run) compile the workspace's crates through
/// the clippy driver.
pub fn as_workspace_wrapper(command: &mut Command, clippy: &PathBuf) {
    command.env("RUSTC_WORKSPACE_WRAPPER", clippy);
}

/// Runs `build`, passing its output through, and returns how many warnings the workspace's
/// crates got (cargo's `generated N warning(s)` lines: dependencies' warnings are capped, and a
/// crate built before replays its warnings). Fails when the build fails.
pub fn build_counting_warnings(mut build: Command) -> Result<usize, String> {
    let mut child = build
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start cargo build: {e}"))?;
    let mut warnings = 0;
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("{line}");
            warnings += generated_warnings(&line);
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("cargo build did not finish: {e}"))?;
    if status.success() {
        Ok(warnings)
    } else {
        Err(format!("cargo build failed ({status})"))
    }
}

/// The count in cargo's summary line ``warning: `jingxun` (lib test) generated 3 warnings``
/// (also `... generated 1 warning (1 duplicate)`); 0 for any other line.
fn generated_warnings(line: &str) -> usize {
    let Some(rest) = line.strip_prefix("warning: `") else {
        return 0;
    };
    let Some((_, tail)) = rest.split_once(" generated ") else {
        return 0;
    };
    tail.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::generated_warnings;

    #[test]
    fn the_summary_lines_of_cargo_are_counted_and_nothing_else() {
        assert_eq!(
            generated_warnings("warning: `jingxun` (lib test) generated 3 warnings"),
            3
        );
        assert_eq!(
            generated_warnings(
                "warning: `xtask` (bin \"xtask\") generated 1 warning (1 duplicate)"
            ),
            1
        );
        assert_eq!(generated_warnings("warning: unused variable: `x`"), 0);
        assert_eq!(generated_warnings("   Compiling jingxun v0.1.0"), 0);
    }
}

//! The `jingxun` command line run against a test database, without a daemon.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use super::{JINGXUN, output_with_stdin};

/// The command line on a configuration naming the test database, in the test's folder, with
/// no daemon: the commands work on the store.
pub struct Cli {
    dir: tempfile::TempDir,
    pub config: PathBuf,
}

impl Cli {
    pub fn new(database_url: &str) -> Cli {
        let dir = tempfile::tempdir().expect("temporary folder");
        let config = dir.path().join("jingxun.toml");
        std::fs::write(&config, format!("[database]\nurl = \"{database_url}\"\n"))
            .expect("write the configuration");
        Cli { dir, config }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(JINGXUN)
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .current_dir(self.dir.path())
            .env("USER", "e2e-admin")
            .output()
            .expect("run jingxun")
    }

    /// Runs a command with `input` on its standard input.
    pub fn run_with_stdin(&self, args: &[&str], input: &str) -> Output {
        let mut command = Command::new(JINGXUN);
        command
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .current_dir(self.dir.path())
            .env("USER", "e2e-admin");
        output_with_stdin(command, input)
    }

    /// Runs a command that must succeed; returns its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "jingxun {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8 output")
    }

    /// Runs a command that must fail; returns its standard error.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "jingxun {args:?} should fail");
        String::from_utf8(out.stderr).expect("UTF-8 output")
    }

    /// A `--json` command's lines, parsed.
    pub fn json(&self, args: &[&str]) -> Vec<Value> {
        self.ok(args)
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
            .collect()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

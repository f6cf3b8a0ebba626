//! The property-based run of the HTTP API against its own OpenAPI document (issue 5): the
//! `jingxun` binary on a fresh SQLite database with one built-in simulated modem, an API key with
//! every scope, and schemathesis (from PyPI, pinned in `tests/schemathesis/requirements.txt`,
//! installed once into a virtual environment under `target/`) generating requests from
//! `/api/openapi.json`. It fails on any 5xx, any response whose status, content type or body is
//! not in the document, and on a daemon that died during the run.
//!
//! Runtime is bounded (CI allows 90 minutes for everything): at most [`DEFAULT_MAX_EXAMPLES`]
//! cases per operation and [`DEFAULT_MAX_TIME`] seconds in all, each request at most
//! [`REQUEST_TIMEOUT`] seconds (long polls included).
//!
//! Environment:
//! - `JINGXUN_SKIP_SCHEMATHESIS=1` skips the run (quick local runs; CI never sets it);
//! - `JINGXUN_SCHEMATHESIS_MAX_EXAMPLES`, `JINGXUN_SCHEMATHESIS_MAX_TIME` change the bounds;
//! - `JINGXUN_PYTHON` names the Python used to create the environment (default `python3`).

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::daemon::{Daemon, DaemonSpec};
use crate::{root, say, status};

/// Test cases per API operation unless `JINGXUN_SCHEMATHESIS_MAX_EXAMPLES` says otherwise.
pub const DEFAULT_MAX_EXAMPLES: u32 = 100;
/// Seconds for the whole run unless `JINGXUN_SCHEMATHESIS_MAX_TIME` says otherwise.
pub const DEFAULT_MAX_TIME: u32 = 240;
/// Seconds one request may take (above the API's longest long-poll).
pub const REQUEST_TIMEOUT: u32 = 40;
/// The checks that must hold for every response.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_schema_conformance";

/// Whether the environment asks to skip the run.
pub fn skipped() -> bool {
    env::var("JINGXUN_SKIP_SCHEMATHESIS").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Runs schemathesis against `binary` (a built `jingxun`).
pub fn run(binary: &Path) -> Result<(), String> {
    if skipped() {
        say("JINGXUN_SKIP_SCHEMATHESIS is set: skipping the schemathesis run of the HTTP API");
        return Ok(());
    }
    let st = ensure_venv()?;
    let max_examples = number("JINGXUN_SCHEMATHESIS_MAX_EXAMPLES", DEFAULT_MAX_EXAMPLES)?;
    let max_time = number("JINGXUN_SCHEMATHESIS_MAX_TIME", DEFAULT_MAX_TIME)?;
    say(&format!(
        "schemathesis: starting {} on a fresh SQLite database with a simulated modem",
        binary.display()
    ));
    let mut daemon = Daemon::start(&DaemonSpec {
        binary,
        name: "schemathesis",
        extra_toml: "[[modem]]\nname = \"sim1\"\nport = \"sim\"\n\
                     [queue]\npoll_interval_ms = 100\n",
        // High enough that the run is never rate limited (429 is documented, but it would
        // starve the other operations of useful answers).
        rate: 100_000,
    })?;
    let schema = format!("http://{}/api/openapi.json", daemon.address);
    let report_dir = root().join("target/schemathesis-report");
    say(&format!(
        "schemathesis: checking every operation of {schema} ({CHECKS}; at most {max_examples} \
         cases per operation, {max_time} s in all)"
    ));
    let mut command = Command::new(&st);
    command
        .current_dir(&daemon.dir)
        .env("NO_COLOR", "1")
        .arg("run")
        .arg(&schema)
        .arg("--header")
        .arg(format!("Authorization: Bearer {}", daemon.key))
        .args(["--checks", CHECKS])
        .args(["--max-examples", &max_examples.to_string()])
        .args(["--max-time", &max_time.to_string()])
        .args(["--request-timeout", &REQUEST_TIMEOUT.to_string()])
        .args(["--workers", "2", "--seed", "1"])
        .args(["--generation-database", "none"])
        // The key must not appear in reports or printed failures.
        .args(["--output-sanitize", "true"])
        .args(["--report", "junit", "--report-dir"])
        .arg(&report_dir);
    let outcome = status(command, "schemathesis");
    let alive = daemon.is_running();
    let panicked = fs::read_to_string(daemon.dir.join("serve.log"))
        .unwrap_or_default()
        .lines()
        .any(|l| l.contains("panicked"));
    if outcome.is_err() || !alive || panicked {
        daemon.keep_folder();
        say(&format!(
            "schemathesis: the daemon's log and database are kept in {}",
            daemon.dir.display()
        ));
    }
    outcome?;
    if !alive {
        return Err("jingxun serve died during the schemathesis run".into());
    }
    if panicked {
        return Err("jingxun serve logged a panic during the schemathesis run".into());
    }
    say("schemathesis: no server error and every response matches the OpenAPI document");
    Ok(())
}

fn number(variable: &str, default: u32) -> Result<u32, String> {
    match env::var(variable) {
        Ok(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("{variable}={v} is not a whole number")),
        Err(_) => Ok(default),
    }
}

/// The `st` program of `target/schemathesis-venv`, created (or refreshed when the pinned
/// requirements changed) first.
fn ensure_venv() -> Result<PathBuf, String> {
    let venv = root().join("target/schemathesis-venv");
    let requirements = root().join("tests/schemathesis/requirements.txt");
    let wanted = fs::read_to_string(&requirements)
        .map_err(|e| format!("cannot read {}: {e}", requirements.display()))?;
    let stamp = venv.join("jingxun-requirements.txt");
    let st = venv.join("bin/st");
    if st.exists() && fs::read_to_string(&stamp).is_ok_and(|have| have == wanted) {
        say(&format!(
            "schemathesis: reusing the Python environment {}",
            venv.display()
        ));
        return Ok(st);
    }
    let python = env::var("JINGXUN_PYTHON").unwrap_or_else(|_| "python3".into());
    if !venv.join("bin/pip").exists() {
        say(&format!(
            "schemathesis: creating a Python environment in {} with {python}",
            venv.display()
        ));
        let mut create = Command::new(&python);
        create.args(["-m", "venv"]).arg(&venv);
        status(create, &format!("{python} -m venv")).map_err(|e| {
            format!(
                "{e}: install Python 3.9 or newer with its venv module (Debian: python3-venv), \
                 or set JINGXUN_SKIP_SCHEMATHESIS=1 to skip this step"
            )
        })?;
    }
    say("schemathesis: installing the pinned version from PyPI (once)");
    let mut install = Command::new(venv.join("bin/pip"));
    install
        .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(&requirements);
    status(install, "pip install").map_err(|e| {
        format!("{e}: PyPI must be reachable, or set JINGXUN_SKIP_SCHEMATHESIS=1 to skip this step")
    })?;
    fs::write(&stamp, wanted).map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    Ok(st)
}

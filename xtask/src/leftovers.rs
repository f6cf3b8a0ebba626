//! What the test suite leaves running. The end-to-end tests start daemons, chromedriver and
//! headless Chromium; each test must end what it started, pass or fail. `cargo xtask test`
//! notes the processes of those programs before the run and, after it, looks for new ones that
//! are still alive: it ends them and fails the run, naming them, so a leak is fixed rather
//! than piling up orphaned browsers on the machine.
//!
//! Read from `/proc` (Linux), plain `std`.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

/// Process names (`/proc/PID/comm`, at most 15 bytes) of what the tests start.
const WATCHED: &[&str] = &["chromium", "chromedriver", "chrome_crashpad", "jingxun"];

/// How long processes that are ending anyway (a crash handler after its browser) get.
const GRACE: Duration = Duration::from_secs(10);

/// The watched processes alive at one moment, by pid.
pub struct Snapshot(BTreeSet<u32>);

/// The watched processes alive now.
pub fn snapshot() -> Snapshot {
    Snapshot(watched().into_iter().map(|(pid, _)| pid).collect())
}

/// Fails, after ending them, when watched processes started since `before` are still alive.
pub fn check(before: &Snapshot) -> Result<(), String> {
    let deadline = Instant::now() + GRACE;
    let mut left;
    loop {
        left = watched()
            .into_iter()
            .filter(|(pid, _)| !before.0.contains(pid))
            .collect::<Vec<_>>();
        if left.is_empty() || Instant::now() >= deadline {
            break;
        }
        sleep(Duration::from_millis(250));
    }
    if left.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = left.iter().map(|(pid, n)| format!("{n}[{pid}]")).collect();
    for (pid, _) in &left {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    }
    Err(format!(
        "the tests left {} process(es) running, now ended: {}; a test must end every daemon, \
         chromedriver and browser it starts, on failure too",
        left.len(),
        names.join(", ")
    ))
}

/// (pid, name) of the watched processes alive now.
fn watched() -> Vec<(u32, String)> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let comm =
                fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("comm")).ok()?;
            let comm = comm.trim();
            let ours = WATCHED.iter().any(|w| comm.starts_with(w))
                && (comm != "jingxun" || test_daemon(pid))
                && !zombie(pid);
            ours.then(|| (pid, comm.to_owned()))
        })
        .collect()
}

/// Whether the `jingxun` process `pid` runs the tests' debug build (a daemon the developer runs
/// from a release build or an installed package is none of the tests' business).
fn test_daemon(pid: u32) -> bool {
    let debug = super::root().join("target/debug/jingxun");
    fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == debug)
}

/// Whether `pid` has ended and only waits for its parent to reap it.
fn zombie(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let after_name = stat.rsplit_once(')')?.1;
            after_name.split_whitespace().next().map(|s| s == "Z")
        })
        .unwrap_or(true)
}

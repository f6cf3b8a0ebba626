//! Installing Debian packages the commands need (the wasm32 toolchain's second route, Chromium
//! for the browser tests, wrk for the API benchmark): `apt-get install` as root, or through
//! `sudo -n` when that works without a password; an `apt-get update` first only when the plain
//! install fails (a fresh machine has no package lists). Without either, the error says the
//! command to run.

use std::process::Command;

use crate::{say, status};

/// How apt-get can be run here, if at all.
fn apt_command() -> Option<Command> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if root {
        return Some(Command::new("apt-get"));
    }
    let sudo = Command::new("sudo")
        .args(["-n", "true"])
        .output()
        .is_ok_and(|o| o.status.success());
    sudo.then(|| {
        let mut c = Command::new("sudo");
        c.args(["-n", "apt-get"]);
        c
    })
}

/// Installs `packages` for `purpose` (said while it runs and in the error).
pub fn install(packages: &[&str], purpose: &str) -> Result<(), String> {
    let line = format!("apt-get install -y {}", packages.join(" "));
    let Some(_) = apt_command() else {
        return Err(format!(
            "{purpose} needs Debian packages: as root run `apt-get update && {line}`, then run this command again"
        ));
    };
    let run = |args: &[&str]| {
        let mut c = apt_command().expect("checked above");
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    say(&format!("{purpose}: {line}"));
    let mut install = vec!["install", "-y"];
    install.extend_from_slice(packages);
    if status(run(&install), "apt-get install").is_ok() {
        return Ok(());
    }
    say(&format!(
        "{purpose}: apt-get update, then the install again"
    ));
    status(run(&["update"]), "apt-get update")?;
    status(run(&install), "apt-get install")
        .map_err(|e| format!("{e}: install them yourself (`{line}`) and retry"))
}

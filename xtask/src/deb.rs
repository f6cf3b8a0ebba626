//! `cargo xtask deb [--check] [--release] [--no-build]`: the Debian package
//! `target/deb/jingxun_*.deb`.
//!
//! It holds `/usr/bin/jingxun`, the bundled plugins (`target/plugins/*.wasm`) in
//! `/usr/lib/jingxun/plugins`, the web admin's bundle (`target/site`) in `/usr/share/jingxun/site`,
//! the configuration `/etc/jingxun/jingxun.toml` (a conffile: `jingxun.example.toml` with the
//! package's paths, see [`packaged_config`]), the unit `jingxun.service` and the maintainer
//! scripts of `packaging/`. [cargo-deb](https://github.com/kornelski/cargo-deb) assembles it from
//! `[package.metadata.deb]` in `host/Cargo.toml`, from the binary this command builds first
//! (`--no-build`); it is installed once into `target/tools` when missing.
//!
//! `cargo xtask deb` packages the release binary. `--check` packages the debug binary (the one
//! `cargo xtask test` builds; `--release` for the release one), then inspects the package: its
//! files, conffiles, maintainer scripts and unit (`systemd-analyze verify` when present). As
//! root on Debian, when neither the package nor a `jingxun` user is on the machine already, it
//! also installs it with `dpkg -i`, checks the user, the folders and their modes, runs
//! `jingxun --version` and `config check` as that user, starts the service as the installed
//! unit says (see [`ServiceStart`]) and checks that it answers and stops cleanly, removes the
//! package (data kept) and purges it (data and user gone). `--no-build` packages the binary,
//! plugins and web bundle already built (what `cargo xtask test` does after its tests).
//!
//! Where systemd is not PID 1 (a container, a build machine) the unit cannot be started by
//! systemd itself. The check then runs the unit's `ExecStart=` line, read from the installed
//! unit file, as its `User=`/`Group=` with its `SupplementaryGroups=`, `WorkingDirectory=`,
//! `UMask=`, `Environment=` and the environment systemd gives a service, with
//! `NoNewPrivileges=` and an empty `CapabilityBoundingSet=` applied (`setpriv`), and reads back
//! from `/proc` that the daemon runs so; it stops it with `KillSignal=` within
//! `TimeoutStopSec=`. The rest of the sandboxing (`ProtectSystem=`, `PrivateTmp=`,
//! `DevicePolicy=`, `SystemCallFilter=`, ...) is systemd's own and is only checked as text and
//! by `systemd-analyze verify`, not enforced here.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::say;

/// Where the package and its generated configuration are written.
const OUT: &str = "target/deb";
/// The installed paths the package must contain.
const BINARY: &str = "usr/bin/jingxun";
const PLUGINS: &str = "usr/lib/jingxun/plugins";
const SITE: &str = "usr/share/jingxun/site";
const CONFIG: &str = "etc/jingxun/jingxun.toml";
const UNIT: &str = "lib/systemd/system/jingxun.service";
/// The data folder and the service's user.
const DATA: &str = "/var/lib/jingxun";
const USER: &str = "jingxun";

/// Which binary is packaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Profile {
    Release,
    Debug,
}

impl Profile {
    fn dir(self) -> &'static str {
        match self {
            Profile::Release => "release",
            Profile::Debug => "debug",
        }
    }
}

/// Runs `cargo xtask deb`. See the module documentation.
pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let mut check = false;
    let mut release = false;
    let mut build = true;
    for arg in args {
        match arg.as_str() {
            "--check" => check = true,
            "--release" => release = true,
            "--no-build" => build = false,
            other => {
                return Err(format!(
                    "unknown argument `{other}`: cargo xtask deb [--check] [--release] [--no-build]"
                ));
            }
        }
    }
    let profile = if check && !release {
        Profile::Debug
    } else {
        Profile::Release
    };
    let started = Instant::now();
    let binary = root.join("target").join(profile.dir()).join("jingxun");
    if build {
        crate::plugins::build(root, &[])?;
        crate::web::build(root)?;
        say(&format!("building the {} jingxun", profile.dir()));
        let mut command = crate::cargo();
        command.args(["build", "--package", "jingxun", "--bin", "jingxun"]);
        if profile == Profile::Release {
            command.arg("--release");
        }
        crate::status(command, "cargo build")?;
    } else if !binary.is_file() {
        return Err(format!(
            "{} is not built: build it (cargo build -p jingxun) or leave out --no-build",
            binary.display()
        ));
    }

    let out = root.join(OUT);
    fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let example = read(&root.join("jingxun.example.toml"))?;
    let config = out.join("jingxun.toml");
    write(&config, &packaged_config(&example)?)?;
    // The configuration must be one the daemon accepts before it is shipped.
    let checked = run_output(
        Command::new(&binary)
            .arg("--config")
            .arg(&config)
            .args(["config", "check"]),
    )?;
    expect_success(
        &checked,
        "jingxun config check of the packaged configuration",
    )?;

    let cargo_deb = ensure_cargo_deb(root)?;
    let deb = package(root, &cargo_deb, profile, check)?;
    say(&format!(
        "built {} in {:.0?}",
        deb.display(),
        started.elapsed()
    ));
    if check {
        inspect(root, &deb, &config)?;
        install_check(&deb)?;
        say(&format!(
            "cargo xtask deb --check passed in {:.0?}",
            started.elapsed()
        ));
    }
    Ok(())
}

/// `jingxun.example.toml` with the package's paths: the SQLite database (and with it the
/// plugin cache and the platform key) in [`DATA`], the bundled plugins and the web bundle where
/// the package puts them. Each change must apply exactly once, so that an example that changed
/// shape stops the build instead of shipping a wrong file.
pub fn packaged_config(example: &str) -> Result<String, String> {
    let mut text = String::from(
        "# /etc/jingxun/jingxun.toml, installed by the jingxun package (a conffile: your changes\n\
         # are kept on upgrades). The jingxun service reads it as user jingxun; its data is in\n\
         # /var/lib/jingxun. `jingxun --config /etc/jingxun/jingxun.toml config check` checks it.\n\
         #\n",
    );
    text.push_str(example);
    let replacements: [(&str, String); 3] = [
        (
            "url = \"sqlite://jingxun.db\"",
            format!("url = \"sqlite://{DATA}/jingxun.db\""),
        ),
        (
            "# bundled_dir = ",
            format!("bundled_dir = \"/{PLUGINS}\"        # *.wasm installed into a fresh database"),
        ),
        (
            "# site_dir = ",
            format!(
                "site_dir = \"/{SITE}\"         # the browser bundle (pkg/jingxun_web.js, .wasm)"
            ),
        ),
    ];
    for (from, to) in replacements {
        let lines: Vec<usize> = text
            .lines()
            .enumerate()
            .filter(|(_, line)| line.trim_start().starts_with(from))
            .map(|(i, _)| i)
            .collect();
        let [line] = lines[..] else {
            return Err(format!(
                "jingxun.example.toml has {} lines starting with `{from}` (expected one): update packaged_config in xtask/src/deb.rs",
                lines.len()
            ));
        };
        text = text
            .lines()
            .enumerate()
            .map(|(i, l)| if i == line { to.as_str() } else { l })
            .collect::<Vec<_>>()
            .join("\n");
        text.push('\n');
    }
    Ok(text)
}

/// `target/tools/bin/cargo-deb`, installed with `cargo install cargo-deb --locked` when missing.
fn ensure_cargo_deb(root: &Path) -> Result<PathBuf, String> {
    let tools = root.join("target/tools");
    let binary = tools.join("bin/cargo-deb");
    let works = |b: &Path| {
        Command::new(b)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if works(&binary) {
        return Ok(binary);
    }
    say(
        "installing cargo-deb into target/tools (cargo install cargo-deb --locked): once, a minute or two",
    );
    let mut install = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    install
        .args(["install", "cargo-deb", "--locked", "--root"])
        .arg(&tools);
    crate::status(install, "cargo install cargo-deb")?;
    if works(&binary) {
        Ok(binary)
    } else {
        Err(format!(
            "{} does not run after its install",
            binary.display()
        ))
    }
}

/// Runs cargo-deb on the built binary; returns the package's path.
fn package(root: &Path, cargo_deb: &Path, profile: Profile, fast: bool) -> Result<PathBuf, String> {
    say(&format!(
        "packaging the {} binary with cargo-deb into {OUT}",
        profile.dir()
    ));
    let mut command = Command::new(cargo_deb);
    command
        .current_dir(root)
        .args(["--package", "jingxun", "--no-build", "--strip", "--output"])
        .arg(root.join(OUT));
    if profile == Profile::Debug {
        // cargo-deb packages only `target/release/` products (it refuses a debug profile). The
        // check's package is thrown away, so the debug binary is given to it as a release one,
        // in a target directory of its own: the real target/release is left alone.
        let stage = root.join(OUT).join("stage");
        let release = stage.join("release");
        fs::create_dir_all(&release)
            .map_err(|e| format!("cannot create {}: {e}", release.display()))?;
        fs::copy(root.join("target/debug/jingxun"), release.join("jingxun"))
            .map_err(|e| format!("cannot stage the debug binary: {e}"))?;
        command.env("CARGO_TARGET_DIR", &stage);
    }
    if fast {
        // The checked package is thrown away: quicker compression.
        command.arg("--fast");
    }
    command.stderr(Stdio::inherit());
    let output = run_output(&mut command);
    // The staged copy of the debug binary is half a gigabyte.
    let _ = fs::remove_dir_all(root.join(OUT).join("stage"));
    let output = output?;
    expect_success(&output, "cargo-deb")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.ends_with(".deb"))
        .map(PathBuf::from)
        .filter(|p| p.exists())
        .ok_or_else(|| format!("cargo-deb printed no package path: {stdout}"))
}

/// Checks what the package holds without installing it.
fn inspect(root: &Path, deb: &Path, config: &Path) -> Result<(), String> {
    say("checking the package's files (dpkg-deb -c)");
    let listing = dpkg_deb(&["-c"], deb)?;
    let entries: Vec<(&str, &str)> = listing
        .lines()
        .filter_map(|l| {
            let mode = l.split_whitespace().next()?;
            let path = l.split_whitespace().last()?;
            Some((mode, path.trim_start_matches("./").trim_end_matches('/')))
        })
        .collect();
    let has = |path: &str| entries.iter().find(|(_, p)| *p == path).map(|(m, _)| *m);
    let mut expected: Vec<String> = [BINARY, CONFIG, UNIT]
        .iter()
        .map(|p| p.to_string())
        .collect();
    for name in ["jingxun_web.js", "jingxun_web_bg.wasm"] {
        expected.push(format!("{SITE}/pkg/{name}"));
    }
    let plugins = wasm_files(&root.join("target/plugins"))?;
    if plugins.is_empty() {
        return Err("target/plugins has no *.wasm: `cargo xtask plugins` built nothing".into());
    }
    for name in &plugins {
        expected.push(format!("{PLUGINS}/{name}"));
    }
    for path in &expected {
        if has(path).is_none() {
            return Err(format!("the package lacks /{path}; it holds:\n{listing}"));
        }
    }
    if has(BINARY) != Some("-rwxr-xr-x") {
        return Err(format!("/{BINARY} is not mode 0755:\n{listing}"));
    }
    if entries.iter().any(|(_, p)| p.contains("fixtures")) {
        return Err(format!("the package holds test plugins:\n{listing}"));
    }

    say("checking the control files (dpkg-deb -e): conffiles, maintainer scripts");
    let scratch = root.join(OUT).join("check");
    let _ = fs::remove_dir_all(&scratch);
    fs::create_dir_all(&scratch)
        .map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    let control = scratch.join("control");
    let tree = scratch.join("tree");
    dpkg_deb_into(&["-e"], deb, &control)?;
    dpkg_deb_into(&["-x"], deb, &tree)?;
    let conffiles = read(&control.join("conffiles"))?;
    if !conffiles.lines().any(|l| l.trim() == format!("/{CONFIG}")) {
        return Err(format!("/{CONFIG} is not a conffile: {conffiles}"));
    }
    let fields = read(&control.join("control"))?;
    if !fields
        .lines()
        .any(|l| l.starts_with("Depends:") && l.contains("adduser"))
    {
        return Err(format!("the package does not depend on adduser:\n{fields}"));
    }
    for script in ["postinst", "prerm", "postrm"] {
        let path = control.join(script);
        let shipped = fs::read(&path).map_err(|e| format!("the package has no {script}: {e}"))?;
        let source = fs::read(root.join("packaging").join(script))
            .map_err(|e| format!("cannot read packaging/{script}: {e}"))?;
        if shipped != source {
            return Err(format!(
                "the package's {script} differs from packaging/{script}"
            ));
        }
        let mode = fs::metadata(&path)
            .map(|m| m.permissions().mode())
            .unwrap_or(0);
        if mode & 0o111 == 0 {
            return Err(format!("the package's {script} is not executable"));
        }
        let syntax = run_output(Command::new("sh").arg("-n").arg(&path))?;
        expect_success(&syntax, &format!("sh -n {script}"))?;
    }
    let postinst = read(&control.join("postinst"))?;
    for needed in [
        "adduser --system --group --home /var/lib/jingxun",
        "adduser --quiet jingxun dialout",
        "-m 0750 /var/lib/jingxun",
        "systemctl enable jingxun.service",
    ] {
        if !postinst.contains(needed) {
            return Err(format!("postinst does not run `{needed}`"));
        }
    }
    let postrm: String = read(&control.join("postrm"))?
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let purge = postrm
        .split("purge)")
        .nth(1)
        .and_then(|rest| rest.split(";;").next())
        .unwrap_or_default();
    if !purge.contains("rm -rf /var/lib/jingxun") {
        return Err("postrm does not remove /var/lib/jingxun on purge".into());
    }
    if postrm.matches("/var/lib/jingxun").count() != purge.matches("/var/lib/jingxun").count() {
        return Err("postrm touches /var/lib/jingxun outside purge".into());
    }

    say("checking the unit and the configuration as packaged");
    let unit = read(&tree.join(UNIT))?;
    if unit != read(&root.join("packaging/jingxun.service"))? {
        return Err(format!("/{UNIT} differs from packaging/jingxun.service"));
    }
    if read(&tree.join(CONFIG))? != read(config)? {
        return Err(format!("/{CONFIG} differs from {}", config.display()));
    }
    check_unit_text(&unit)?;
    // Verified against the packaged binary: systemd-analyze wants ExecStart= to exist.
    let local_unit = scratch.join("jingxun.service");
    write(
        &local_unit,
        &unit.replace(
            "ExecStart=/usr/bin/jingxun ",
            &format!("ExecStart={} ", tree.join(BINARY).display()),
        ),
    )?;
    systemd_verify(&local_unit)?;
    let version = run_output(Command::new(tree.join(BINARY)).arg("--version"))?;
    expect_success(&version, "the packaged jingxun --version")?;
    let _ = fs::remove_dir_all(&scratch);
    Ok(())
}

/// The unit's sandboxing, as the platform needs it.
pub fn check_unit_text(unit: &str) -> Result<(), String> {
    let lines: Vec<&str> = unit
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for needed in [
        "User=jingxun",
        "SupplementaryGroups=dialout",
        "ExecStart=/usr/bin/jingxun --config /etc/jingxun/jingxun.toml serve",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "PrivateDevices=no",
        "DeviceAllow=char-ttyUSB rw",
        "DeviceAllow=char-ttyACM rw",
        "DeviceAllow=char-ttyS rw",
        "ReadWritePaths=/var/lib/jingxun",
        "CapabilityBoundingSet=",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "SystemCallFilter=@system-service",
        "Restart=on-failure",
    ] {
        if !lines.contains(&needed) {
            return Err(format!("jingxun.service lacks `{needed}`"));
        }
    }
    if lines
        .iter()
        .any(|l| l.starts_with("MemoryDenyWriteExecute"))
    {
        return Err(
            "jingxun.service sets MemoryDenyWriteExecute: wasmtime's JIT cannot compile plugins then"
                .into(),
        );
    }
    Ok(())
}

/// `systemd-analyze verify UNIT`, which must print nothing; skipped with a note without it.
pub fn systemd_verify(unit: &Path) -> Result<(), String> {
    let Ok(output) = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(unit)
        .output()
    else {
        say("systemd-analyze is not installed: the unit is not verified (apt-get install systemd)");
        return Ok(());
    };
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if !output.status.success() || !said.trim().is_empty() {
        return Err(format!(
            "systemd-analyze verify {}: {}",
            unit.display(),
            said.trim()
        ));
    }
    say(&format!(
        "systemd-analyze verify: {} is clean",
        unit.display()
    ));
    Ok(())
}

/// Installs, uses, removes and purges the package, as root on Debian only, and only when the
/// machine has neither the package nor a `jingxun` user (which the purge would delete).
fn install_check(deb: &Path) -> Result<(), String> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root || !Path::new("/etc/debian_version").exists() {
        say(
            "not root on Debian: the install check (dpkg -i, the service user, dpkg --purge) is skipped",
        );
        return Ok(());
    }
    // Two checks at once on one machine (two test runs) would install and purge under each
    // other: the second waits for the first.
    let lock_path = Path::new("/run/lock/jingxun-deb-check.lock");
    let lock = fs::File::create(lock_path)
        .and_then(|file| file.lock().map(|()| file))
        .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    let result = install_check_locked(deb);
    drop(lock);
    result
}

/// [`install_check`] once it holds the machine's lock.
fn install_check_locked(deb: &Path) -> Result<(), String> {
    let installed = Command::new("dpkg")
        .args(["-s", "jingxun"])
        .output()
        .is_ok_and(|o| o.status.success());
    if installed || getent("passwd", USER).is_some() || Path::new(DATA).exists() {
        say(&format!(
            "this machine already has the jingxun package, a `{USER}` user or {DATA}: the install check, which would purge them, is skipped"
        ));
        return Ok(());
    }
    say(&format!("installing {} (dpkg -i)", deb.display()));
    let result = installed_checks(deb);
    say("purging the package (dpkg --purge jingxun)");
    let purged = dpkg(&["--purge", "jingxun"]);
    result?;
    purged?;
    if getent("passwd", USER).is_some() || getent("group", USER).is_some() {
        return Err(format!(
            "the user or group `{USER}` is left after the purge"
        ));
    }
    for left in [DATA, "/etc/jingxun", "/usr/bin/jingxun", "/usr/lib/jingxun"] {
        if Path::new(left).exists() {
            return Err(format!("{left} is left after the purge"));
        }
    }
    say("the purge removed the user, the data and the files");
    Ok(())
}

/// The checks between `dpkg -i` and the purge.
fn installed_checks(deb: &Path) -> Result<(), String> {
    dpkg(&["-i", &deb.display().to_string()])?;
    let passwd = getent("passwd", USER).ok_or(format!("dpkg -i created no user `{USER}`"))?;
    let fields: Vec<&str> = passwd.trim().split(':').collect();
    if fields.get(5) != Some(&DATA) {
        return Err(format!("the user's home is not {DATA}: {passwd}"));
    }
    let uid: u32 = fields.get(2).and_then(|u| u.parse().ok()).unwrap_or(0);
    if uid == 0 || uid >= 1000 {
        return Err(format!("`{USER}` is not a system user: {passwd}"));
    }
    let groups = run_output(Command::new("id").args(["-nG", USER]))?;
    if !String::from_utf8_lossy(&groups.stdout)
        .split_whitespace()
        .any(|g| g == "dialout")
    {
        return Err(format!(
            "`{USER}` is not in group dialout (the serial ports)"
        ));
    }
    expect_owner_mode(DATA, USER, USER, 0o750)?;
    expect_owner_mode("/etc/jingxun/jingxun.toml", "root", USER, 0o640)?;
    systemd_verify(Path::new(&format!("/{UNIT}")))?;

    let version = as_user(&["/usr/bin/jingxun", "--version"])?;
    expect_success(&version, "jingxun --version as jingxun")?;
    let config = ["--config", "/etc/jingxun/jingxun.toml"];
    let checked = as_user(&[&["/usr/bin/jingxun"], &config[..], &["config", "check"]].concat())?;
    expect_success(&checked, "jingxun config check as jingxun")?;
    say("jingxun --version and config check run as jingxun");
    let unit = read(Path::new(&format!("/{UNIT}")))?;
    let start = ServiceStart::from_unit(&unit)?;
    if Path::new("/run/systemd/system").is_dir() {
        say(
            "systemd runs this machine, but the check starts the unit's command itself: it must not start or stop a service of the machine's",
        );
    }
    serve_as_the_unit(&start)?;
    expect_owner_mode(&format!("{DATA}/jingxun.db"), USER, USER, 0o640)
        .or_else(|_| expect_owner_mode(&format!("{DATA}/jingxun.db"), USER, USER, 0o600))?;

    dpkg(&["-r", "jingxun"])?;
    if getent("passwd", USER).is_none() || !Path::new(&format!("{DATA}/jingxun.db")).exists() {
        return Err("dpkg -r removed the user or the data; only a purge may".into());
    }
    if !Path::new("/etc/jingxun/jingxun.toml").exists() {
        return Err("dpkg -r removed the configuration; only a purge may".into());
    }
    say("dpkg -r kept the user, the data and the configuration");
    Ok(())
}

/// How systemd starts the unit's service, read from its unit file: what the check runs where
/// systemd cannot (see the module documentation). Settings that change what is run and that
/// the check does not reproduce are refused rather than ignored, so that a unit that grows
/// one makes the check grow too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceStart {
    /// `ExecStart=`, split into words.
    pub command: Vec<String>,
    /// `User=`.
    pub user: String,
    /// `Group=` (the user's own group when unset).
    pub group: Option<String>,
    /// `SupplementaryGroups=`.
    pub supplementary_groups: Vec<String>,
    /// `WorkingDirectory=`.
    pub working_directory: Option<String>,
    /// `UMask=` (octal; systemd's default 0022 when unset).
    pub umask: u32,
    /// `Environment=` assignments, in order.
    pub environment: Vec<(String, String)>,
    /// `NoNewPrivileges=yes`.
    pub no_new_privileges: bool,
    /// `CapabilityBoundingSet=` set empty: no capability at all.
    pub no_capabilities: bool,
    /// `KillSignal=` without its `SIG` (systemd's default `TERM` when unset).
    pub kill_signal: String,
    /// `TimeoutStopSec=` (systemd's default 90 s when unset).
    pub timeout_stop: Duration,
}

/// `[Service]` settings that change what is started, or how, which [`ServiceStart`] does not
/// reproduce.
const NOT_REPRODUCED: &[&str] = &[
    "EnvironmentFile",
    "PassEnvironment",
    "UnsetEnvironment",
    "ExecStartPre",
    "ExecStartPost",
    "ExecCondition",
    "RootDirectory",
    "RootImage",
    "DynamicUser",
    "LoadCredential",
    "SetCredential",
    "StandardInput",
];

impl ServiceStart {
    /// Reads the `[Service]` section of `unit`.
    pub fn from_unit(unit: &str) -> Result<ServiceStart, String> {
        let mut section = String::new();
        let mut command = None;
        let mut start = ServiceStart {
            command: Vec::new(),
            user: String::new(),
            group: None,
            supplementary_groups: Vec::new(),
            working_directory: None,
            umask: 0o022,
            environment: Vec::new(),
            no_new_privileges: false,
            no_capabilities: false,
            kill_signal: "TERM".into(),
            timeout_stop: Duration::from_secs(90),
        };
        for line in unit.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if line.ends_with('\\') {
                return Err(format!(
                    "the unit continues a line with a backslash, which the check does not read: {line}"
                ));
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = name.to_owned();
                continue;
            }
            if section != "Service" {
                continue;
            }
            let (key, value) = line
                .split_once('=')
                .map(|(k, v)| (k.trim(), v.trim()))
                .ok_or(format!("the unit has a line that is no setting: {line}"))?;
            if NOT_REPRODUCED.contains(&key) {
                return Err(format!(
                    "the unit sets {key}=, which the check does not reproduce: extend ServiceStart in xtask/src/deb.rs"
                ));
            }
            let plain = |what: &str| {
                if value.contains(['"', '\'', '\\', '%', '$']) {
                    Err(format!(
                        "the unit's {what} uses quotes, escapes, specifiers or variables, which the check does not expand: {line}"
                    ))
                } else {
                    Ok(value.split_whitespace().map(str::to_owned))
                }
            };
            match key {
                "ExecStart" => {
                    if command.is_some() {
                        return Err("the unit has more than one ExecStart=".into());
                    }
                    if value.starts_with(['-', '@', ':', '+', '!']) {
                        return Err(format!(
                            "the unit's ExecStart= has a prefix the check does not reproduce: {line}"
                        ));
                    }
                    command = Some(plain("ExecStart=")?.collect::<Vec<_>>());
                }
                "User" => start.user = value.to_owned(),
                "Group" => start.group = Some(value.to_owned()).filter(|g| !g.is_empty()),
                "SupplementaryGroups" if value.is_empty() => start.supplementary_groups.clear(),
                "SupplementaryGroups" => start
                    .supplementary_groups
                    .extend(plain("SupplementaryGroups=")?),
                "WorkingDirectory" => {
                    if !value.starts_with('/') {
                        return Err(format!(
                            "the unit's WorkingDirectory= is not an absolute path, which the check does not reproduce: {line}"
                        ));
                    }
                    start.working_directory = Some(value.to_owned());
                }
                "UMask" => {
                    start.umask = u32::from_str_radix(value, 8)
                        .map_err(|_| format!("the unit's UMask= is not octal: {line}"))?;
                }
                "Environment" => {
                    for assignment in plain("Environment=")? {
                        let (name, value) = assignment
                            .split_once('=')
                            .ok_or(format!("the unit's Environment= has no `=`: {line}"))?;
                        start.environment.push((name.to_owned(), value.to_owned()));
                    }
                }
                "NoNewPrivileges" => start.no_new_privileges = yes(value, line)?,
                "CapabilityBoundingSet" => start.no_capabilities = value.is_empty(),
                "KillSignal" => {
                    start.kill_signal = value.trim_start_matches("SIG").to_owned();
                }
                "TimeoutStopSec" => start.timeout_stop = seconds(value, line)?,
                _ => {}
            }
        }
        start.command = command.ok_or("the unit has no ExecStart=")?;
        if start.user.is_empty() || start.user == "root" || start.user == "0" {
            return Err("the unit runs its service as root (no User=)".into());
        }
        Ok(start)
    }

    /// The environment systemd gives the service: its default `PATH` (Debian's), the user's
    /// `HOME`, `USER`, `LOGNAME` and `SHELL` (from `passwd`), then the unit's `Environment=`.
    fn environment(&self, passwd: &str) -> Vec<(String, String)> {
        let fields: Vec<&str> = passwd.split(':').collect();
        let mut environment: Vec<(String, String)> = vec![
            (
                "PATH".into(),
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
            ),
            ("HOME".into(), fields.get(5).unwrap_or(&"/").to_string()),
            ("USER".into(), self.user.clone()),
            ("LOGNAME".into(), self.user.clone()),
            (
                "SHELL".into(),
                fields.get(6).unwrap_or(&"/bin/sh").to_string(),
            ),
        ];
        for (name, value) in &self.environment {
            environment.retain(|(n, _)| n != name);
            environment.push((name.clone(), value.clone()));
        }
        environment
    }
}

/// A systemd boolean.
fn yes(value: &str, line: &str) -> Result<bool, String> {
    match value {
        "yes" | "true" | "on" | "1" => Ok(true),
        "no" | "false" | "off" | "0" => Ok(false),
        _ => Err(format!(
            "the unit has a boolean the check does not read: {line}"
        )),
    }
}

/// A systemd time span in the forms the unit may use: `75`, `75s`, `2min`, `2min 30s`.
fn seconds(value: &str, line: &str) -> Result<Duration, String> {
    let mut total = 0;
    for part in value.split_whitespace() {
        let digits = part.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        let number: u64 = digits
            .parse()
            .map_err(|_| format!("the unit has a time span the check does not read: {line}"))?;
        total += match &part[digits.len()..] {
            "" | "s" | "sec" => number,
            "min" | "m" => number * 60,
            _ => {
                return Err(format!(
                    "the unit has a time span the check does not read: {line}"
                ));
            }
        };
    }
    Ok(Duration::from_secs(total))
}

/// Starts the service as `start` says, where systemd cannot (see the module documentation),
/// on a free port (the one change to the unit: the configured one may be in use on this
/// machine; the configured modem need not exist): checks from `/proc` that the daemon runs as
/// the unit says, that it answers `/healthz`, installed the bundled plugins from the package's
/// folder and serves the web bundle from it; then stops it with the unit's signal, which must
/// end it cleanly within the unit's stop timeout.
fn serve_as_the_unit(start: &ServiceStart) -> Result<(), String> {
    let passwd = getent("passwd", &start.user)
        .ok_or(format!("the unit's User={} does not exist", start.user))?;
    let uid = id_of("passwd", &start.user)?;
    let group = start.group.clone().unwrap_or_else(|| start.user.clone());
    let gid = id_of("group", &group)?;
    // systemd gives the user's groups (initgroups) and the unit's supplementary ones.
    let ids = run_output(Command::new("id").args(["-G", &start.user]))?;
    expect_success(&ids, "id -G")?;
    let mut groups: Vec<u32> = String::from_utf8_lossy(&ids.stdout)
        .split_whitespace()
        .filter_map(|g| g.parse().ok())
        .collect();
    for name in &start.supplementary_groups {
        groups.push(id_of("group", name)?);
    }
    groups.sort_unstable();
    groups.dedup();

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))?;
    let address = format!("127.0.0.1:{port}");
    let log_path =
        std::env::temp_dir().join(format!("jingxun-deb-check-{}.log", std::process::id()));
    let log = fs::File::create(&log_path).map_err(|e| format!("cannot create a log: {e}"))?;
    let mut command = Command::new("setpriv");
    command
        .arg(format!("--reuid={uid}"))
        .arg(format!("--regid={gid}"))
        .arg(format!(
            "--groups={}",
            groups
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ));
    if start.no_new_privileges {
        command.arg("--no-new-privs");
    }
    if start.no_capabilities {
        command.args(["--bounding-set=-all", "--inh-caps=-all"]);
    }
    // The umask is set by a shell that then becomes the daemon (std cannot set one).
    command
        .args([
            "--",
            "/bin/sh",
            "-c",
            &format!("umask {:04o} && exec \"$0\" \"$@\"", start.umask),
        ])
        .args(&start.command)
        .env_clear()
        .envs(start.environment(&passwd))
        .env("JINGXUN_HTTP__LISTEN", &address)
        .current_dir(start.working_directory.as_deref().unwrap_or("/"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log);
    say(&format!(
        "starting the service as its unit says (systemd is not PID 1 here): {} as {}:{group}, listening on {address}",
        start.command.join(" "),
        start.user
    ));
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot run the unit's ExecStart= with setpriv: {e}"))?;
    let pid = child.id();
    let result = (|| {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some((status, _)) = http_get(&address, "/healthz")
                && status == 200
            {
                break;
            }
            if Instant::now() > deadline || child.try_wait().ok().flatten().is_some() {
                return Err(
                    "the service (the unit's ExecStart=, from the package) did not answer /healthz"
                        .to_string(),
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        check_process(pid, start, uid, gid, &groups)?;
        match http_get(&address, "/pkg/jingxun_web.js") {
            Some((200, _)) => {}
            other => {
                return Err(format!(
                    "the web bundle is not served from /{SITE}: {:?}",
                    other.map(|(s, _)| s)
                ));
            }
        }
        let log = fs::read_to_string(&log_path).unwrap_or_default();
        let commands = log
            .lines()
            .find(|l| l.contains("plugin commands ready"))
            .unwrap_or_default();
        if !commands.contains("CP") {
            return Err(format!(
                "the bundled plugins were not installed from /{PLUGINS}: {commands}"
            ));
        }
        Ok(())
    })();
    let stopped = stop(&mut child, start);
    if result.is_err() || stopped.is_err() {
        eprintln!(
            "--- the service's log ---\n{}",
            fs::read_to_string(&log_path).unwrap_or_default()
        );
    }
    let _ = fs::remove_file(&log_path);
    result?;
    stopped?;
    say(&format!(
        "the service ran as the unit says: as {} in {} with umask {:04o}, /healthz up, plugins from the package, web bundle served; KillSignal=SIG{} stopped it cleanly",
        start.user,
        start.working_directory.as_deref().unwrap_or("/"),
        start.umask,
        start.kill_signal
    ));
    Ok(())
}

/// Reads back from `/proc/PID` that the daemon runs as the unit says.
fn check_process(
    pid: u32,
    start: &ServiceStart,
    uid: u32,
    gid: u32,
    groups: &[u32],
) -> Result<(), String> {
    let proc = PathBuf::from(format!("/proc/{pid}"));
    let executable = fs::read_link(proc.join("exe")).map_err(|e| format!("{pid}: {e}"))?;
    if Path::new(&start.command[0]) != executable {
        return Err(format!(
            "the service runs {}, not the unit's {}",
            executable.display(),
            start.command[0]
        ));
    }
    let status = read(&proc.join("status"))?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| {
                l.strip_prefix(name)
                    .map(|v| v.split_whitespace().collect::<Vec<_>>())
            })
            .unwrap_or_default()
    };
    let four = |id: u32| vec![id.to_string(); 4];
    let mut expected_groups: Vec<String> = groups.iter().map(u32::to_string).collect();
    expected_groups.sort();
    let mut running_groups = field("Groups:");
    running_groups.sort();
    let mut wrong = Vec::new();
    if field("Uid:") != four(uid) {
        wrong.push(format!("uids {:?}, not {uid}", field("Uid:")));
    }
    if field("Gid:") != four(gid) {
        wrong.push(format!("gids {:?}, not {gid}", field("Gid:")));
    }
    if running_groups != expected_groups {
        wrong.push(format!(
            "groups {running_groups:?}, not {expected_groups:?}"
        ));
    }
    if field("Umask:") != [format!("{:04o}", start.umask)] {
        wrong.push(format!(
            "umask {:?}, not {:04o}",
            field("Umask:"),
            start.umask
        ));
    }
    if start.no_new_privileges && field("NoNewPrivs:") != ["1"] {
        wrong.push("new privileges allowed".into());
    }
    if start.no_capabilities && field("CapBnd:") != ["0000000000000000"] {
        wrong.push(format!(
            "capabilities {:?} in its bounding set",
            field("CapBnd:")
        ));
    }
    if let Some(folder) = &start.working_directory {
        let cwd = fs::read_link(proc.join("cwd")).map_err(|e| format!("{pid}: {e}"))?;
        if cwd != Path::new(folder) {
            wrong.push(format!("working directory {}, not {folder}", cwd.display()));
        }
    }
    let environ = fs::read(proc.join("environ")).map_err(|e| format!("{pid}: {e}"))?;
    let environ = String::from_utf8_lossy(&environ);
    for (name, value) in &start.environment {
        if !environ
            .split('\0')
            .any(|entry| entry == format!("{name}={value}"))
        {
            wrong.push(format!("no {name}={value} in its environment"));
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the service does not run as its unit says: {}",
            wrong.join("; ")
        ))
    }
}

/// Sends the unit's `KillSignal=` and waits `TimeoutStopSec=` for the daemon to end, which it
/// must do cleanly: exit status 0, or death by that signal (what systemd counts as a clean
/// stop); after the timeout it is killed, and that is a failure.
fn stop(child: &mut std::process::Child, start: &ServiceStart) -> Result<(), String> {
    use std::os::unix::process::ExitStatusExt;
    let pid = child.id().to_string();
    let sent = run_output(Command::new("kill").args(["-s", &start.kill_signal, &pid]))?;
    expect_success(&sent, &format!("kill -s {} {pid}", start.kill_signal))?;
    let deadline = Instant::now() + start.timeout_stop;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let signal = status.signal().map(|n| {
                    let named = run_output(Command::new("kill").args(["-l", &n.to_string()]));
                    named.map_or_else(
                        |_| String::new(),
                        |o| String::from_utf8_lossy(&o.stdout).trim().to_owned(),
                    )
                });
                return if status.success() || signal.as_deref() == Some(&start.kill_signal) {
                    Ok(())
                } else {
                    Err(format!(
                        "the service did not stop cleanly on SIG{}: {status}",
                        start.kill_signal
                    ))
                };
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the service did not stop within TimeoutStopSec={}s of SIG{}",
                    start.timeout_stop.as_secs(),
                    start.kill_signal
                ));
            }
        }
    }
}

/// A minimal HTTP/1.0 GET: the status and the body.
fn http_get(address: &str, path: &str) -> Option<(u16, String)> {
    let mut stream = std::net::TcpStream::connect(address).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let text = String::from_utf8_lossy(&response);
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())?;
    Some((status, body))
}

fn as_user(args: &[&str]) -> Result<Output, String> {
    run_output(
        Command::new("runuser")
            .args(["-u", USER, "--"])
            .args(args)
            .current_dir(DATA),
    )
}

fn expect_owner_mode(path: &str, user: &str, group: &str, mode: u32) -> Result<(), String> {
    let meta = fs::metadata(path).map_err(|e| format!("{path}: {e}"))?;
    let uid = id_of("passwd", user)?;
    let gid = id_of("group", group)?;
    if meta.uid() != uid || meta.gid() != gid || meta.mode() & 0o7777 != mode {
        return Err(format!(
            "{path} is uid {} gid {} mode {:o}; expected {user}:{group} {mode:o}",
            meta.uid(),
            meta.gid(),
            meta.mode() & 0o7777
        ));
    }
    Ok(())
}

fn id_of(database: &str, name: &str) -> Result<u32, String> {
    getent(database, name)
        .and_then(|line| line.split(':').nth(2).and_then(|id| id.parse().ok()))
        .ok_or(format!("no {database} entry `{name}`"))
}

fn getent(database: &str, name: &str) -> Option<String> {
    Command::new("getent")
        .args([database, name])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
}

fn dpkg(args: &[&str]) -> Result<(), String> {
    let mut command = Command::new("dpkg");
    command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
    crate::status(command, &format!("dpkg {}", args.join(" ")))
}

fn dpkg_deb(args: &[&str], deb: &Path) -> Result<String, String> {
    let output = run_output(Command::new("dpkg-deb").args(args).arg(deb))?;
    expect_success(&output, &format!("dpkg-deb {}", args.join(" ")))?;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn dpkg_deb_into(args: &[&str], deb: &Path, dir: &Path) -> Result<(), String> {
    let output = run_output(Command::new("dpkg-deb").args(args).arg(deb).arg(dir))?;
    expect_success(&output, &format!("dpkg-deb {}", args.join(" ")))
}

fn wasm_files(dir: &Path) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".wasm"))
        .collect();
    names.sort();
    Ok(names)
}

fn run_output(command: &mut Command) -> Result<Output, String> {
    command
        .output()
        .map_err(|e| format!("cannot run {:?}: {e}", command.get_program()))
}

fn expect_success(output: &Output, what: &str) -> Result<(), String> {
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr),
            String::from_utf8_lossy(&output.stdout)
        ))
    }
}

fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repository() -> PathBuf {
        crate::root()
    }

    #[test]
    fn the_packaged_configuration_keeps_data_in_var_lib_and_finds_the_packaged_files() {
        let example = read(&repository().join("jingxun.example.toml")).unwrap();
        let config = packaged_config(&example).unwrap();
        assert!(config.contains("\nurl = \"sqlite:///var/lib/jingxun/jingxun.db\"\n"));
        assert!(config.contains("\nbundled_dir = \"/usr/lib/jingxun/plugins\""));
        assert!(config.contains("\nsite_dir = \"/usr/share/jingxun/site\""));
        assert!(!config.contains("sqlite://jingxun.db"));
        assert_eq!(
            config.lines().count(),
            example.lines().count() + 4,
            "only the header is added"
        );
        let err = packaged_config("[database]\n").unwrap_err();
        assert!(err.contains("sqlite://jingxun.db"), "{err}");
    }

    #[test]
    fn the_unit_is_sandboxed_and_leaves_the_plugin_jit_working() {
        let unit = read(&repository().join("packaging/jingxun.service")).unwrap();
        check_unit_text(&unit).unwrap();
        let with_mdwe = format!("{unit}\n[Service]\nMemoryDenyWriteExecute=yes\n");
        assert!(check_unit_text(&with_mdwe).is_err());
    }

    /// `systemd-analyze verify` on the unit, with ExecStart= pointing at an executable that
    /// exists here (verify refuses a missing one); skipped with a note without systemd-analyze.
    #[test]
    fn the_unit_passes_systemd_analyze_verify() {
        if Command::new("systemd-analyze")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("systemd-analyze is not installed: the unit is not verified");
            return;
        }
        let unit = read(&repository().join("packaging/jingxun.service")).unwrap();
        let dir = std::env::temp_dir().join(format!("jingxun-unit-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("jingxun.service");
        write(
            &path,
            &unit.replace("ExecStart=/usr/bin/jingxun ", "ExecStart=/bin/true "),
        )
        .unwrap();
        let verified = systemd_verify(&path);
        let _ = fs::remove_dir_all(&dir);
        verified.unwrap();
    }

    #[test]
    fn the_service_is_started_as_the_packaged_unit_says() {
        let unit = read(&repository().join("packaging/jingxun.service")).unwrap();
        let start = ServiceStart::from_unit(&unit).unwrap();
        assert_eq!(
            start.command,
            [
                "/usr/bin/jingxun",
                "--config",
                "/etc/jingxun/jingxun.toml",
                "serve"
            ]
        );
        assert_eq!(start.user, "jingxun");
        assert_eq!(start.group.as_deref(), Some("jingxun"));
        assert_eq!(start.supplementary_groups, ["dialout"]);
        assert_eq!(start.working_directory.as_deref(), Some(DATA));
        assert_eq!(start.umask, 0o027);
        assert!(start.no_new_privileges && start.no_capabilities);
        assert_eq!(start.kill_signal, "TERM");
        assert_eq!(start.timeout_stop, Duration::from_secs(75));
    }

    #[test]
    fn the_service_gets_systemds_environment_and_the_units_own() {
        let unit = "[Unit]\nDescription=x\n[Service]\nUser=svc\nExecStart=/bin/true\n\
                    Environment=A=1 B=2\nEnvironment=HOME=/elsewhere\n";
        let start = ServiceStart::from_unit(unit).unwrap();
        assert_eq!(
            start.environment,
            [
                ("A".to_owned(), "1".to_owned()),
                ("B".to_owned(), "2".to_owned()),
                ("HOME".to_owned(), "/elsewhere".to_owned())
            ]
        );
        assert_eq!((start.umask, start.kill_signal.as_str()), (0o022, "TERM"));
        assert_eq!(start.timeout_stop, Duration::from_secs(90));
        let environment = start.environment("svc:x:990:990::/var/lib/svc:/usr/sbin/nologin");
        let get = |name: &str| {
            environment
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(get("HOME"), ["/elsewhere"], "the unit's setting wins, once");
        assert_eq!(get("USER"), ["svc"]);
        assert_eq!(get("SHELL"), ["/usr/sbin/nologin"]);
        assert_eq!(get("A"), ["1"]);
        assert!(get("PATH")[0].contains("/usr/bin"));
    }

    #[test]
    fn a_unit_the_check_cannot_run_as_systemd_would_is_refused() {
        let service = |lines: &str| format!("[Service]\nUser=svc\n{lines}\n");
        for (unit, says) in [
            (
                service("ExecStart=/bin/true\nEnvironmentFile=/etc/x"),
                "EnvironmentFile",
            ),
            (service("ExecStart=-/bin/true"), "prefix"),
            (service("ExecStart=/bin/echo \"a b\""), "quotes"),
            (service("ExecStart=/bin/echo $HOME"), "variables"),
            (
                service("ExecStart=/bin/true\nExecStart=/bin/false"),
                "more than one",
            ),
            (service("Environment=A=1"), "no ExecStart"),
            ("[Service]\nExecStart=/bin/true\n".to_owned(), "as root"),
            (
                service("ExecStart=/bin/true\nTimeoutStopSec=1h"),
                "time span",
            ),
        ] {
            let err = ServiceStart::from_unit(&unit).unwrap_err();
            assert!(err.contains(says), "{unit}: {err}");
        }
    }

    #[test]
    fn the_maintainer_scripts_are_valid_shell() {
        for script in ["postinst", "prerm", "postrm"] {
            let path = repository().join("packaging").join(script);
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert!(mode & 0o111 != 0, "{script} is not executable");
            let syntax = Command::new("sh").arg("-n").arg(&path).output().unwrap();
            assert!(syntax.status.success(), "{script}: {syntax:?}");
        }
    }
}

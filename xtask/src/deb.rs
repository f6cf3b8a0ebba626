//! `cargo xtask deb [--check] [--release]`: the Debian package `target/deb/jingxun_*.deb`.
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
//! `jingxun --version`, `config check` and a short `serve` as that user (the bundled plugins
//! and the web bundle must be found at the package's paths), removes it (data kept) and purges
//! it (data and user gone).

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
    for arg in args {
        match arg.as_str() {
            "--check" => check = true,
            "--release" => release = true,
            other => {
                return Err(format!(
                    "unknown argument `{other}`: cargo xtask deb [--check] [--release]"
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
    crate::plugins::build(root, &[])?;
    crate::web::build(root)?;
    say(&format!("building the {} jingxun", profile.dir()));
    let mut build = crate::cargo();
    build.args(["build", "--package", "jingxun", "--bin", "jingxun"]);
    if profile == Profile::Release {
        build.arg("--release");
    }
    crate::status(build, "cargo build")?;
    let binary = root.join("target").join(profile.dir()).join("jingxun");

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
    serve_briefly()?;
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

/// Runs `jingxun serve` as the service user for a few seconds on a free port (the configured
/// modem need not exist): the database is created in the data folder, the bundled plugins are
/// installed from the package's folder and the web bundle is served from it.
fn serve_briefly() -> Result<(), String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))?;
    let address = format!("127.0.0.1:{port}");
    let log_path =
        std::env::temp_dir().join(format!("jingxun-deb-check-{}.log", std::process::id()));
    let log = fs::File::create(&log_path).map_err(|e| format!("cannot create a log: {e}"))?;
    // With the unit's UMask=0027.
    let mut child = Command::new("runuser")
        .args([
            "-u",
            USER,
            "--",
            "sh",
            "-c",
            "umask 0027 && exec \"$0\" \"$@\"",
        ])
        .args([
            "/usr/bin/jingxun",
            "--config",
            "/etc/jingxun/jingxun.toml",
            "serve",
        ])
        .env("JINGXUN_HTTP__LISTEN", &address)
        .current_dir(DATA)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot run jingxun serve as {USER}: {e}"))?;
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
                    "jingxun serve (as jingxun, from the package) did not answer /healthz"
                        .to_string(),
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
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
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let deadline = Instant::now() + Duration::from_secs(40);
    while child.try_wait().ok().flatten().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if result.is_err() {
        eprintln!(
            "--- jingxun serve's log ---\n{}",
            fs::read_to_string(&log_path).unwrap_or_default()
        );
    }
    let _ = fs::remove_file(&log_path);
    result?;
    say("jingxun serve ran as jingxun: /healthz up, plugins from the package, web bundle served");
    Ok(())
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

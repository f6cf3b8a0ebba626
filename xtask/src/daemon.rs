//! A throw-away `jingxun serve` for the API checks (`schemathesis`, `bench-api`): its own folder
//! under `target/`, a fresh SQLite database, a free port on 127.0.0.1, an API key with every
//! scope, and the process killed (and the folder removed) when the handle is dropped.
//! Plain `std` (a raw HTTP/1.0 GET for `/healthz`) so that xtask needs no HTTP crate.

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A running daemon on a fresh database.
pub struct Daemon {
    /// `127.0.0.1:PORT`.
    pub address: String,
    /// The API key (every scope) created for the run; printed nowhere.
    pub key: String,
    /// The daemon's folder (configuration, database, log).
    pub dir: PathBuf,
    child: Child,
    keep: bool,
}

/// What the daemon runs with.
pub struct DaemonSpec<'a> {
    /// The `jingxun` binary.
    pub binary: &'a Path,
    /// A short name for the folder (`schemathesis`, `bench-api`).
    pub name: &'a str,
    /// Extra TOML appended to the configuration (`[[modem]]` tables, `[log]`...).
    pub extra_toml: &'a str,
    /// Requests per second the API key may make.
    pub rate: u32,
}

impl Daemon {
    /// Writes the configuration, creates the key with `jingxun apikey create` and starts
    /// `jingxun serve`, then waits until `/healthz` answers.
    pub fn start(spec: &DaemonSpec<'_>) -> Result<Daemon, String> {
        let dir = super::root().join("target/xtask").join(format!(
            "{}-{}",
            spec.name,
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| format!("no free port on 127.0.0.1: {e}"))?;
        let address = format!("127.0.0.1:{port}");
        let config = dir.join("jingxun.toml");
        let toml = format!(
            "[database]\nurl = \"sqlite://{}\"\n[http]\nlisten = \"{address}\"\n{}\n",
            dir.join("jingxun.db").display(),
            spec.extra_toml
        );
        fs::write(&config, toml).map_err(|e| format!("cannot write {}: {e}", config.display()))?;

        let created = Command::new(spec.binary)
            .arg("--config")
            .arg(&config)
            .args(["apikey", "create", "--name", spec.name, "--scopes"])
            .arg("send,receive,notify")
            .arg("--rate")
            .arg(spec.rate.to_string())
            .current_dir(&dir)
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", spec.binary.display()))?;
        if !created.status.success() {
            return Err(format!("jingxun apikey create failed ({})", created.status));
        }
        let key = String::from_utf8_lossy(&created.stdout).trim().to_owned();
        if !key.starts_with("jx_") {
            return Err("jingxun apikey create printed no key".into());
        }

        let log = fs::File::create(dir.join("serve.log"))
            .map_err(|e| format!("cannot create the daemon's log: {e}"))?;
        let child = Command::new(spec.binary)
            .arg("--config")
            .arg(&config)
            .arg("serve")
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start jingxun serve: {e}"))?;
        let mut daemon = Daemon {
            address,
            key,
            dir,
            child,
            keep: false,
        };
        daemon.wait_healthy(Duration::from_secs(60))?;
        Ok(daemon)
    }

    fn wait_healthy(&mut self, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        loop {
            if get(&self.address, "/healthz").is_some_and(|(status, _)| status == 200) {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                self.keep = true;
                return Err(format!(
                    "jingxun serve exited ({status}) before answering; its log: {}",
                    self.dir.join("serve.log").display()
                ));
            }
            if Instant::now() > deadline {
                self.keep = true;
                return Err(format!(
                    "jingxun serve did not answer /healthz within {limit:?}; its log: {}",
                    self.dir.join("serve.log").display()
                ));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Keeps the folder (with the daemon's log and database) after the daemon stops, for a
    /// failed run to be looked at.
    pub fn keep_folder(&mut self) {
        self.keep = true;
    }

    /// CPU seconds (user and system) the daemon has used so far, from `/proc` (Linux); `None`
    /// elsewhere.
    pub fn cpu_seconds(&self) -> Option<f64> {
        let stat = fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        // Fields after the command name (which is in parentheses and may hold spaces).
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks: f64 =
            fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
        // USER_HZ is 100 on every Linux architecture this runs on.
        Some(ticks / 100.0)
    }

    /// Whether the daemon is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !self.keep {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// A minimal HTTP/1.0 GET: the status code and the body, or `None` when nothing answers.
pub fn get(address: &str, path: &str) -> Option<(u16, String)> {
    get_as(address, path, None)
}

/// [`get`] with an API key (`/healthz` shows the queue depths to API keys only).
pub fn get_as(address: &str, path: &str, key: Option<&str>) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let authorization = key.map_or_else(String::new, |k| format!("Authorization: Bearer {k}\r\n"));
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {address}\r\n{authorization}\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())?;
    Some((status, body))
}

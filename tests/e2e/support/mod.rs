//! The end-to-end harness: starts the real `jingxun` binary (built by cargo for these tests)
//! with a configuration in a temporary folder, against simulated modems on pseudo-terminals
//! and a real database: a SQLite file, or a fresh PostgreSQL database when
//! `JINGXUN_TEST_POSTGRES_URL` is set.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::Connection;

mod cli;
pub use cli::Cli;

/// The binary under test.
pub const JINGXUN: &str = env!("CARGO_BIN_EXE_jingxun");

/// Runs `command` with `input` on its standard input; its output and status.
pub fn output_with_stdin(mut command: Command, input: &str) -> Output {
    use std::io::Write;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run jingxun");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait for jingxun")
}

/// A WebAssembly component built by `cargo xtask plugins` (which `cargo xtask test` runs
/// first): `plugins/<crate>` as `target/plugins/<file>`, a test plugin from
/// `tests/fixtures/plugins/` as `target/plugins/fixtures/<file>`. Returned as a canonical path
/// (a browser's file input takes no other); a plain `cargo test` without the build says what
/// to run.
pub fn built_plugin(file: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/plugins")
        .join(file);
    path.canonicalize().unwrap_or_else(|error| {
        panic!(
            "{} is not built ({error}): run `cargo xtask plugins` (or the whole `cargo xtask test`)",
            path.display()
        )
    })
}

/// A test plugin from `tests/fixtures/plugins/<name>` (crate `fixture-<name>`), as a path
/// for `jingxun plugin install`.
pub fn fixture_plugin(name: &str) -> String {
    built_plugin(&format!("fixtures/fixture-{name}.wasm"))
        .display()
        .to_string()
}

/// A shipped plugin from `plugins/<name>`, as a path for `jingxun plugin install`.
pub fn shipped_plugin(name: &str) -> String {
    built_plugin(&format!("{name}.wasm")).display().to_string()
}

/// Which database a test runs on.
#[derive(Debug, Clone)]
pub enum Backend {
    /// A SQLite file in the test's folder.
    Sqlite,
    /// A PostgreSQL server; each test gets a fresh database on it.
    Postgres(String),
}

/// The end-to-end tests' backend for `jingxun::on_both_backends!(Backend => ...)`: each test
/// takes the `Backend` by value and creates its own database on it.
impl jingxun::testing::TestBackend for Backend {
    type Arg<'a> = Backend;

    async fn sqlite() -> Backend {
        Backend::Sqlite
    }

    async fn postgres() -> Option<Backend> {
        std::env::var(jingxun::testing::POSTGRES_ENV)
            .ok()
            .filter(|url| !url.is_empty())
            .map(Backend::Postgres)
    }

    fn arg(&self) -> Backend {
        self.clone()
    }
}

impl Backend {
    /// PostgreSQL when the environment names a test server, else `None` (the test is skipped
    /// with a note, so a machine without PostgreSQL still passes).
    pub fn postgres() -> Option<Backend> {
        match std::env::var(jingxun::testing::POSTGRES_ENV) {
            Ok(url) if !url.is_empty() => Some(Backend::Postgres(url)),
            _ => {
                eprintln!(
                    "JINGXUN_TEST_POSTGRES_URL is not set: skipping the PostgreSQL run of this test"
                );
                None
            }
        }
    }
}

/// A database for one test, removed afterwards.
pub struct Database {
    /// The URL the daemon is given.
    pub url: String,
    admin: Option<(String, String)>,
}

impl Database {
    /// Creates a fresh database: a file in `dir`, or `CREATE DATABASE` on the PostgreSQL server.
    pub async fn create(backend: &Backend, dir: &Path) -> Database {
        match backend {
            Backend::Sqlite => Database {
                url: format!("sqlite://{}", dir.join("jingxun.db").display()),
                admin: None,
            },
            Backend::Postgres(admin_url) => {
                let name = format!("jx_e2e_{}_{}", std::process::id(), rand_suffix());
                let mut conn = sqlx::PgConnection::connect(admin_url)
                    .await
                    .expect("connect to the PostgreSQL test server");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create a test database");
                let base = admin_url
                    .rsplit_once('/')
                    .map_or(admin_url.as_str(), |(b, _)| b);
                Database {
                    url: format!("{base}/{name}"),
                    admin: Some((admin_url.clone(), name)),
                }
            }
        }
    }

    /// Drops a PostgreSQL test database (SQLite files go with the temporary folder).
    pub async fn drop_database(self) {
        if let Some((admin_url, name)) = self.admin
            && let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await
        {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await;
        }
    }
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    h.finish() % 1_000_000_000
}

/// One `[[modem]]` of the daemon under test.
pub struct ModemSpec {
    /// The modem's name.
    pub name: String,
    /// The device path (a simulator's link).
    pub port: PathBuf,
    /// Extra TOML lines inside the modem's table.
    pub extra: String,
}

/// A running (or stopped) daemon with its folder and configuration.
pub struct Daemon {
    /// The test's folder (configuration, SQLite file, logs).
    pub dir: tempfile::TempDir,
    /// The configuration file.
    pub config: PathBuf,
    /// The HTTP address.
    pub http: String,
    child: Option<Child>,
    starts: u32,
    /// An API key made for [`Daemon::health`] on first use (`/healthz` shows its details to
    /// API keys and signed-in web users only).
    health_key: std::sync::OnceLock<String>,
}

impl Daemon {
    /// Writes a configuration for `database` and `modems` (plus `extra` TOML) and starts `jingxun serve`.
    pub fn start(
        dir: tempfile::TempDir,
        database_url: &str,
        modems: &[ModemSpec],
        extra: &str,
    ) -> Daemon {
        let mut daemon = Daemon::configure(dir, database_url, modems, extra);
        daemon.restart();
        daemon
    }

    /// Writes the configuration without starting the daemon, so that the test can prepare the
    /// database with CLI commands first; [`Daemon::restart`] starts it.
    pub fn configure(
        dir: tempfile::TempDir,
        database_url: &str,
        modems: &[ModemSpec],
        extra: &str,
    ) -> Daemon {
        let port = free_port();
        // The listen address goes into the test's own `[http]` table when it has one.
        let listen = format!("[http]\nlisten = \"127.0.0.1:{port}\"\n");
        let (http, extra) = match extra.contains("[http]\n") {
            true => (String::new(), extra.replacen("[http]\n", &listen, 1)),
            false => (listen, extra.to_owned()),
        };
        let mut toml = format!(
            "[database]\nurl = \"{database_url}\"\n{http}[log]\nlevel = \"jingxun=debug,info\"\n{extra}\n"
        );
        if !extra.contains("[queue]") {
            toml.push_str("[queue]\npoll_interval_ms = 50\nlease_seconds = 3\nretry_base_seconds = 1\nretry_max_seconds = 2\n");
        }
        for m in modems {
            toml.push_str(&format!(
                "[[modem]]\nname = \"{}\"\nport = \"{}\"\ncommand_timeout_ms = 1000\nhealth_interval_seconds = 1\n{}\n",
                m.name,
                m.port.display(),
                m.extra
            ));
        }
        let config = dir.path().join("jingxun.toml");
        std::fs::write(&config, toml).expect("write the test configuration");
        Daemon {
            dir,
            config,
            http: format!("127.0.0.1:{port}"),
            child: None,
            starts: 0,
            health_key: std::sync::OnceLock::new(),
        }
    }

    /// Starts the daemon again (after [`Daemon::kill9`] or [`Daemon::terminate`]).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "the daemon is already running");
        self.starts += 1;
        let log = std::fs::File::create(self.dir.path().join(format!("serve-{}.log", self.starts)))
            .expect("log file");
        let child = Command::new(JINGXUN)
            .arg("--config")
            .arg(&self.config)
            .arg("serve")
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start jingxun serve");
        self.child = Some(child);
    }

    /// Runs a `jingxun` subcommand with this daemon's configuration.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(JINGXUN)
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect("run jingxun")
    }

    /// Runs a `jingxun` subcommand with `input` on its standard input.
    pub fn cli_with_stdin(&self, args: &[&str], input: &str) -> Output {
        let mut command = Command::new(JINGXUN);
        command
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .current_dir(self.dir.path());
        output_with_stdin(command, input)
    }

    /// Runs a `jingxun` subcommand that must succeed, and returns its standard output.
    pub fn cli_ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "jingxun {} failed: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Adds officer `wang` (王警官, role `officer`) with the registered phone `number`.
    #[allow(dead_code)] // not every test binary registers an officer
    pub fn add_officer(&self, number: &str) {
        self.cli_ok(&[
            "user",
            "add",
            "--login",
            "wang",
            "--name",
            "王警官",
            "--role",
            "officer",
        ]);
        self.cli_ok(&[
            "phone",
            "add",
            "--number",
            number,
            "--name",
            "王警官",
            "--user",
            "wang",
        ]);
    }

    /// Queues a message with `jingxun send` and checks that it was accepted.
    pub fn send(&self, to: &str, text: &str) {
        let out = self.cli(&["send", "--to", to, "--text", text]);
        assert!(
            out.status.success(),
            "jingxun send failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `jingxun messages --json`, parsed.
    pub fn messages(&self, direction: &str) -> Vec<Value> {
        let out = self.cli(&[
            "messages",
            "--json",
            "--direction",
            direction,
            "--limit",
            "1000",
        ]);
        assert!(
            out.status.success(),
            "jingxun messages failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line is a JSON object"))
            .collect()
    }

    /// Polls `jingxun messages` until `done` holds for the messages of `direction`, or panics
    /// with the last listing and the daemon's log after `limit`.
    pub async fn wait_for_messages(
        &self,
        direction: &str,
        limit: Duration,
        done: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let deadline = Instant::now() + limit;
        loop {
            let messages = self.messages(direction);
            if done(&messages) {
                return messages;
            }
            if Instant::now() > deadline {
                panic!(
                    "condition not reached within {limit:?}; {direction} messages: {}\n--- daemon log ---\n{}",
                    serde_json::to_string_pretty(&messages).unwrap_or_default(),
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `GET /healthz` as JSON with its details (modems, queue), once the daemon answers: with
    /// an API key `e2e-health` made the first time (anyone else gets up or down only).
    pub async fn health(&self) -> Value {
        self.public_health().await;
        let key = self.health_key.get_or_init(|| {
            self.cli_ok(&[
                "apikey",
                "create",
                "--name",
                "e2e-health",
                "--scopes",
                "send",
                "--rate",
                "1000",
            ])
            .trim()
            .to_owned()
        });
        let authorization = format!("Bearer {key}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(body) = http_get_with(
                &self.http,
                "/healthz",
                &[("Authorization", authorization.as_str())],
            ) && let Ok(v) = serde_json::from_str::<Value>(&body)
                && v.get("modems").is_some()
            {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "no detailed /healthz answer; log:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `GET /healthz` as JSON without credentials (`{"status":"up"}` or `down`), once the
    /// daemon answers.
    pub async fn public_health(&self) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(body) = http_get(&self.http, "/healthz")
                && let Ok(v) = serde_json::from_str(&body)
            {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "no /healthz answer; log:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until every modem reports `ready`.
    pub async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let health = self.health().await;
            let modems = health["modems"].as_array().cloned().unwrap_or_default();
            if !modems.is_empty() && modems.iter().all(|m| m["state"] == "ready") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "modems not ready: {health}\nlog:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Kills the daemon with SIGKILL: no drain, no clean-up.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM and waits for the daemon to exit; returns whether it exited successfully.
    pub fn terminate(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return true;
        };
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The end of the daemon's log(s), for failure messages.
    pub fn log_tail(&self) -> String {
        let mut text = String::new();
        for n in 1..=self.starts {
            let log = std::fs::read_to_string(self.dir.path().join(format!("serve-{n}.log")))
                .unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            let from = lines.len().saturating_sub(60);
            text.push_str(&format!(
                "--- serve run {n} ---\n{}\n",
                lines[from..].join("\n")
            ));
        }
        text
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A TCP port nobody listens on now (for a test's own server).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A minimal HTTP/1.0 GET (the daemon's health endpoint needs nothing more).
pub fn http_get(address: &str, path: &str) -> Option<String> {
    http_get_with(address, path, &[])
}

/// [`http_get`] with request headers.
pub fn http_get_with(address: &str, path: &str, headers: &[(&str, &str)]) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut head = format!("GET {path} HTTP/1.0\r\nHost: {address}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    write!(stream, "{head}\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
}

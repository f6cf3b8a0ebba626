//! `cargo xtask bench-api`: accepted messages per second through `POST /api/v1/messages`
//! (issue 5's benchmark). wrk, on the same machine, sends keep-alive requests with a JSON body
//! and the Bearer key to the release `jingxun serve` on a fresh SQLite database
//! (`synchronous=FULL`: every 202 is a durable commit). No modem is configured, so the messages
//! stay queued: what is measured is accepting (parse, validate, normalise, commit, answer), not
//! sending, which the modems pace at a few dozen messages per second anyway. Two runs, each on a
//! fresh database: one recipient per request, and 100 distinct recipients per request. No
//! idempotency key. Nothing asserts a time: it prints the figures, and checks that every answer
//! was a 202 and that the store holds exactly the messages the 202 answers promised.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::daemon::{self, Daemon, DaemonSpec};
use crate::{cargo, root, say, status};

/// The load generator's script: requests from a pool of bodies built once per thread (so that
/// wrk spends its CPU on sending, not on Lua), each with distinct recipients, and one result
/// line at the end.
const WRK_SCRIPT: &str = r#"
local recipients = tonumber(os.getenv("JX_RECIPIENTS") or "1")
local key = os.getenv("JX_KEY")
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end
function init(args)
  wrk.method = "POST"
  wrk.path = "/api/v1/messages"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. key
  local pool = math.max(100, math.floor(20000 / recipients))
  pool_requests = {}
  for b = 1, pool do
    local to = {}
    for r = 1, recipients do
      -- Distinct numbers scattered over 139xxxxxxxx (k * 48271 permutes 0..10^8), as a staff
      -- list's are, rather than consecutive ones that share index pages.
      local n = (((id * pool + b) * recipients + r) * 48271) % 100000000
      to[r] = string.format('"139%08d"', n)
    end
    local body = '{"to":[' .. table.concat(to, ",") .. '],"text":"警讯测试 ' .. id .. "-" .. b ..
      '：请于今晚八点到三楼会议室开会，收到请回复。"}'
    pool_requests[b] = wrk.format(nil, nil, nil, body)
  end
  next_request = 0
end
function request()
  next_request = next_request % #pool_requests + 1
  return pool_requests[next_request]
end
function done(summary, latency, requests)
  io.write(string.format(
    "JXRESULT %d %d %d %d %d %d %d %d %d %d\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"#;

/// How hard and how long to push.
struct Load {
    threads: u32,
    /// Open connections, each with one request in flight: one run per count.
    connections: Vec<u32>,
    duration: String,
}

/// What one wrk run measured.
struct Outcome {
    requests: u64,
    seconds: f64,
    failed: u64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    queued: Option<u64>,
    /// CPU seconds the daemon used during the run.
    cpu: Option<f64>,
}

/// Runs the benchmark; `args`: `--threads N`, `--connections N[,N...]` (a run per count, each
/// on a fresh database: with one request in flight per connection, fewer connections show the
/// latency at a load below saturation), `--duration 15s`, and `--no-build` to measure the
/// release binary already built (when another build holds cargo's lock).
pub fn run(args: &[String]) -> Result<(), String> {
    let mut load = Load {
        threads: 2,
        connections: vec![32],
        duration: "15s".into(),
    };
    let mut build_first = true;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--no-build" {
            build_first = false;
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--threads" => load.threads = value.parse().map_err(|_| "--threads N")?,
            "--connections" => {
                load.connections = value
                    .split(',')
                    .map(|c| c.trim().parse().ok().filter(|&c: &u32| c > 0))
                    .collect::<Option<Vec<u32>>>()
                    .ok_or("--connections N[,N...]: positive numbers")?;
            }
            "--duration" => load.duration = value.clone(),
            _ => {
                return Err(format!(
                    "unknown option {arg}; bench-api takes --threads N, --connections N[,N...], \
                     --duration 15s, --no-build"
                ));
            }
        }
    }
    ensure_wrk()?;
    let binary = root().join("target/release/jingxun");
    if build_first {
        say("building the release jingxun (the first build takes a few minutes on 2 cores)");
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
    } else if !binary.exists() {
        return Err(format!("--no-build: {} is not built", binary.display()));
    }
    // Other work on the machine (a build) takes CPU from both the daemon and wrk: say so.
    let load_average = fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().next().unwrap_or("?").to_owned())
        .unwrap_or_else(|_| "?".into());
    let mut results = Vec::new();
    for &connections in &load.connections {
        for recipients in [1u64, 100] {
            let outcome = measure(&binary, recipients, connections, &load)?;
            results.push((connections, recipients, outcome));
        }
    }
    println!();
    println!(
        "POST /api/v1/messages, wrk -t{} -d{} on this machine ({} cores, load average \
         before the runs: {}), SQLite synchronous=FULL, committed before 202:",
        load.threads,
        load.duration,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average
    );
    let mut bad = Vec::new();
    for (connections, recipients, o) in &results {
        let rps = o.requests as f64 / o.seconds;
        println!(
            "  -c{connections:<3} {recipients:>3} recipient(s)/request: {rps:>8.0} requests/s  \
             {:>8.0} recipients/s  p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms  ({} requests, {} \
             not 202)",
            rps * *recipients as f64,
            o.p50_ms,
            o.p99_ms,
            o.max_ms,
            o.requests,
            o.failed
        );
        if let Some(cpu) = o.cpu.filter(|c| *c > 0.0) {
            // What the daemon itself cost, whatever else ran on the machine meanwhile.
            println!(
                "      daemon CPU: {:.0} µs per request ({:.0}% of one core on average): {:.0} \
                 requests per CPU-second",
                cpu * 1e6 / o.requests.max(1) as f64,
                cpu * 100.0 / o.seconds,
                o.requests as f64 / cpu
            );
        }
        // wrk stops with requests still in flight (at most one per connection): the daemon
        // may have committed those without wrk counting their answers.
        let accepted = (o.requests - o.failed) * recipients;
        let in_flight = u64::from(*connections) * recipients;
        match o.queued {
            Some(q) if q >= accepted && q <= accepted + in_flight => {}
            Some(q) => bad.push(format!(
                "-c{connections}, {recipients} recipient(s): the store holds {q} queued messages, the 202 \
                 answers promised {accepted} (plus at most {in_flight} in flight at the end)"
            )),
            None => bad.push(format!(
                "-c{connections}, {recipients} recipient(s): /healthz gave no queue depth after the run"
            )),
        }
        if o.failed > 0 {
            bad.push(format!(
                "-c{connections}, {recipients} recipient(s): {} requests were not answered 202",
                o.failed
            ));
        }
    }
    if bad.is_empty() {
        println!("  every answer was 202 and the store holds every message they promised");
        Ok(())
    } else {
        Err(bad.join("; "))
    }
}

fn measure(
    binary: &Path,
    recipients: u64,
    connections: u32,
    load: &Load,
) -> Result<Outcome, String> {
    say(&format!(
        "bench-api: {recipients} recipient(s) per request, {connections} connections: fresh \
         SQLite database, no modem"
    ));
    let mut daemon = Daemon::start(&DaemonSpec {
        binary,
        name: "bench-api",
        extra_toml: "",
        rate: 1_000_000_000,
    })?;
    let script = daemon.dir.join("post.lua");
    fs::write(&script, WRK_SCRIPT).map_err(|e| format!("cannot write the wrk script: {e}"))?;
    let cpu_before = daemon.cpu_seconds();
    let output = Command::new("wrk")
        .env("JX_KEY", &daemon.key)
        .env("JX_RECIPIENTS", recipients.to_string())
        // wrk needs a connection per thread at least.
        .arg(format!("-t{}", load.threads.min(connections)))
        .arg(format!("-c{connections}"))
        .arg(format!("-d{}", load.duration))
        .arg("--latency")
        // Far above the goal's p99, so that a slow answer is measured rather than dropped.
        .args(["--timeout", "10s"])
        .arg("-s")
        .arg(&script)
        .arg(format!("http://{}/api/v1/messages", daemon.address))
        .output()
        .map_err(|e| format!("cannot run wrk: {e}"))?;
    let cpu = daemon
        .cpu_seconds()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    let text = String::from_utf8_lossy(&output.stdout);
    eprint!("{text}");
    if !output.status.success() {
        daemon.keep_folder();
        return Err(format!(
            "wrk failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("JXRESULT "))
        .ok_or("wrk printed no result line")?;
    let n: Vec<u64> = line
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    if n.len() != 10 {
        return Err(format!("unexpected wrk result line: {line}"));
    }
    let queued = daemon::get_as(&daemon.address, "/healthz", Some(&daemon.key))
        .and_then(|(_, body)| queued(&body));
    if !daemon.is_running() {
        daemon.keep_folder();
        return Err("jingxun serve died during the benchmark".into());
    }
    Ok(Outcome {
        requests: n[0],
        seconds: n[1] as f64 / 1e6,
        failed: n[2] + n[3] + n[4] + n[5] + n[6],
        p50_ms: n[7] as f64 / 1e3,
        p99_ms: n[8] as f64 / 1e3,
        max_ms: n[9] as f64 / 1e3,
        queued,
        cpu,
    })
}

/// The `queued` count of `/healthz`'s `queue` object (a flat JSON search: xtask has no JSON
/// crate and the body is small and ours).
fn queued(body: &str) -> Option<u64> {
    let at = body.find("\"queued\":")? + "\"queued\":".len();
    let digits: String = body[at..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Installs wrk from Debian's packages when it is missing.
fn ensure_wrk() -> Result<(), String> {
    if Command::new("wrk").arg("--version").output().is_ok() {
        return Ok(());
    }
    crate::apt::install(&["wrk"], "the API benchmark's load generator (wrk)")
}

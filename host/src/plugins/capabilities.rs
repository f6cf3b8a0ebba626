//! The host capabilities a plugin imports, each checked on every call against the grants of
//! the plugin that makes it: `datasource.query` (granted datasources only, read-only; see
//! [`super::datasource`]), `http.send` (granted hosts only; plain `http://` for now: `https://`
//! answers `invalid-request` "TLS not supported yet"), `config.get` (its own values), `log.log`
//! (tracing, tagged with the plugin and request id) and `clock.now`. There is no WASI: a plugin
//! has no files, sockets, environment or clock but these.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::bindings::jingxun::plugin::{clock, config, datasource, http, log, types};
use super::datasource::{Pools, run_query};
use super::runtime::{CallClock, MemoryLimiter};

/// Longest an HTTP exchange may take.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest HTTP response body handed to a plugin.
pub const HTTP_MAX_BODY: usize = 1024 * 1024;

/// What one plugin may do: loaded from the store, shared by all its calls.
#[derive(Debug, Default)]
pub struct PluginContext {
    pub name: String,
    pub version: String,
    /// Granted datasources, with their URLs (only those that exist).
    pub datasources: HashMap<String, String>,
    /// Granted HTTP hosts, lower case (`host` or `host:port`).
    pub http_hosts: BTreeSet<String>,
    /// Its configuration values.
    pub config: HashMap<String, String>,
}

/// What every call shares: the runtime handle for async host work, datasource pools, the HTTP
/// client.
pub struct Services {
    pub runtime: tokio::runtime::Handle,
    pub pools: Pools,
    pub http: Client<HttpConnector, Full<Bytes>>,
}

impl Services {
    /// Services on the current tokio runtime.
    pub fn new(runtime: tokio::runtime::Handle) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(HTTP_TIMEOUT));
        Services {
            runtime,
            pools: Pools::default(),
            http: Client::builder(TokioExecutor::new()).build(connector),
        }
    }
}

/// The data of one call's store.
pub struct HostState {
    pub context: Arc<PluginContext>,
    pub services: Arc<Services>,
    pub request_id: String,
    pub limiter: MemoryLimiter,
    pub clock: CallClock,
    /// Set by the epoch callback when the CPU limit was reached.
    pub timed_out: bool,
}

impl HostState {
    /// State for a call starting now.
    pub fn new(
        context: Arc<PluginContext>,
        services: Arc<Services>,
        request_id: String,
        memory_limit: usize,
    ) -> Self {
        HostState {
            context,
            services,
            request_id,
            limiter: MemoryLimiter::new(memory_limit),
            clock: CallClock::start(),
            timed_out: false,
        }
    }

    /// Time spent running the plugin's own code so far (host calls excluded).
    pub fn guest_time(&self) -> Duration {
        self.clock
            .started
            .elapsed()
            .saturating_sub(self.clock.in_host)
    }

    /// Runs async host work to completion on this (blocking) thread, not counting its time
    /// against the plugin's CPU limit.
    fn block_on<F: std::future::Future>(&mut self, work: F) -> F::Output {
        let started = Instant::now();
        let out = self.services.runtime.block_on(work);
        self.clock.in_host += started.elapsed();
        out
    }
}

impl types::Host for HostState {}

impl datasource::Host for HostState {
    fn query(
        &mut self,
        name: String,
        sql: String,
        params: Vec<types::Value>,
    ) -> Result<datasource::Rows, datasource::QueryError> {
        let Some(url) = self.context.datasources.get(&name).cloned() else {
            tracing::warn!(plugin = %self.context.name, request = %self.request_id, datasource = %name, "plugin queried a datasource it was not granted");
            return Err(datasource::QueryError::NotGranted(format!(
                "datasource `{name}` is not granted to plugin {}",
                self.context.name
            )));
        };
        let services = self.services.clone();
        let result = self.block_on(run_query(&services.pools, &name, &url, &sql, params));
        if let Err(e) = &result {
            tracing::info!(plugin = %self.context.name, request = %self.request_id, datasource = %name, error = ?e, "plugin query refused or failed");
        }
        result
    }
}

impl http::Host for HostState {
    fn send(&mut self, req: http::Request) -> Result<http::Response, http::HttpError> {
        let uri: hyper::Uri = req
            .url
            .parse()
            .map_err(|e| http::HttpError::InvalidRequest(format!("bad URL: {e}")))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(http::HttpError::InvalidRequest(
                    "TLS not supported yet: only http:// URLs can be reached".into(),
                ));
            }
            _ => {
                return Err(http::HttpError::InvalidRequest(
                    "the URL must be absolute and start with http://".into(),
                ));
            }
        }
        let host = uri.host().unwrap_or_default().to_ascii_lowercase();
        let with_port = uri
            .port_u16()
            .map(|p| format!("{host}:{p}"))
            .unwrap_or_else(|| host.clone());
        let granted = &self.context.http_hosts;
        if !granted.contains(&host) && !granted.contains(&with_port) {
            tracing::warn!(plugin = %self.context.name, request = %self.request_id, %host, "plugin reached for an HTTP host it was not granted");
            return Err(http::HttpError::NotGranted(format!(
                "host `{host}` is not granted to plugin {}",
                self.context.name
            )));
        }
        let method = hyper::Method::from_bytes(req.method.as_bytes())
            .map_err(|_| http::HttpError::InvalidRequest(format!("bad method {}", req.method)))?;
        let mut builder = hyper::Request::builder().method(method).uri(uri);
        for (name, value) in &req.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let request = builder
            .body(Full::new(Bytes::from(req.body)))
            .map_err(|e| http::HttpError::InvalidRequest(e.to_string()))?;
        let client = self.services.http.clone();
        let exchange = async move {
            let response = client
                .request(request)
                .await
                .map_err(|e| http::HttpError::Failed(e.to_string()))?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let body = Limited::new(response.into_body(), HTTP_MAX_BODY)
                .collect()
                .await
                .map_err(|e| {
                    http::HttpError::Failed(format!(
                        "reading the body failed or it exceeds {HTTP_MAX_BODY} bytes: {e}"
                    ))
                })?
                .to_bytes()
                .to_vec();
            Ok(http::Response {
                status,
                headers,
                body,
            })
        };
        self.block_on(async move {
            tokio::time::timeout(HTTP_TIMEOUT, exchange)
                .await
                .unwrap_or(Err(http::HttpError::Timeout))
        })
    }
}

impl config::Host for HostState {
    fn get(&mut self, key: String) -> Option<String> {
        self.context.config.get(&key).cloned()
    }
}

impl log::Host for HostState {
    fn log(&mut self, level: log::Level, message: String) {
        // Bounded, so that a plugin cannot flood the log with one line.
        let message: String = message.chars().take(2000).collect();
        let plugin = self.context.name.as_str();
        let version = self.context.version.as_str();
        let request = self.request_id.as_str();
        match level {
            log::Level::Debug => tracing::debug!(plugin, version, request, "{message}"),
            log::Level::Info => tracing::info!(plugin, version, request, "{message}"),
            log::Level::Warn => tracing::warn!(plugin, version, request, "{message}"),
            log::Level::Error => tracing::error!(plugin, version, request, "{message}"),
        }
    }
}

impl clock::Host for HostState {
    fn now(&mut self) -> i64 {
        crate::clock::now_ms()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::bindings::jingxun::plugin::http::Host as _;

    fn state(granted: &[&str]) -> HostState {
        HostState::new(
            Arc::new(PluginContext {
                name: "web".into(),
                http_hosts: granted.iter().map(|h| h.to_string()).collect(),
                ..PluginContext::default()
            }),
            Arc::new(Services::new(tokio::runtime::Handle::current())),
            "test".into(),
            1 << 20,
        )
    }

    fn get(url: &str) -> http::Request {
        http::Request {
            method: "GET".into(),
            url: url.into(),
            headers: vec![("x-test".into(), "1".into())],
            body: vec![],
        }
    }

    /// A one-shot HTTP server on loopback that answers `hello`.
    async fn server() -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = socket.read(&mut buf).await;
            let _ = socket
                .write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
                )
                .await;
        });
        port
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn http_reaches_granted_hosts_only_and_plain_http_only() {
        let port = server().await;
        let granted = format!("127.0.0.1:{port}");
        let mut s = state(&[&granted]);
        let answers = tokio::task::spawn_blocking(move || {
            (
                s.send(get(&format!("http://127.0.0.1:{port}/x"))),
                s.send(get("http://10.1.2.3/x")),
                s.send(get(&format!("https://127.0.0.1:{port}/x"))),
                s.send(get("not a url")),
            )
        })
        .await
        .unwrap();
        let response = answers.0.unwrap();
        assert_eq!(
            (response.status, response.body.as_slice()),
            (200, &b"hello"[..])
        );
        assert!(
            matches!(answers.1, Err(http::HttpError::NotGranted(_))),
            "{:?}",
            answers.1
        );
        assert!(
            matches!(&answers.2, Err(http::HttpError::InvalidRequest(m)) if m.contains("TLS not supported yet")),
            "{:?}",
            answers.2
        );
        assert!(
            matches!(answers.3, Err(http::HttpError::InvalidRequest(_))),
            "{:?}",
            answers.3
        );
    }
}

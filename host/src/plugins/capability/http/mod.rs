//! `http.send`: HTTP requests to the hosts an administrator granted to the plugin, by
//! `host:port` ([`grant`]); plain `http://` for now (`https://` answers `invalid-request` "TLS
//! not supported yet"). A name reaches public addresses only: an internal one (loopback,
//! private, link-local) must be granted as an address. Headers that belong to the host or the
//! connection are refused; each exchange is bounded in time and size.

pub mod grant;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;

use wasmtime::component::Linker;

use super::{HostCall, HostState, OnHostCall};
use crate::plugins::contract::v1_1::jingxun::plugin::http;
use grant::{GrantHost, HTTP_DEFAULT_PORT, HttpGrant, canonical, is_internal};

/// Longest an HTTP exchange may take, name resolution and connection included.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest HTTP response body handed to a plugin.
pub const HTTP_MAX_BODY: usize = 1024 * 1024;

/// Request headers a plugin may not set: `Host` is the URL's (a different one would reach
/// another site behind the same address than the one granted), `Content-Length` the body's,
/// and the hop-by-hop headers (`Connection`, `Keep-Alive`, `Proxy-*`, `TE`, `Trailer`,
/// `Transfer-Encoding`, `Upgrade`) belong to the connection the host makes, not to the plugin:
/// set by a plugin they could smuggle a second request or switch protocols.
const FORBIDDEN_HEADERS: [&str; 8] = [
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Whether a plugin may not set the request header `name` ([`FORBIDDEN_HEADERS`], `Proxy-*`).
fn forbidden_header(name: &str) -> bool {
    let name = name.trim().to_ascii_lowercase();
    FORBIDDEN_HEADERS.contains(&name.as_str()) || name.starts_with("proxy-")
}

/// Links `http`.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    http::add_to_linker::<HostState, OnHostCall>(linker, HostState::host_call)
}

impl http::Host for HostCall<'_> {
    fn send(
        &mut self,
        req: http::Request,
    ) -> wasmtime::Result<Result<http::Response, http::HttpError>> {
        self.begin("http.send", || format!("{} {}", req.method, req.url))?;
        let Checked {
            target,
            request,
            grants,
        } = match self.checked(req) {
            Ok(checked) => checked,
            Err(refused) => {
                self.refused(&format!("{refused:?}"));
                return Ok(Err(refused));
            }
        };
        let plugin = self.grants().plugin().to_owned();
        let request_id = self.call.request_id.clone();
        let result = self.block_on(async move {
            let reach = async {
                let addresses = target.resolve().await?;
                check_addresses(&target, &addresses, &grants).inspect_err(|_| {
                    tracing::warn!(plugin = %plugin, request = %request_id, host = %target.display(), ?addresses, "plugin's HTTP host resolves to an internal address not granted by address; refused");
                })?;
                exchange(&addresses, request).await
            };
            tokio::time::timeout(HTTP_TIMEOUT, reach)
                .await
                .unwrap_or(Err(http::HttpError::Timeout))
        })?;
        if let Err(e) = &result {
            self.refused(&format!("{e:?}"));
        }
        Ok(result)
    }
}

/// A plugin's request once checked: where it goes, what is sent, and the grants that may
/// reach the addresses its host resolves to.
struct Checked {
    target: Target,
    request: hyper::Request<Full<Bytes>>,
    grants: Vec<HttpGrant>,
}

impl HostCall<'_> {
    /// The request as it will be sent, its target and the grants that may reach it; or why it
    /// is refused before anything is resolved or sent.
    fn checked(&self, req: http::Request) -> Result<Checked, http::HttpError> {
        let plugin = self.grants().plugin().to_owned();
        let request_id = self.call.request_id.clone();
        let target = Target::of(&req)?;
        if let Some((name, _)) = req.headers.iter().find(|(name, _)| forbidden_header(name)) {
            tracing::warn!(plugin = %plugin, request = %request_id, header = %name, "plugin set an HTTP header that only the host sets; refused");
            return Err(http::HttpError::InvalidRequest(format!(
                "the header `{name}` is set by the host, not by a plugin: remove it (Host and \
                 Content-Length come from the URL and the body; Connection, Keep-Alive, \
                 Proxy-*, TE, Trailer, Transfer-Encoding and Upgrade belong to the connection)"
            )));
        }
        let grants = self.grants().http_grants();
        if !grants
            .iter()
            .any(|g| g.port == target.port && same_host(&g.host, &target.host))
        {
            tracing::warn!(plugin = %plugin, request = %request_id, host = %target.display(), "plugin reached for an HTTP host it was not granted");
            let portless = self.grants().http_hosts().find(|g| {
                HttpGrant::parse(&format!("{g}:{}", target.port))
                    .is_ok_and(|p| same_host(&p.host, &target.host))
            });
            let hint = portless.map_or_else(String::new, |g| {
                format!(
                    "; its grant `{g}` names no port: grant `{g}:{}` instead",
                    target.port
                )
            });
            return Err(http::HttpError::NotGranted(format!(
                "`{}` is not granted to plugin {plugin}{hint}",
                target.display()
            )));
        }
        let method = hyper::Method::from_bytes(req.method.as_bytes())
            .map_err(|_| http::HttpError::InvalidRequest(format!("bad method {}", req.method)))?;
        let mut builder = hyper::Request::builder()
            .method(method)
            .uri(target.path_and_query.as_str())
            .header(hyper::header::HOST, target.authority.as_str());
        for (name, value) in &req.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let request = builder
            .body(Full::new(Bytes::from(req.body)))
            .map_err(|e| http::HttpError::InvalidRequest(e.to_string()))?;
        Ok(Checked {
            target,
            request,
            grants,
        })
    }
}

/// Whether a grant's host is the URL's (addresses compared in their IPv4 form when they have
/// one: `::ffff:127.0.0.1` is `127.0.0.1`).
fn same_host(granted: &GrantHost, wanted: &GrantHost) -> bool {
    match (granted, wanted) {
        (GrantHost::Name(a), GrantHost::Name(b)) => a == b,
        (GrantHost::Address(a), GrantHost::Address(b)) => canonical(*a) == canonical(*b),
        _ => false,
    }
}

/// Where a plugin's request goes, from its URL.
struct Target {
    /// The host: a name (lower case, no trailing dot) or an address.
    host: GrantHost,
    /// The port, 80 when the URL has none.
    port: u16,
    /// `host[:port]` as in the URL: the `Host` header.
    authority: String,
    /// The origin-form request target (`/path?query`).
    path_and_query: String,
}

impl Target {
    /// The target of an absolute `http://` URL without user information.
    fn of(req: &http::Request) -> Result<Target, http::HttpError> {
        let invalid = |m: String| http::HttpError::InvalidRequest(m);
        let uri: hyper::Uri = req
            .url
            .parse()
            .map_err(|e| invalid(format!("bad URL: {e}")))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(invalid(
                    "TLS not supported yet: only http:// URLs can be reached".into(),
                ));
            }
            _ => {
                return Err(invalid(
                    "the URL must be absolute and start with http://".into(),
                ));
            }
        }
        let authority = uri
            .authority()
            .ok_or_else(|| invalid("the URL has no host".into()))?;
        if authority.as_str().contains('@') {
            return Err(invalid(
                "the URL may not carry a user or password: send credentials in a header".into(),
            ));
        }
        let host = authority.host().to_ascii_lowercase();
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let host = match bare.parse::<IpAddr>() {
            Ok(address) => GrantHost::Address(address),
            Err(_) if !bare.is_empty() => GrantHost::Name(bare.trim_end_matches('.').to_owned()),
            Err(_) => return Err(invalid("the URL has no host".into())),
        };
        Ok(Target {
            host,
            port: authority.port_u16().unwrap_or(HTTP_DEFAULT_PORT),
            authority: authority.as_str().to_owned(),
            path_and_query: uri
                .path_and_query()
                .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned()),
        })
    }

    /// `host:port`, as a grant would name it.
    fn display(&self) -> String {
        HttpGrant {
            host: self.host.clone(),
            port: self.port,
        }
        .to_string()
    }

    /// The addresses to connect to: the URL's address, or what its name resolves to (once:
    /// the connection goes to an address checked here, never to a second resolution).
    async fn resolve(&self) -> Result<Vec<SocketAddr>, http::HttpError> {
        match &self.host {
            GrantHost::Address(address) => Ok(vec![SocketAddr::new(*address, self.port)]),
            GrantHost::Name(name) => {
                let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), self.port))
                    .await
                    .map_err(|e| http::HttpError::Failed(format!("cannot resolve `{name}`: {e}")))?
                    .collect();
                if found.is_empty() {
                    return Err(http::HttpError::Failed(format!(
                        "`{name}` resolves to no address"
                    )));
                }
                Ok(found)
            }
        }
    }
}

/// Refuses the request when any address is internal ([`is_internal`]: loopback, private,
/// link-local...) and not itself granted with the port: a grant by name reaches the public
/// internet only.
fn check_addresses(
    target: &Target,
    addresses: &[SocketAddr],
    grants: &[HttpGrant],
) -> Result<(), http::HttpError> {
    for address in addresses {
        let ip = address.ip();
        if is_internal(ip) && !grants.iter().any(|g| g.is_address(ip, target.port)) {
            let literal = HttpGrant {
                host: GrantHost::Address(canonical(ip)),
                port: target.port,
            };
            return Err(http::HttpError::NotGranted(format!(
                "`{}` resolves to {ip}, an internal (loopback, private or link-local) address, \
                 which a grant by name does not reach: grant the address itself (`{literal}`) \
                 if it is meant to be reached",
                target.display()
            )));
        }
    }
    Ok(())
}

/// Sends `request` over a new connection to the first of `addresses` that answers, and reads
/// the response (at most [`HTTP_MAX_BODY`] bytes of body). One connection per request: a
/// pooled client would resolve names itself, after the check.
async fn exchange(
    addresses: &[SocketAddr],
    request: hyper::Request<Full<Bytes>>,
) -> Result<http::Response, http::HttpError> {
    let mut failures = Vec::new();
    let mut stream = None;
    for address in addresses {
        match tokio::net::TcpStream::connect(address).await {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => failures.push(format!("{address}: {e}")),
        }
    }
    let stream = stream.ok_or_else(|| {
        http::HttpError::Failed(format!("cannot connect: {}", failures.join("; ")))
    })?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| http::HttpError::Failed(e.to_string()))?;
    let work = async move {
        let response = sender
            .send_request(request)
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
    // The connection is driven here, alongside the exchange, rather than spawned: it ends with
    // the call.
    let mut connection = std::pin::pin!(connection);
    let mut work = std::pin::pin!(work);
    tokio::select! {
        out = &mut work => out,
        closed = &mut connection => match closed {
            Ok(()) => work.await,
            Err(e) => Err(http::HttpError::Failed(e.to_string())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::capability::testing::call_state_on;
    use crate::plugins::contract::v1_1::jingxun::plugin::http::Host as _;
    use crate::plugins::grants::Grants;
    use crate::store::Store;

    /// The call state of a plugin granted `granted` (its store is not used by `http`).
    async fn state(granted: &[&str]) -> HostState {
        let mut grants = Grants::new("web", "1.0.0");
        for host in granted {
            grants.grant_http_host(host);
        }
        let store = Store::connect("sqlite::memory:").await.unwrap();
        call_state_on(grants, store)
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
        recording_server().await.0
    }

    /// A one-shot HTTP server on loopback that answers `hello` and hands over the request it
    /// read (its head), or nothing when nobody connected before the sender was dropped.
    async fn recording_server() -> (u16, tokio::sync::oneshot::Receiver<String>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (seen, heard) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let n = socket.read(&mut buf).await.unwrap_or(0);
            let _ = seen.send(String::from_utf8_lossy(&buf[..n]).into_owned());
            let _ = socket
                .write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
                )
                .await;
        });
        (port, heard)
    }

    /// `send` on a blocking thread, as the plugin runtime calls it.
    async fn send_from_plugin(
        mut s: HostState,
        request: http::Request,
    ) -> Result<http::Response, http::HttpError> {
        tokio::task::spawn_blocking(move || s.host_call().send(request).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_name_granted_without_its_address_does_not_reach_loopback_but_the_address_granted_does()
     {
        let port = server().await;
        // `localhost` resolves to loopback: granted by name, it is refused after resolution.
        let by_name = state(&[&format!("localhost:{port}")]).await;
        let refused = send_from_plugin(by_name, get(&format!("http://localhost:{port}/x"))).await;
        assert!(
            matches!(&refused, Err(http::HttpError::NotGranted(m))
                if m.contains("internal") && m.contains(&format!(":{port}`"))),
            "{refused:?}"
        );
        // Granted by address, the same server answers.
        let by_address = state(&[&format!("127.0.0.1:{port}")]).await;
        let response = send_from_plugin(by_address, get(&format!("http://127.0.0.1:{port}/x")))
            .await
            .unwrap();
        assert_eq!(
            (response.status, response.body.as_slice()),
            (200, &b"hello"[..])
        );
        // Its IPv4-mapped IPv6 form is the same address.
        let port = server().await;
        let mapped = state(&[&format!("127.0.0.1:{port}")]).await;
        let answer =
            send_from_plugin(mapped, get(&format!("http://[::ffff:127.0.0.1]:{port}/x"))).await;
        assert!(
            !matches!(answer, Err(http::HttpError::NotGranted(_))),
            "{answer:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_grant_reaches_its_own_port_only_and_one_without_a_port_reaches_nothing() {
        let port = server().await;
        let other_port = state(&[&format!("127.0.0.1:{}", port.wrapping_add(1).max(1))]).await;
        let refused = send_from_plugin(other_port, get(&format!("http://127.0.0.1:{port}/"))).await;
        assert!(
            matches!(&refused, Err(http::HttpError::NotGranted(_))),
            "{refused:?}"
        );
        // A grant stored before ports were required: refused, with what to grant instead.
        let portless = state(&["127.0.0.1"]).await;
        let refused = send_from_plugin(portless, get(&format!("http://127.0.0.1:{port}/"))).await;
        assert!(
            matches!(&refused, Err(http::HttpError::NotGranted(m))
                if m.contains(&format!("grant `127.0.0.1:{port}` instead"))),
            "{refused:?}"
        );
        // No port in the URL is port 80, which a grant must name.
        let portless_url = state(&[&format!("127.0.0.1:{port}")]).await;
        let refused = send_from_plugin(portless_url, get("http://127.0.0.1/")).await;
        assert!(
            matches!(&refused, Err(http::HttpError::NotGranted(m)) if m.contains("127.0.0.1:80")),
            "{refused:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn headers_that_belong_to_the_host_or_the_connection_are_refused() {
        for name in [
            "Host",
            "host",
            "Connection",
            "Keep-Alive",
            "Proxy-Authorization",
            "proxy-connection",
            "TE",
            "Trailer",
            "Transfer-Encoding",
            "Upgrade",
            "Content-Length",
        ] {
            let (port, heard) = recording_server().await;
            let s = state(&[&format!("127.0.0.1:{port}")]).await;
            let mut request = get(&format!("http://127.0.0.1:{port}/x"));
            request.headers.push((name.into(), "evil.example".into()));
            let refused = send_from_plugin(s, request).await;
            assert!(
                matches!(&refused, Err(http::HttpError::InvalidRequest(m)) if m.contains(name)),
                "{name}: {refused:?}"
            );
            // Nothing was sent: the server never heard from the plugin.
            let port_probe = tokio::net::TcpStream::connect(("127.0.0.1", port)).await;
            drop(port_probe);
            assert_ne!(
                heard.await.ok().map(|r| r.is_empty()),
                Some(false),
                "{name}: the request went out"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_request_carries_the_urls_host_and_the_plugins_own_headers() {
        let (port, heard) = recording_server().await;
        let s = state(&[&format!("127.0.0.1:{port}")]).await;
        let response = send_from_plugin(s, get(&format!("http://127.0.0.1:{port}/x?plate=A1")))
            .await
            .unwrap();
        assert_eq!(response.status, 200);
        let request = heard.await.unwrap().to_ascii_lowercase();
        assert!(
            request.starts_with("get /x?plate=a1 http/1.1\r\n"),
            "{request}"
        );
        assert!(
            request.contains(&format!("\r\nhost: 127.0.0.1:{port}\r\n")),
            "{request}"
        );
        assert!(request.contains("\r\nx-test: 1\r\n"), "{request}");
    }

    #[test]
    fn urls_with_credentials_or_without_http_are_invalid() {
        for url in [
            "http://user:pw@127.0.0.1:80/",
            "ftp://127.0.0.1:21/",
            "/relative",
            "https://127.0.0.1:443/",
        ] {
            assert!(
                matches!(
                    Target::of(&get(url)),
                    Err(http::HttpError::InvalidRequest(_))
                ),
                "{url}"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn http_reaches_granted_hosts_only_and_plain_http_only() {
        let port = server().await;
        let granted = format!("127.0.0.1:{port}");
        let mut s = state(&[&granted]).await;
        let answers = tokio::task::spawn_blocking(move || {
            (
                s.host_call()
                    .send(get(&format!("http://127.0.0.1:{port}/x")))
                    .unwrap(),
                s.host_call().send(get("http://10.1.2.3/x")).unwrap(),
                s.host_call()
                    .send(get(&format!("https://127.0.0.1:{port}/x")))
                    .unwrap(),
                s.host_call().send(get("not a url")).unwrap(),
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

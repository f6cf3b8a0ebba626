//! Who sent a request: the address that the API's network limits, per-source budgets and audit
//! rows, and the web admin's sign-in records, all use. It is the TCP peer, unless the peer is a
//! reverse proxy named in `http.trusted_proxies`: then it is the address that proxy says it
//! forwarded for (`X-Forwarded-For`), read from the right, past every trusted proxy. A client
//! can write anything into `X-Forwarded-For`, so the header is never believed from anyone
//! else, and of a trusted proxy's header only what the trusted proxies appended counts.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

/// The header a reverse proxy appends the address of its client to.
pub const FORWARDED_FOR: &str = "x-forwarded-for";

/// The address a request came from, as [`resolve`] found it; a request extension set by
/// [`layer`] (absent when the server was started without peer addresses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

/// The reverse proxies whose `X-Forwarded-For` is believed (`http.trusted_proxies`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Arc<Vec<IpNet>>);

impl TrustedProxies {
    /// The proxies in `networks` (already checked by the configuration).
    pub fn new(networks: Vec<IpNet>) -> TrustedProxies {
        TrustedProxies(Arc::new(networks))
    }

    fn trusts(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.0.iter().any(|net| net.contains(&address))
    }
}

/// The client of a request from `peer` with `headers`: `peer` itself unless it is a trusted
/// proxy; then the entries of `X-Forwarded-For` (every such header, in order, comma-separated)
/// from the right: the first that is not a trusted proxy. An entry that is not an address ends
/// the walk at the proxy that wrote it (the request is then its own).
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let mut client = peer.to_canonical();
    if !trusted.trusts(client) {
        return client;
    }
    let entries: Vec<&str> = headers
        .get_all(FORWARDED_FOR)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    for entry in entries.iter().rev() {
        match entry.parse::<IpAddr>() {
            Ok(address) => {
                client = address.to_canonical();
                if !trusted.trusts(client) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

/// Reads a network: CIDR (`10.0.0.0/8`, host bits dropped) or one address (a /32 or /128);
/// `None` when the text is neither.
pub fn parse_network(text: &str) -> Option<IpNet> {
    let text = text.trim();
    if let Ok(net) = text.parse::<IpNet>() {
        return Some(net.trunc());
    }
    let address = text.parse::<IpAddr>().ok()?;
    let bits = if address.is_ipv4() { 32 } else { 128 };
    IpNet::new(address, bits).ok()
}

/// The middleware that sets [`ClientAddress`] on every request that has a peer address.
pub async fn layer(
    State(trusted): State<TrustedProxies>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    if let Some(peer) = peer {
        let client = resolve(peer, request.headers(), &trusted);
        request.extensions_mut().insert(ClientAddress(client));
    }
    next.run(request).await
}

/// The [`ClientAddress`] of `request`, if [`layer`] set one.
pub fn of(request: &Request) -> Option<IpAddr> {
    request
        .extensions()
        .get::<ClientAddress>()
        .map(|client| client.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(FORWARDED_FOR, value.parse().expect("header value"));
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    fn proxies(networks: &[&str]) -> TrustedProxies {
        TrustedProxies::new(
            networks
                .iter()
                .map(|n| n.parse().expect("network"))
                .collect(),
        )
    }

    #[test]
    fn the_header_is_ignored_unless_the_peer_is_a_trusted_proxy() {
        let forged = headers(&["10.1.2.3"]);
        assert_eq!(
            resolve(ip("192.0.2.9"), &forged, &TrustedProxies::default()),
            ip("192.0.2.9")
        );
        assert_eq!(
            resolve(ip("192.0.2.9"), &forged, &proxies(&["10.0.0.0/8"])),
            ip("192.0.2.9"),
            "a client inside no trusted network cannot claim one"
        );
    }

    #[test]
    fn behind_trusted_proxies_the_client_is_the_rightmost_untrusted_entry() {
        let trusted = proxies(&["10.0.0.0/24", "127.0.0.1/32"]);
        // The client wrote a fake entry first; the two proxies appended theirs.
        let chain = headers(&["198.51.100.66, 203.0.113.7", "10.0.0.5"]);
        assert_eq!(
            resolve(ip("127.0.0.1"), &chain, &trusted),
            ip("203.0.113.7")
        );
        // IPv4 seen through an IPv6 listener counts as IPv4.
        assert_eq!(
            resolve(ip("::ffff:127.0.0.1"), &headers(&["203.0.113.8"]), &trusted),
            ip("203.0.113.8")
        );
        // A proxy that forwarded no header: the request is the proxy's own.
        assert_eq!(
            resolve(ip("127.0.0.1"), &HeaderMap::new(), &trusted),
            ip("127.0.0.1")
        );
        // Garbage ends the walk at the proxy that passed it on.
        assert_eq!(
            resolve(
                ip("127.0.0.1"),
                &headers(&["203.0.113.9, unknown"]),
                &trusted
            ),
            ip("127.0.0.1")
        );
    }
}

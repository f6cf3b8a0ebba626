//! What a plugin's HTTP grant names and what it lets the plugin reach (security review, issue 18
//! finding 9).
//!
//! A grant names a host and a port: `registry.police.internal:443`, `10.2.3.4:8080`,
//! `[fd00::7]:80`. A grant without a port is refused, so that granting a name never opens every
//! service on it. A host name granted this way reaches public addresses only: when the name
//! resolves to an address that is not public (loopback, private, link-local, unspecified... see
//! [`is_internal`]), the request is refused unless that address itself is granted with the port
//! (`127.0.0.1:8089`). The host then connects to the address it checked, never resolving the
//! name a second time, so that a DNS answer that changes between the check and the connection
//! (DNS rebinding) cannot lead a plugin into the internal network.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The port an `http://` URL without one reaches.
pub const HTTP_DEFAULT_PORT: u16 = 80;

/// A host name or an address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GrantHost {
    /// A DNS name, lower case, without a trailing dot.
    Name(String),
    /// An address literal: the grant reaches this address even when it is not public.
    Address(IpAddr),
}

/// One HTTP grant: what a plugin may reach.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HttpGrant {
    pub host: GrantHost,
    pub port: u16,
}

/// Why a grant's text is refused. Each message says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpGrantError {
    /// No `:port`.
    #[error(
        "the HTTP grant `{0}` names no port: add one, e.g. `{0}:443` for HTTPS or `{0}:80` for HTTP"
    )]
    MissingPort(String),
    /// The port is not 1-65535.
    #[error("the port of the HTTP grant `{0}` must be a number from 1 to 65535")]
    BadPort(String),
    /// Not a host name or address (scheme, path, user, wildcard...).
    #[error(
        "the HTTP grant `{0}` must be HOST:PORT, a host name or address and a port without scheme or path, e.g. api.example.cn:443, 10.0.0.5:8080 or [fd00::5]:80"
    )]
    BadHost(String),
}

impl HttpGrant {
    /// Parses `host:port`, `a.b.c.d:port` or `[v6]:port` (case-insensitive; surrounding white
    /// space ignored).
    pub fn parse(text: &str) -> Result<HttpGrant, HttpGrantError> {
        let text = text.trim().to_ascii_lowercase();
        let bad_host = || HttpGrantError::BadHost(text.clone());
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (address, after) = rest.split_once(']').ok_or_else(bad_host)?;
            let address: Ipv6Addr = address.parse().map_err(|_| bad_host())?;
            let port = match after.strip_prefix(':') {
                Some(port) => port,
                None if after.is_empty() => {
                    return Err(HttpGrantError::MissingPort(text.clone()));
                }
                None => return Err(bad_host()),
            };
            (GrantHost::Address(IpAddr::V6(address)), port)
        } else {
            if text.parse::<Ipv6Addr>().is_ok() {
                // A bare IPv6 address: its colons are not a port.
                return Err(HttpGrantError::MissingPort(format!("[{text}]")));
            }
            let Some((host, port)) = text.rsplit_once(':') else {
                return if valid_name(&text) || text.parse::<Ipv4Addr>().is_ok() {
                    Err(HttpGrantError::MissingPort(text.clone()))
                } else {
                    Err(bad_host())
                };
            };
            let host = match host.parse::<Ipv4Addr>() {
                Ok(address) => GrantHost::Address(IpAddr::V4(address)),
                Err(_) if valid_name(host) => {
                    GrantHost::Name(host.trim_end_matches('.').to_owned())
                }
                Err(_) => return Err(bad_host()),
            };
            (host, port)
        };
        if !port.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad_host());
        }
        let port = port
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| HttpGrantError::BadPort(text.clone()))?;
        Ok(HttpGrant { host, port })
    }

    /// Whether this grant names exactly this address and port.
    pub fn is_address(&self, address: IpAddr, port: u16) -> bool {
        self.port == port
            && matches!(self.host, GrantHost::Address(a) if canonical(a) == canonical(address))
    }
}

impl fmt::Display for HttpGrant {
    /// The canonical text: `name:port`, `a.b.c.d:port` or `[v6]:port`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            GrantHost::Name(name) => write!(f, "{name}:{}", self.port),
            GrantHost::Address(IpAddr::V6(a)) => write!(f, "[{a}]:{}", self.port),
            GrantHost::Address(IpAddr::V4(a)) => write!(f, "{a}:{}", self.port),
        }
    }
}

/// A DNS name: labels of ASCII letters, digits and '-', not starting or ending with '-', at
/// most 253 characters; at least one letter somewhere (so that `1.2.3` is not taken for a name).
fn valid_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.chars().any(|c| c.is_ascii_alphabetic())
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// The IPv4 address an IPv6 address stands for (IPv4-mapped `::ffff:a.b.c.d`, the deprecated
/// IPv4-compatible `::a.b.c.d` and the NAT64 prefix `64:ff9b::/96`), else the address itself.
pub fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let s = v6.segments();
            let embedded =
                Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
            let compatible = s[..6] == [0; 6] && !v6.is_loopback() && !v6.is_unspecified();
            let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
            if compatible || nat64 {
                IpAddr::V4(embedded)
            } else {
                address
            }
        }
        v4 => v4,
    }
}

/// Whether an address is not on the public internet, so that a plugin may reach it only when it
/// is granted by address: loopback, private (RFC 1918, IPv6 unique local `fc00::/7`), link-local
/// (`169.254.0.0/16`, `fe80::/10`), unspecified and "this network" (`0.0.0.0/8`, `::`), shared
/// carrier-grade NAT space (`100.64.0.0/10`), broadcast, multicast, the deprecated site-local
/// `fec0::/10`, and every IPv6 form of those IPv4 addresses ([`canonical`]).
pub fn is_internal(address: IpAddr) -> bool {
    match canonical(address) {
        IpAddr::V4(a) => {
            let [first, second, ..] = a.octets();
            a.is_loopback()
                || a.is_private()
                || a.is_link_local()
                || a.is_unspecified()
                || first == 0
                || (first == 100 && (64..128).contains(&second))
                || a.is_broadcast()
                || a.is_multicast()
        }
        IpAddr::V6(a) => {
            let first = a.segments()[0];
            a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first & 0xffc0) == 0xfec0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_grant_names_a_host_and_a_port() {
        let grant = HttpGrant::parse(" Registry.Police.Internal:443 ").unwrap();
        assert_eq!(
            grant,
            HttpGrant {
                host: GrantHost::Name("registry.police.internal".into()),
                port: 443
            }
        );
        assert_eq!(grant.to_string(), "registry.police.internal:443");
        let by_address = HttpGrant::parse("127.0.0.1:8089").unwrap();
        assert_eq!(by_address.host, GrantHost::Address(ip("127.0.0.1")));
        assert!(by_address.is_address(ip("127.0.0.1"), 8089));
        assert!(by_address.is_address(ip("::ffff:127.0.0.1"), 8089));
        assert!(!by_address.is_address(ip("127.0.0.1"), 8090));
        let v6 = HttpGrant::parse("[FD00::7]:80").unwrap();
        assert_eq!(v6.host, GrantHost::Address(ip("fd00::7")));
        assert_eq!(v6.to_string(), "[fd00::7]:80");
    }

    #[test]
    fn a_grant_without_a_port_is_refused_with_what_to_add() {
        for text in ["api.example.cn", "10.0.0.5", "[fd00::7]", "fd00::7"] {
            let error = HttpGrant::parse(text).unwrap_err();
            assert!(
                matches!(error, HttpGrantError::MissingPort(_)),
                "{text}: {error:?}"
            );
            assert!(error.to_string().contains(":443"), "{error}");
        }
        assert_eq!(
            HttpGrant::parse("api.example.cn").unwrap_err().to_string(),
            "the HTTP grant `api.example.cn` names no port: add one, e.g. `api.example.cn:443` for HTTPS or `api.example.cn:80` for HTTP"
        );
    }

    #[test]
    fn grants_that_are_not_host_and_port_are_refused() {
        for text in [
            "http://api.example.cn:80",
            "api.example.cn:80/path",
            "user@api.example.cn:80",
            "*.example.cn:443",
            "api..example.cn:443",
            "-api.example.cn:443",
            "",
            ":80",
            "[fd00::7]x",
            "[not-v6]:80",
            "api.example.cn:+80",
        ] {
            assert!(
                matches!(HttpGrant::parse(text), Err(HttpGrantError::BadHost(_))),
                "{text}: {:?}",
                HttpGrant::parse(text)
            );
        }
        for text in ["api.example.cn:0", "api.example.cn:65536", "a.cn:"] {
            assert!(
                matches!(HttpGrant::parse(text), Err(HttpGrantError::BadPort(_))),
                "{text}: {:?}",
                HttpGrant::parse(text)
            );
        }
    }

    #[test]
    fn loopback_private_link_local_and_unspecified_addresses_are_internal() {
        for internal in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.254",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "100.64.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            // IPv6 forms of internal IPv4 addresses.
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:0.0.0.0",
            "::10.0.0.1",
            "64:ff9b::192.168.0.1",
        ] {
            assert!(is_internal(ip(internal)), "{internal} is internal");
        }
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "172.15.255.255",
            "100.128.0.1",
            "169.255.0.1",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
        ] {
            assert!(!is_internal(ip(public)), "{public} is public");
        }
    }
}

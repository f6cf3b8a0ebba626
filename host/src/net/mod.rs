//! Who is on the other end of a connection: the client address of an HTTP request behind
//! trusted reverse proxies, IP networks as the configuration names them, and the certificate
//! authorities a TLS client trusts. Low in the layers: the configuration, the API, the web
//! admin and the HTTP server all use it, and it uses none of them.

pub mod ca_file;
pub mod client_address;

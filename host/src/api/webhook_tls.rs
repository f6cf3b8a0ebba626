//! Trust for `https://` webhooks: the connector the webhook dispatcher POSTs through, with
//! rustls (ring provider, TLS 1.2 and 1.3) verifying the client's certificate and host name
//! against the system's certificate authorities plus those of `[webhooks] ca_file` (a police
//! network's own CA, say). `http://` URLs go through the same connector in the clear.

use std::path::Path;
use std::sync::Arc;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;

use crate::net::ca_file::{CaFileError, load_ca_file};

/// Why the webhook TLS client could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum WebhookTlsError {
    /// `[webhooks] ca_file` cannot be used.
    #[error(transparent)]
    CaFile(#[from] CaFileError),
    /// rustls refused its own configuration (it should not).
    #[error("cannot set up TLS for webhooks: {0}")]
    Config(#[from] rustls::Error),
}

/// The dispatcher's connector: `https://` verified against the system's CAs and `ca_file`'s,
/// `http://` in the clear; connecting gives up after `connect_timeout`.
pub fn connector(
    ca_file: Option<&Path>,
    connect_timeout: std::time::Duration,
) -> Result<HttpsConnector<HttpConnector>, WebhookTlsError> {
    let mut roots = rustls::RootCertStore::empty();
    let system = rustls_native_certs::load_native_certs();
    for error in &system.errors {
        tracing::warn!(%error, "a system CA certificate could not be read; it is not trusted for webhooks");
    }
    let (system_count, _) = roots.add_parsable_certificates(system.certs);
    let mut own_count = 0;
    if let Some(path) = ca_file {
        own_count = roots.add_parsable_certificates(load_ca_file(path)?).0;
    }
    if roots.is_empty() {
        tracing::warn!(
            "no CA certificate is trusted (none in the system store, no [webhooks] ca_file): \
             https:// webhooks will fail until one is"
        );
    } else {
        tracing::debug!(
            system = system_count,
            ca_file = own_count,
            "webhook TLS roots loaded"
        );
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(connect_timeout));
    http.enforce_http(false);
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pem_file_of_two_certificates_gives_both_and_builds_a_connector() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("police-ca.pem");
        let pem: String = (0..2)
            .map(|i| {
                rcgen::generate_simple_self_signed(vec![format!("ca{i}.police.internal")])
                    .unwrap()
                    .cert
                    .pem()
            })
            .collect();
        std::fs::write(&path, pem).unwrap();
        assert_eq!(load_ca_file(&path).unwrap().len(), 2);
        assert!(connector(Some(&path), std::time::Duration::from_secs(1)).is_ok());
    }
}

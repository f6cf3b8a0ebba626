//! Trust for `https://` webhooks: the connector the webhook dispatcher POSTs through, with
//! rustls (ring provider, TLS 1.2 and 1.3) verifying the client's certificate and host name
//! against the system's certificate authorities plus those of `[webhooks] ca_file` (a police
//! network's own CA, say). `http://` URLs go through the same connector in the clear.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// Why the webhook TLS client could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum WebhookTlsError {
    /// `[webhooks] ca_file` cannot be used.
    #[error(
        "cannot use the CA file {path}: {reason}; give a PEM file of one or more \
         certificates (-----BEGIN CERTIFICATE-----)"
    )]
    CaFile { path: PathBuf, reason: String },
    /// rustls refused its own configuration (it should not).
    #[error("cannot set up TLS for webhooks: {0}")]
    Config(#[from] rustls::Error),
}

/// The certificates of a PEM file: at least one, else an error saying what was wrong.
pub fn load_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, WebhookTlsError> {
    let fail = |reason: String| WebhookTlsError::CaFile {
        path: path.to_owned(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(format!("it is not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(fail("it holds no certificate".into()));
    }
    let mut roots = rustls::RootCertStore::empty();
    let (_, unusable) = roots.add_parsable_certificates(certs.iter().cloned());
    if unusable > 0 {
        return Err(fail(format!(
            "{unusable} of its {} certificates cannot be read as a CA certificate",
            certs.len()
        )));
    }
    Ok(certs)
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
    fn a_ca_file_that_is_missing_empty_or_not_pem_is_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let error = load_ca_file(&missing).unwrap_err().to_string();
        assert!(error.contains("missing.pem"), "{error}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").unwrap();
        let error = load_ca_file(&empty).unwrap_err().to_string();
        assert!(error.contains("holds no certificate"), "{error}");
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(
            &garbage,
            "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let error = load_ca_file(&garbage).unwrap_err().to_string();
        assert!(error.contains("cannot be read"), "{error}");
    }

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

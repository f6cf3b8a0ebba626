//! A PEM file of certificate authorities (`[webhooks] ca_file`: a police network's own CA, say),
//! read once by the configuration check and again by the TLS client that trusts it.

use std::path::{Path, PathBuf};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// Why a CA file cannot be used.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot use the CA file {path}: {reason}; give a PEM file of one or more \
     certificates (-----BEGIN CERTIFICATE-----)"
)]
pub struct CaFileError {
    pub path: PathBuf,
    pub reason: String,
}

/// The certificates of a PEM file: at least one, else an error saying what was wrong.
pub fn load_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, CaFileError> {
    let fail = |reason: String| CaFileError {
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
}

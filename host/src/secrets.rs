//! The platform key: 32 random bytes kept in a file outside the database (`[secrets]
//! key_file`), so that someone who can write the database but not read that file (a database
//! owner, a restored dump, a stolen backup) cannot forge what the key protects.
//!
//! The key is loaded once ([`Secrets::load`], or [`open_store`](crate::store::open_store) for the
//! daemon and the command line) and never used directly: each purpose derives a subkey of its own with
//! [`Secrets::subkey`], HKDF-SHA256 (RFC 5869) with the salt `jingxun-secrets-v1` and the
//! purpose as `info`, so that a subkey leaked or misused in one place says nothing about the
//! others. Purposes so far: [`AUDIT_CHAIN`] (the audit log's HMAC chain, see
//! `store/audit/chain.rs`), [`WEB_TOTP`] (web users' TOTP secrets, sealed at rest with
//! [`SubKey::seal`]) and [`WEB_RECOVERY_CODES`] (the keyed hashes of their recovery codes; see
//! `auth/totp.rs`).
//!
//! The file holds the key as 64 hexadecimal digits (a trailing newline and surrounding
//! whitespace are ignored), which survives copying into a password safe or a backup note. When
//! it is missing, [`open_store`](crate::store::open_store) creates it (mode 0600, never replacing a file that appears in
//! the meantime), unless the audit log was already keyed: then the key was lost or moved, and a
//! new one would key the log's rest with a key nobody can check the start with, so it stops
//! and says to restore the file. A key file that the group or others may read or write is
//! refused rather than used: anyone who reads it can forge the chain.
//!
//! Back the file up with the database's backups but never inside them: a backup that holds
//! both lets its reader rewrite the audit log unnoticed again. The key never appears in a log,
//! an error or a `Debug` output (they print `[redacted]`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::config::Config;

/// The key file's name when `[secrets] key_file` is not set.
pub const DEFAULT_KEY_FILE: &str = "jingxun.key";

/// The subkey purpose of the audit log's keyed hash chain.
pub const AUDIT_CHAIN: &str = "audit-chain";

/// The subkey purpose that seals web users' TOTP secrets in the database ([`SubKey::seal`]).
pub const WEB_TOTP: &str = "web-totp";

/// The subkey purpose of the keyed hashes (HMAC-SHA256) of web users' recovery codes.
pub const WEB_RECOVERY_CODES: &str = "web-recovery-codes";

/// The HKDF salt: fixed, so that the same key file always gives the same subkeys.
const HKDF_SALT: &[u8] = b"jingxun-secrets-v1";

/// Bytes in the key and in each subkey.
pub const KEY_BYTES: usize = 32;

/// Why the platform key could not be loaded or created. Every message names
/// `secrets.key_file` and the path, and never the key.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// There is no file at the path.
    #[error(
        "the platform key file `{}` (secrets.key_file) does not exist; restore it from the \
         backup kept beside the database's, or set secrets.key_file to where it is",
        path.display()
    )]
    Missing {
        /// The configured or default path.
        path: PathBuf,
    },
    /// The file is missing although the audit log was keyed: a new key would not match.
    #[error(
        "the platform key file `{}` (secrets.key_file) does not exist, but the audit log was \
         keyed with it from row {keyed_from}: restore the file from its backup (or set \
         secrets.key_file to where it is); a new key could not check the log",
        path.display()
    )]
    MissingForKeyedLog {
        /// The configured or default path.
        path: PathBuf,
        /// The first keyed row.
        keyed_from: i64,
    },
    /// The file exists but cannot be read.
    #[error(
        "cannot read the platform key file `{}` (secrets.key_file): {source}; the user running \
         jingxun must be able to read it",
        path.display()
    )]
    Unreadable {
        /// The configured or default path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The group or others may read or write the file.
    #[error(
        "the platform key file `{}` (secrets.key_file) has mode {mode:03o}: the group or others \
         may read or change it, and whoever reads it can forge the audit log; run `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    TooOpen {
        /// The configured or default path.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file does not hold 64 hexadecimal digits.
    #[error(
        "the platform key file `{}` (secrets.key_file) does not hold a key: it must contain \
         exactly 64 hexadecimal digits (32 bytes); restore it from its backup",
        path.display()
    )]
    Malformed {
        /// The configured or default path.
        path: PathBuf,
    },
    /// A new key file could not be written.
    #[error(
        "cannot create the platform key file `{}` (secrets.key_file): {source}; check that its \
         folder exists and is writable, or set secrets.key_file",
        path.display()
    )]
    Create {
        /// The configured or default path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// The platform key, loaded once; cheap to clone. `Debug` prints `[redacted]`.
#[derive(Clone)]
pub struct Secrets {
    master: Arc<Zeroizing<[u8; KEY_BYTES]>>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secrets([redacted])")
    }
}

/// A key derived for one purpose ([`Secrets::subkey`]). `Debug` prints `[redacted]`.
#[derive(Clone)]
pub struct SubKey(Arc<Zeroizing<[u8; KEY_BYTES]>>);

impl SubKey {
    /// The key bytes, for the one primitive that uses them (an HMAC, an AEAD).
    pub fn expose(&self) -> &[u8; KEY_BYTES] {
        &self.0
    }
}

/// Why a sealed value could not be made or opened. Never names the key or the value.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The operating system gave no random bytes for a nonce.
    #[error("no random bytes from the system for a nonce: {0}")]
    Random(String),
    /// The text is not a sealed value of this format.
    #[error("a sealed value in the database is malformed")]
    Malformed,
    /// It does not open: another platform key sealed it, or it was changed or moved to
    /// another row.
    #[error(
        "a sealed value in the database does not open with this platform key (secrets.key_file): \
         the key file is another one than the one it was sealed with, or the value was changed"
    )]
    WrongKey,
}

/// The prefix of [`SubKey::seal`]'s text form, naming its format.
const SEALED_V1: &str = "v1.";
/// Bytes in an XChaCha20-Poly1305 nonce.
const NONCE_BYTES: usize = 24;

impl SubKey {
    /// Seals `plain` for storage: XChaCha20-Poly1305 under this subkey with a random 24-byte
    /// nonce, `context` (such as the row's login) as associated data, so that a sealed value
    /// copied into another row does not open there. The text form is `v1.` and the hex of
    /// the nonce, the ciphertext and the 16-byte tag.
    pub fn seal(&self, plain: &[u8], context: &str) -> Result<String, SealError> {
        use chacha20poly1305::aead::{Aead, KeyInit, Payload};
        use rand::TryRng;
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rngs::SysRng
            .try_fill_bytes(&mut nonce)
            .map_err(|e| SealError::Random(e.to_string()))?;
        let cipher = chacha20poly1305::XChaCha20Poly1305::new(self.0.as_slice().into());
        let sealed = cipher
            .encrypt(
                (&nonce).into(),
                Payload {
                    msg: plain,
                    aad: context.as_bytes(),
                },
            )
            // Encryption fails only for inputs of gigabytes.
            .map_err(|_| SealError::Malformed)?;
        Ok(format!(
            "{SEALED_V1}{}{}",
            hex::encode(nonce),
            hex::encode(sealed)
        ))
    }

    /// Opens what [`SubKey::seal`] sealed with this subkey and the same `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Zeroizing<Vec<u8>>, SealError> {
        use chacha20poly1305::aead::{Aead, KeyInit, Payload};
        let bytes = sealed
            .strip_prefix(SEALED_V1)
            .and_then(|h| hex::decode(h).ok())
            .filter(|b| b.len() >= NONCE_BYTES + 16)
            .ok_or(SealError::Malformed)?;
        let (nonce, body) = bytes.split_at(NONCE_BYTES);
        let cipher = chacha20poly1305::XChaCha20Poly1305::new(self.0.as_slice().into());
        cipher
            .decrypt(
                nonce.into(),
                Payload {
                    msg: body,
                    aad: context.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| SealError::WrongKey)
    }
}

impl fmt::Debug for SubKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SubKey([redacted])")
    }
}

impl Secrets {
    /// A key of these bytes (tests, and keys kept somewhere else than a file).
    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> Secrets {
        Secrets {
            master: Arc::new(Zeroizing::new(bytes)),
        }
    }

    /// A fresh key from the operating system's random generator (what [`Secrets::create`]
    /// writes; benchmarks on throw-away databases use one that lives as long as the process).
    pub fn generate() -> std::io::Result<Secrets> {
        use rand::TryRng;
        let mut bytes = Zeroizing::new([0u8; KEY_BYTES]);
        rand::rngs::SysRng
            .try_fill_bytes(&mut bytes[..])
            .map_err(|e| std::io::Error::other(format!("no random bytes from the system: {e}")))?;
        Ok(Secrets::from_bytes(*bytes))
    }

    /// The fixed key the library's own tests key their stores with.
    #[cfg(test)]
    pub(crate) fn for_tests() -> Secrets {
        Secrets::from_bytes(*b"jingxun test key, never deployed")
    }

    /// The subkey for `purpose` (such as [`AUDIT_CHAIN`]): HKDF-SHA256 with the salt
    /// `jingxun-secrets-v1`, the platform key as input key material, `purpose` (UTF-8) as info,
    /// 32 bytes of output.
    pub fn subkey(&self, purpose: &str) -> SubKey {
        let hkdf = Hkdf::<Sha256>::new(Some(HKDF_SALT), &self.master[..]);
        let mut okm = Zeroizing::new([0u8; KEY_BYTES]);
        // 32 bytes is far below HKDF-SHA256's limit of 255 × 32, so expanding cannot fail.
        hkdf.expand(purpose.as_bytes(), &mut okm[..])
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        SubKey(Arc::new(okm))
    }

    /// Reads the key file at `path`: it must exist, be private to its owner (no group or
    /// other permission bits) and hold 64 hexadecimal digits.
    pub fn load(path: &Path) -> Result<Secrets, SecretsError> {
        use std::os::unix::fs::PermissionsExt;
        let metadata = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(SecretsError::Missing {
                    path: path.to_owned(),
                });
            }
            Err(source) => {
                return Err(SecretsError::Unreadable {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(SecretsError::TooOpen {
                path: path.to_owned(),
                mode,
            });
        }
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|source| {
            SecretsError::Unreadable {
                path: path.to_owned(),
                source,
            }
        })?);
        let digits = text.trim();
        let mut bytes = Zeroizing::new([0u8; KEY_BYTES]);
        if digits.len() != 2 * KEY_BYTES || hex::decode_to_slice(digits, &mut bytes[..]).is_err() {
            return Err(SecretsError::Malformed {
                path: path.to_owned(),
            });
        }
        Ok(Secrets::from_bytes(*bytes))
    }

    /// Creates a new random key file at `path` (mode 0600, written in full before it appears
    /// under its name) and returns its key. If a file appeared there in the meantime (another
    /// process starting at the same moment), that one is loaded instead: never replaced.
    pub fn create(path: &Path) -> Result<Secrets, SecretsError> {
        use std::io::Write;
        let create_error = |source| SecretsError::Create {
            path: path.to_owned(),
            source,
        };
        let folder = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let secrets = Secrets::generate().map_err(create_error)?;
        let text = Zeroizing::new(format!("{}\n", hex::encode(&secrets.master[..])));
        // A temporary file is created with mode 0600; linking it to its name fails rather than
        // replacing a file, so a reader never sees a half-written key.
        let mut file = tempfile::Builder::new()
            .prefix(".jingxun-key-")
            .tempfile_in(folder)
            .map_err(create_error)?;
        file.write_all(text.as_bytes()).map_err(create_error)?;
        file.as_file().sync_all().map_err(create_error)?;
        match file.persist_noclobber(path) {
            Ok(_) => {}
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                return Secrets::load(path);
            }
            Err(e) => return Err(create_error(e.error)),
        }
        if let Ok(dir) = std::fs::File::open(folder) {
            // The new name is durable once its folder is; a failure here leaves a file that a
            // crash might lose, which the next start would notice (the log is keyed).
            let _ = dir.sync_all();
        }
        Ok(secrets)
    }
}

/// Where the key file is: `[secrets] key_file` when set, else [`DEFAULT_KEY_FILE`] in the folder
/// of a `sqlite://FILE` database, else in the current folder (PostgreSQL).
pub fn key_path(config: &Config) -> PathBuf {
    if let Some(path) = &config.secrets.key_file {
        return path.clone();
    }
    let url = &config.database.url;
    let folder = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .map(|rest| rest.split('?').next().unwrap_or_default())
        .filter(|path| !path.is_empty() && !path.contains(":memory:"))
        .and_then(|path| Path::new(path).parent().map(Path::to_path_buf))
        .unwrap_or_default();
    folder.join(DEFAULT_KEY_FILE)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn subkeys_differ_by_purpose_and_are_stable() {
        let secrets = Secrets::from_bytes([7; KEY_BYTES]);
        let audit = secrets.subkey(AUDIT_CHAIN);
        assert_eq!(audit.expose(), secrets.subkey(AUDIT_CHAIN).expose());
        assert_ne!(audit.expose(), secrets.subkey("mail-password").expose());
        assert_ne!(
            audit.expose(),
            Secrets::from_bytes([8; KEY_BYTES])
                .subkey(AUDIT_CHAIN)
                .expose()
        );
        assert_ne!(&audit.expose()[..], &[7; KEY_BYTES][..]);
    }

    /// RFC 5869 names the construction; this pins the parameters (salt, info) so that an
    /// external auditor re-deriving the audit subkey from the key file gets these bytes.
    #[test]
    fn the_audit_subkey_is_hkdf_sha256_with_the_documented_salt_and_info() {
        use hmac::{Hmac, Mac};
        let master = [0x11u8; KEY_BYTES];
        // HKDF-Extract then one block of HKDF-Expand, written out with HMAC alone.
        let mut extract = <Hmac<Sha256> as Mac>::new_from_slice(b"jingxun-secrets-v1").unwrap();
        extract.update(&master);
        let prk = extract.finalize().into_bytes();
        let mut expand = <Hmac<Sha256> as Mac>::new_from_slice(&prk).unwrap();
        expand.update(b"audit-chain");
        expand.update(&[1]);
        let expected = expand.finalize().into_bytes();
        assert_eq!(
            &Secrets::from_bytes(master).subkey(AUDIT_CHAIN).expose()[..],
            &expected[..]
        );
    }

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_context() {
        let key = Secrets::from_bytes([7; KEY_BYTES]).subkey(WEB_TOTP);
        let plain = b"twenty secret bytes!";
        let sealed = key.seal(plain, "wang").unwrap();
        assert!(sealed.starts_with("v1."), "{sealed}");
        assert!(
            !sealed.contains(&hex::encode(plain)),
            "the value is not in clear"
        );
        assert_ne!(
            sealed,
            key.seal(plain, "wang").unwrap(),
            "a fresh nonce each time"
        );
        assert_eq!(&key.open(&sealed, "wang").unwrap()[..], plain);
        // Another row, another purpose's key, another platform key: none opens it.
        assert!(matches!(key.open(&sealed, "li"), Err(SealError::WrongKey)));
        let other_purpose = Secrets::from_bytes([7; KEY_BYTES]).subkey(AUDIT_CHAIN);
        assert!(other_purpose.open(&sealed, "wang").is_err());
        let other_key = Secrets::from_bytes([8; KEY_BYTES]).subkey(WEB_TOTP);
        assert!(other_key.open(&sealed, "wang").is_err());
        // A changed byte is caught by the tag.
        let mut changed = sealed.clone().into_bytes();
        let last = changed.len() - 1;
        changed[last] = if changed[last] == b'0' { b'1' } else { b'0' };
        let changed = String::from_utf8(changed).unwrap();
        assert!(matches!(
            key.open(&changed, "wang"),
            Err(SealError::WrongKey)
        ));
        assert!(matches!(
            key.open("plain text", "wang"),
            Err(SealError::Malformed)
        ));
    }

    #[test]
    fn debug_never_shows_the_key() {
        let secrets = Secrets::from_bytes([0xab; KEY_BYTES]);
        let text = format!("{secrets:?} {:?}", secrets.subkey(AUDIT_CHAIN));
        assert!(!text.contains("ab") && !text.contains("171"), "{text}");
        assert!(text.contains("[redacted]"), "{text}");
    }

    #[test]
    fn a_created_key_file_is_private_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DEFAULT_KEY_FILE);
        let created = Secrets::create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.trim().len(), 64, "64 hexadecimal digits");
        let loaded = Secrets::load(&path).unwrap();
        assert_eq!(
            created.subkey(AUDIT_CHAIN).expose(),
            loaded.subkey(AUDIT_CHAIN).expose()
        );
        // Creating again never replaces the key: the existing one is loaded.
        let again = Secrets::create(&path).unwrap();
        assert_eq!(
            again.subkey(AUDIT_CHAIN).expose(),
            loaded.subkey(AUDIT_CHAIN).expose()
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        let others: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(others.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn a_key_file_others_may_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DEFAULT_KEY_FILE);
        Secrets::create(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Secrets::load(&path).unwrap_err();
        assert!(
            matches!(err, SecretsError::TooOpen { mode: 0o644, .. }),
            "{err}"
        );
        let text = err.to_string();
        assert!(
            text.contains("secrets.key_file") && text.contains("chmod 600"),
            "{text}"
        );
    }

    #[test]
    fn a_missing_or_malformed_key_file_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.key");
        let err = Secrets::load(&path).unwrap_err();
        assert!(matches!(err, SecretsError::Missing { .. }));
        assert!(err.to_string().contains("secrets.key_file"), "{err}");
        assert!(err.to_string().contains("absent.key"), "{err}");
        let short = dir.path().join("short.key");
        std::fs::write(&short, "abcd\n").unwrap();
        std::fs::set_permissions(&short, std::fs::Permissions::from_mode(0o600)).unwrap();
        let err = Secrets::load(&short).unwrap_err();
        assert!(matches!(err, SecretsError::Malformed { .. }), "{err}");
        assert!(err.to_string().contains("secrets.key_file"), "{err}");
    }

    #[test]
    fn the_key_file_lies_beside_a_sqlite_database_else_in_the_current_folder() {
        let mut config = Config::embedded();
        config.database.url = "sqlite:///var/lib/jingxun/jingxun.db?mode=rwc".into();
        assert_eq!(key_path(&config), Path::new("/var/lib/jingxun/jingxun.key"));
        config.database.url = "sqlite://jingxun.db".into();
        assert_eq!(key_path(&config), Path::new("jingxun.key"));
        config.database.url = "postgres://jx@db/jx".into();
        assert_eq!(key_path(&config), Path::new("jingxun.key"));
        config.secrets.key_file = Some("/etc/jingxun/platform.key".into());
        assert_eq!(key_path(&config), Path::new("/etc/jingxun/platform.key"));
    }
}

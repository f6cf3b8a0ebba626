//! Session ids and the CSRF tokens derived from them.

use rand::TryRng;

use super::{AuthError, PasswordError, sha256_hex};

/// Random bytes in a session id (128 bits, checklist "Sign-in and sessions").
const ID_BYTES: usize = 16;

/// A session id as the cookie carries it: 32 lower-case hex digits. Its `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionId(String);

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionId([redacted])")
    }
}

impl SessionId {
    /// A new id from the operating system's random generator.
    pub fn generate() -> Result<SessionId, AuthError> {
        let mut bytes = [0u8; ID_BYTES];
        rand::rngs::SysRng
            .try_fill_bytes(&mut bytes)
            .map_err(|e| AuthError::Password(PasswordError::Random(e.to_string())))?;
        Ok(SessionId(hex::encode(bytes)))
    }

    /// An id from a cookie value, if it has the right form.
    pub fn parse(text: &str) -> Option<SessionId> {
        (text.len() == ID_BYTES * 2
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| SessionId(text.to_owned()))
    }

    /// The cookie value. Never log it.
    pub fn secret(&self) -> &str {
        &self.0
    }

    /// What the store keeps: hex SHA-256 of the id.
    pub fn hash(&self) -> String {
        sha256_hex(&self.0)
    }
}

/// The CSRF token of a session (or of a pre-sign-in token cookie): hex SHA-256 of a fixed
/// label and the id. Forms carry it; a cross-site page can neither read the cookie nor compute
/// the token, and the stored id hash (another label) does not give it either.
pub fn csrf_token(secret: &str) -> String {
    sha256_hex(&format!("jingxun-csrf\n{secret}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_128_random_bits_and_hide_in_debug() {
        let a = SessionId::generate().unwrap();
        let b = SessionId::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.secret().len(), 32);
        assert_eq!(SessionId::parse(a.secret()), Some(a.clone()));
        assert!(!format!("{a:?}").contains(a.secret()));
        assert_ne!(a.hash(), csrf_token(a.secret()));
        assert_eq!(SessionId::parse("not-an-id"), None);
        assert_eq!(SessionId::parse(&"A".repeat(32)), None);
    }
}

//! Password rules and argon2id hashing for web sign-in (checklist "Sign-in and sessions").
//!
//! - Hashes are argon2id PHC strings with at least [`MEMORY_KIB`] KiB, [`ITERATIONS`] passes
//!   and [`PARALLELISM`] lane (the checklist's floor, which OWASP also recommends). A stored
//!   hash made with weaker parameters still verifies, and [`needs_rehash`] tells the caller to
//!   store a fresh one at that sign-in.
//! - Passwords are [`MIN_CHARS`] to [`MAX_CHARS`] characters (counted as Unicode characters,
//!   never truncated), with no composition rules; common passwords and local words (police,
//!   admin, 警察, jingxun...) are refused, also when they make up the whole password with only
//!   digits or punctuation around them.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::TryRng;

/// argon2id memory cost, KiB.
pub const MEMORY_KIB: u32 = 19_456;
/// argon2id passes.
pub const ITERATIONS: u32 = 2;
/// argon2id lanes.
pub const PARALLELISM: u32 = 1;
/// Shortest password accepted, in characters.
pub const MIN_CHARS: usize = 8;
/// Longest password accepted, in characters.
pub const MAX_CHARS: usize = 128;

/// Words that may not be a password, alone or padded with digits and punctuation: the most
/// common passwords and the words anyone would try first against a police system.
const REFUSED_WORDS: &[&str] = &[
    "password",
    "passw0rd",
    "p@ssw0rd",
    "qwerty",
    "qwertyuiop",
    "abc123",
    "iloveyou",
    "letmein",
    "welcome",
    "admin",
    "administrator",
    "root",
    "police",
    "policeman",
    "jingxun",
    "jingcha",
    "gongan",
    "警察",
    "警讯",
    "公安",
    "管理员",
    "密码",
];

/// Whole passwords refused as they are (digit runs and keyboard walks).
const REFUSED_PASSWORDS: &[&str] = &[
    "12345678",
    "123456789",
    "1234567890",
    "87654321",
    "11111111",
    "00000000",
    "88888888",
    "66666666",
    "12341234",
    "11223344",
    "1qaz2wsx",
    "zaq12wsx",
    "asdfghjk",
    "a1b2c3d4",
    "123123123",
    "123456",
];

/// Why a new password is refused. The messages say what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Too short.
    #[error(
        "the password is too short: use at least {MIN_CHARS} characters (a few words make a good one)"
    )]
    TooShort,
    /// Too long.
    #[error("the password is too long: use at most {MAX_CHARS} characters")]
    TooLong,
    /// A common password or a local word.
    #[error(
        "the password is too easy to guess (a common password or a word such as police, admin, jingxun or 警察): choose another"
    )]
    Common,
    /// Hashing failed (out of memory, for instance).
    #[error("the password could not be hashed: {0}")]
    Hash(String),
    /// The OS random generator failed.
    #[error("the operating system's random generator failed: {0}")]
    Random(String),
}

/// Checks a new password against the rules in the module documentation.
pub fn check_new_password(password: &str) -> Result<(), PasswordError> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(PasswordError::TooShort);
    }
    if chars > MAX_CHARS {
        return Err(PasswordError::TooLong);
    }
    let lower = password.to_lowercase();
    if REFUSED_PASSWORDS.contains(&lower.as_str()) {
        return Err(PasswordError::Common);
    }
    // The password minus digits, punctuation and spaces around and inside it:
    // "Police2024!" and "admin@123" are "police" and "admin".
    let core: String = lower
        .chars()
        .filter(|c| !(c.is_ascii_digit() || c.is_ascii_punctuation() || c.is_whitespace()))
        .collect();
    // A refused word alone or repeated ("警察警察", "adminadmin").
    let is_refused_word = REFUSED_WORDS
        .iter()
        .any(|w| core.len().is_multiple_of(w.len()) && core == w.repeat(core.len() / w.len()));
    if core.is_empty() || is_refused_word {
        return Err(PasswordError::Common);
    }
    // One character repeated ("aaaaaaaa").
    let mut distinct = lower.chars().collect::<Vec<_>>();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 3 {
        return Err(PasswordError::Common);
    }
    Ok(())
}

fn hasher() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .expect("the argon2 parameters are valid constants");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password with argon2id and a fresh 128-bit salt from the OS generator.
/// The caller checks the rules first ([`check_new_password`]).
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    let mut salt = [0u8; 16];
    rand::rngs::SysRng
        .try_fill_bytes(&mut salt)
        .map_err(|e| PasswordError::Random(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches the stored PHC string. A malformed stored hash never matches.
/// The work done is that of the stored hash's parameters.
pub fn verify_password(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    // `Argon2::default()` verifies with the algorithm and parameters in the PHC string.
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// Whether a stored hash is not argon2id or uses weaker parameters than the current ones, so
/// that it should be replaced at the next successful sign-in.
pub fn needs_rehash(stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return true;
    };
    if parsed.algorithm != Algorithm::Argon2id.ident() {
        return true;
    }
    match Params::try_from(&parsed) {
        Ok(p) => p.m_cost() < MEMORY_KIB || p.t_cost() < ITERATIONS || p.p_cost() < PARALLELISM,
        Err(_) => true,
    }
}

/// A hash of a random password, made once, verified against for unknown logins so that they
/// take as long as a wrong password for a known one.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut bytes = [0u8; 16];
        let _ = rand::rngs::SysRng.try_fill_bytes(&mut bytes);
        hash_password(&hex::encode(bytes)).unwrap_or_default()
    })
}

/// A random password for the initial administrator: 16 characters from an alphabet without
/// look-alikes (no 0/O, 1/l/I), about 92 bits.
pub fn generate_password() -> Result<String, PasswordError> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 32];
    rand::rngs::SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| PasswordError::Random(e.to_string()))?;
    // Rejection sampling keeps every character equally likely.
    let limit = 256 - 256 % ALPHABET.len();
    let mut out = String::new();
    let mut pool = bytes.to_vec();
    while out.len() < 16 {
        let Some(b) = pool.pop() else {
            let mut more = [0u8; 32];
            rand::rngs::SysRng
                .try_fill_bytes(&mut more)
                .map_err(|e| PasswordError::Random(e.to_string()))?;
            pool.extend_from_slice(&more);
            continue;
        };
        if usize::from(b) < limit {
            out.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_long_and_common_passwords_are_refused() {
        assert_eq!(check_new_password("abc1234"), Err(PasswordError::TooShort));
        assert_eq!(
            check_new_password(&"x".repeat(129)),
            Err(PasswordError::TooLong)
        );
        for common in [
            "password",
            "12345678",
            "Police2024!",
            "admin@123",
            "警察警察12345",
            "JINGXUN1",
            "aaaaaaaaaaa",
            "123456789",
        ] {
            assert_eq!(
                check_new_password(common),
                Err(PasswordError::Common),
                "{common}"
            );
        }
    }

    #[test]
    fn ordinary_passwords_of_any_script_are_accepted_without_composition_rules() {
        for ok in [
            "correct horse battery",
            "长城巡逻队的夜班",
            "abcdefgh",
            &"xyz".repeat(21),
        ] {
            assert_eq!(check_new_password(ok), Ok(()), "{ok}");
        }
        // 128 characters is allowed and is not truncated: one more character changes the hash.
        let long: String = "夜班巡逻".repeat(32);
        assert_eq!(long.chars().count(), 128);
        assert_eq!(check_new_password(&long), Ok(()));
    }

    #[test]
    fn hashes_are_argon2id_with_the_checklist_parameters_and_verify() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!needs_rehash(&hash));
        assert!(!verify_password("anything", "not a hash"));
    }

    #[test]
    fn weaker_stored_parameters_ask_for_a_rehash() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(4096, 1, 1, None).unwrap(),
        )
        .hash_password(
            b"correct horse battery",
            &SaltString::encode_b64(b"0123456789abcdef").unwrap(),
        )
        .unwrap()
        .to_string();
        assert!(verify_password("correct horse battery", &weak));
        assert!(needs_rehash(&weak));
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).unwrap(),
        )
        .hash_password(
            b"correct horse battery",
            &SaltString::encode_b64(b"0123456789abcdef").unwrap(),
        )
        .unwrap()
        .to_string();
        assert!(needs_rehash(&argon2i));
    }

    #[test]
    fn generated_passwords_pass_the_rules_and_differ() {
        let a = generate_password().unwrap();
        let b = generate_password().unwrap();
        assert_eq!(a.chars().count(), 16);
        assert_ne!(a, b);
        check_new_password(&a).unwrap();
    }
}

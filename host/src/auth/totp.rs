//! The web sign-in's second factor (issue 18 item 10; checklist "Sign-in and sessions":
//! administrators get a second factor, one that is cryptographic as MLPS level 3 asks).
//!
//! - TOTP as RFC 6238 with the parameters every authenticator app takes: HMAC-SHA1, 6 digits,
//!   30-second steps, a code of the step before or after the current one accepted too (clocks
//!   drift), 160-bit secrets from the operating system's generator (the `totp-rs` crate makes
//!   and checks the codes). A code is accepted once: the store keeps the time step of the last
//!   code accepted and refuses that step and earlier ones.
//! - The secret is kept sealed with the platform key's subkey [`crate::secrets::WEB_TOTP`]
//!   (XChaCha20-Poly1305, the login as associated data), never logged, and shown only while
//!   the enrolment waits for its first code (as a QR code of its `otpauth://` URI and as
//!   base32 text).
//! - Ten recovery codes are made when an enrolment is confirmed and shown once; the store
//!   keeps only their HMAC-SHA256 under the subkey [`crate::secrets::WEB_RECOVERY_CODES`]
//!   (with the login): they have 60 random bits each, so a keyed hash is as good as a slow one
//!   and a code typed can be looked up at once. Each is good once.

use hmac::{Hmac, Mac};
use rand::TryRng;
use sha2::Sha256;
use totp_rs::{Algorithm, Builder, Totp};
use zeroize::Zeroizing;

use super::{AuthError, PasswordError};
use crate::secrets::SubKey;

/// The issuer authenticator apps show beside the account.
pub const ISSUER: &str = "Jingxun";
/// Seconds in a time step.
pub const STEP_SECONDS: u64 = 30;
/// Digits in a code.
pub const DIGITS: u8 = 6;
/// Steps before and after the current one whose codes are accepted too.
pub const SKEW_STEPS: u16 = 1;
/// Bytes in a secret (160 bits, RFC 4226's recommendation).
pub const SECRET_BYTES: usize = 20;
/// Recovery codes made at each enrolment.
pub const RECOVERY_CODES: usize = 10;
/// Characters in a recovery code (5 bits each: 60 bits).
const RECOVERY_CHARS: usize = 12;
/// The letters of recovery codes: Crockford's base32 (digits and lower-case letters but i, l,
/// o and u), so that a code read off paper is typed right: an `o` typed is read as `0`, an
/// `i` or `l` as `1` ([`recovery_hash`]).
const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A new secret from the operating system's random generator.
pub fn new_secret() -> Result<Zeroizing<Vec<u8>>, AuthError> {
    let mut bytes = Zeroizing::new(vec![0u8; SECRET_BYTES]);
    rand::rngs::SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| AuthError::Password(PasswordError::Random(e.to_string())))?;
    Ok(bytes)
}

/// The TOTP of `secret` for `login`.
fn totp(secret: &[u8], login: &str) -> Result<Totp, AuthError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_skew(SKEW_STEPS)
        .with_step_duration(STEP_SECONDS)
        .with_secret(secret.to_vec())
        .with_issuer(Some(ISSUER))
        .with_account_name(login)
        .build()
        .map_err(|e| AuthError::Totp(e.to_string()))
}

/// The code of `secret` at `unix_seconds` (tests and the command line's checks).
pub fn code_at(secret: &[u8], unix_seconds: u64) -> Result<String, AuthError> {
    Ok(totp(secret, "x")?.generate(unix_seconds).to_string())
}

/// The time step whose code `code` is, within one step of `unix_seconds`, if it is one.
/// Spaces typed between the digits are ignored.
pub fn check(secret: &[u8], code: &str, unix_seconds: u64) -> Result<Option<i64>, AuthError> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if !looks_like_code(&code) {
        return Ok(None);
    }
    Ok(totp(secret, "x")?
        .check(&code, unix_seconds)
        .and_then(|step| i64::try_from(step).ok()))
}

/// Whether a typed text is a TOTP code (6 digits, spaces aside) rather than a recovery code.
pub fn looks_like_code(text: &str) -> bool {
    let digits: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    digits.len() == usize::from(DIGITS) && digits.iter().all(char::is_ascii_digit)
}

/// The secret as authenticator apps take it typed: base32 (RFC 4648, no padding).
pub fn base32(secret: &[u8], login: &str) -> Result<String, AuthError> {
    Ok(totp(secret, login)?.secret().to_base32())
}

/// The `otpauth://totp/Jingxun:LOGIN?secret=...&issuer=Jingxun` URI of the QR code.
pub fn otpauth_uri(secret: &[u8], login: &str) -> Result<String, AuthError> {
    totp(secret, login)?
        .to_url()
        .map_err(|e| AuthError::Totp(e.to_string()))
}

/// Ten new recovery codes, `xxxx-xxxx-xxxx`.
pub fn new_recovery_codes() -> Result<Vec<String>, AuthError> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; RECOVERY_CHARS];
            rand::rngs::SysRng
                .try_fill_bytes(&mut bytes)
                .map_err(|e| AuthError::Password(PasswordError::Random(e.to_string())))?;
            let chars: Vec<char> = bytes
                .iter()
                .map(|b| char::from(RECOVERY_ALPHABET[usize::from(b & 31)]))
                .collect();
            Ok(chars
                .chunks(4)
                .map(|c| c.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join("-"))
        })
        .collect()
}

/// The keyed hash the store keeps of a recovery code of `login`: hex HMAC-SHA256 under the
/// recovery-code subkey of the login, a line feed, and the code as typed without dashes,
/// spaces or case (`o` read as `0`, `i` and `l` as `1`).
pub fn recovery_hash(key: &SubKey, login: &str, code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'o' => '0',
            'i' | 'l' => '1',
            other => other,
        })
        .collect();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.expose())
        .expect("HMAC-SHA256 takes a key of any length");
    mac.update(login.as_bytes());
    mac.update(b"\n");
    mac.update(normal.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A QR code of `uri` as an SVG element (black modules on white, with the quiet zone), to
/// put into the enrolment page as it is.
pub fn qr_svg(uri: &str) -> Result<String, AuthError> {
    let code = qrcode::QrCode::with_error_correction_level(uri, qrcode::EcLevel::M)
        .map_err(|e| AuthError::Totp(e.to_string()))?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build();
    // The renderer starts with an XML declaration, which has no place inside HTML.
    Ok(match svg.find("<svg") {
        Some(start) => svg[start..].to_owned(),
        None => svg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::{Secrets, WEB_RECOVERY_CODES};

    /// RFC 6238 appendix B's SHA-1 vectors (the 20-byte ASCII secret "12345678901234567890"),
    /// cut to 6 digits as the apps show them.
    #[test]
    fn codes_are_those_of_rfc_6238() {
        let secret = b"12345678901234567890";
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(code_at(secret, time).unwrap(), code, "at {time}");
        }
    }

    #[test]
    fn a_code_is_good_from_one_step_before_to_one_step_after_its_own() {
        let secret = new_secret().unwrap();
        let now = 1_796_083_200; // the start of a step
        let step = (now / STEP_SECONDS) as i64;
        let code = code_at(&secret, now).unwrap();
        assert_eq!(check(&secret, &code, now).unwrap(), Some(step));
        // Typed with a space, or 29 s later: the same step.
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(check(&secret, &spaced, now + 29).unwrap(), Some(step));
        // A step's clock drift either way is accepted; two steps is not.
        assert_eq!(check(&secret, &code, now - 30).unwrap(), Some(step));
        assert_eq!(check(&secret, &code, now + 59).unwrap(), Some(step));
        assert_eq!(check(&secret, &code, now + 60).unwrap(), None);
        assert_eq!(check(&secret, &code, now - 31).unwrap(), None);
        // Not a code at all.
        assert_eq!(check(&secret, "12345", now).unwrap(), None);
        assert_eq!(check(&secret, "abcdef", now).unwrap(), None);
        let other = new_secret().unwrap();
        assert_ne!(&other[..], &secret[..]);
    }

    #[test]
    fn the_uri_and_the_text_carry_the_secret_for_authenticator_apps() {
        let secret = b"12345678901234567890";
        let text = base32(secret, "li").unwrap();
        assert_eq!(text, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let uri = otpauth_uri(secret, "li").unwrap();
        assert_eq!(
            uri,
            "otpauth://totp/Jingxun:li?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Jingxun"
        );
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"), "{svg}");
        assert!(
            !svg.contains("style="),
            "no inline style (the CSP forbids it)"
        );
    }

    #[test]
    fn recovery_codes_are_ten_different_and_hashed_with_the_key_and_login() {
        let codes = new_recovery_codes().unwrap();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let distinct: std::collections::BTreeSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), RECOVERY_CODES);
        for code in &codes {
            assert_eq!(code.len(), 14, "{code}");
            assert!(!looks_like_code(code), "{code}");
        }
        let key = Secrets::for_tests().subkey(WEB_RECOVERY_CODES);
        let hash = recovery_hash(&key, "li", &codes[0]);
        assert_eq!(hash.len(), 64);
        // Typed in capitals, without dashes: the same code; o for 0 and l for 1 too.
        let typed = codes[0].replace('-', " ").to_uppercase();
        assert_eq!(recovery_hash(&key, "li", &typed), hash);
        assert_eq!(
            recovery_hash(&key, "li", "oo11-2222-3333"),
            recovery_hash(&key, "li", "00il-2222-3333")
        );
        assert_ne!(recovery_hash(&key, "wang", &codes[0]), hash);
        let other_key = Secrets::from_bytes([1; 32]).subkey(WEB_RECOVERY_CODES);
        assert_ne!(recovery_hash(&other_key, "li", &codes[0]), hash);
    }
}

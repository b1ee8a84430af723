//! Accounts: password hashing, the TOTP second factor and recovery codes. Pure functions
//! around the `AccountStore`; the HTTP side (sessions, CSRF, pages) lives in `crate::session`
//! and `crate::ui`.

pub mod password;
pub mod totp;

use rand::RngCore;
use sha2::{Digest, Sha256};

/// `n` random bytes from the operating system, hex-encoded.
pub fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// SHA-256, hex: how session ids, e-mail tokens and recovery codes are kept.
pub fn digest(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// The throttling key of an e-mail address: a digest, so the table holds no addresses.
pub fn account_key(email: &str) -> String {
    digest(&format!("sign-in:{}", email.trim().to_ascii_lowercase()))
}

/// How many recovery codes an enrolment hands out.
pub const RECOVERY_CODES: usize = 10;

/// Fresh recovery codes as shown to the user once (`xxxx-xxxx-xxxx`, lower-case hex), and the
/// digests to store.
pub fn recovery_codes() -> (Vec<String>, Vec<String>) {
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let h = random_hex(6);
            format!("{}-{}-{}", &h[0..4], &h[4..8], &h[8..12])
        })
        .collect();
    let hashes = codes.iter().map(|c| recovery_hash(c)).collect();
    (codes, hashes)
}

/// The stored form of a recovery code as typed (spaces, dashes and case do not matter).
pub fn recovery_hash(typed: &str) -> String {
    let clean: String = typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    digest(&format!("recovery:{clean}"))
}

/// SHA-256 of bytes, hex.
pub fn digest_bytes(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_distinct_and_typed_loosely() {
        let (codes, hashes) = recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let mut h = hashes.clone();
        h.sort();
        h.dedup();
        assert_eq!(h.len(), RECOVERY_CODES);
        let typed = codes[0].to_uppercase().replace('-', " ");
        assert_eq!(recovery_hash(&typed), hashes[0]);
    }
}

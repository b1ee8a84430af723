//! Passwords: argon2id with a random salt (the PHC string holds the parameters), the one place
//! the CLI and the web sign-in hash and check them.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// The shortest password accepted.
pub const MIN_LENGTH: usize = 12;
/// The longest: argon2 is costly, and nobody types more.
pub const MAX_LENGTH: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password: at least {MIN_LENGTH} characters")]
    TooShort,
    #[error("password: at most {MAX_LENGTH} characters")]
    TooLong,
    #[error("hashing the password failed: {0}")]
    Hash(String),
}

/// Refuses a password too short or too long to accept.
pub fn check_strength(password: &str) -> Result<(), PasswordError> {
    let n = password.chars().count();
    if n < MIN_LENGTH {
        Err(PasswordError::TooShort)
    } else if n > MAX_LENGTH {
        Err(PasswordError::TooLong)
    } else {
        Ok(())
    }
}

/// An argon2id PHC string for `password` (checked for length first).
pub fn hash(password: &str) -> Result<String, PasswordError> {
    check_strength(password)?;
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches the stored hash. A malformed hash matches nothing.
pub fn verify(password: &str, stored: &str) -> bool {
    if password.chars().count() > MAX_LENGTH {
        return false;
    }
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends the time of one verification, so that an unknown address answers as slowly as a
/// known one with a wrong password.
pub fn waste_time(password: &str) {
    static DUMMY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if let Some(h) = DUMMY.get_or_init(|| hash("not-a-real-password-at-all").ok()) {
        let _ = verify(password, h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let h = hash("correct horse battery staple").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery staple", &h));
        assert!(!verify("correct horse battery stapler", &h));
        assert!(!verify("anything", "not a phc string"));
        assert!(matches!(hash("short"), Err(PasswordError::TooShort)));
    }
}

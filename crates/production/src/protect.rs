//! How a package is protected in transit, chosen per agency, and how it is opened again.

use std::fmt;
use std::str::FromStr;

use rand::rngs::OsRng;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::PackageError;

/// The protection of one package.
#[derive(Debug, Clone)]
pub enum Protection {
    /// An age file (age-encryption.org/v1) to the agency's X25519 public key, around a tar
    /// archive. Only the holder of the matching identity can open it; no secret travels.
    Age(AgeRecipient),
    /// A ZIP whose entries are WinZip AES-256 encrypted (AE-2), opened with a passphrase that
    /// must reach the agency by another channel than the package. For agencies without age.
    ZipAes(Passphrase),
}

impl Protection {
    /// Which kind, as the manifest names it.
    pub fn kind(&self) -> ProtectionKind {
        match self {
            Protection::Age(_) => ProtectionKind::AgeX25519,
            Protection::ZipAes(_) => ProtectionKind::ZipAes256,
        }
    }
}

/// The kinds of protection, as named in `manifest.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProtectionKind {
    /// [`Protection::Age`].
    #[serde(rename = "age-x25519")]
    AgeX25519,
    /// [`Protection::ZipAes`].
    #[serde(rename = "zip-aes256")]
    ZipAes256,
}

impl fmt::Display for ProtectionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProtectionKind::AgeX25519 => "age-x25519",
            ProtectionKind::ZipAes256 => "zip-aes256",
        })
    }
}

/// An agency's age X25519 public key (`age1...`).
#[derive(Clone)]
pub struct AgeRecipient(pub(crate) age::x25519::Recipient);

impl AgeRecipient {
    /// Parses an `age1...` public key; surrounding whitespace is ignored.
    pub fn parse(text: &str) -> Result<AgeRecipient, PackageError> {
        age::x25519::Recipient::from_str(text.trim())
            .map(AgeRecipient)
            .map_err(|e| PackageError::InvalidRecipient(e.to_string()))
    }
}

impl fmt::Display for AgeRecipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for AgeRecipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AgeRecipient({})", self.0)
    }
}

/// A ZIP passphrase. Its `Debug` hides it, so that it cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Passphrase(String);

/// Crockford's base32 alphabet: no I, L, O or U to misread over the telephone.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Groups of four characters, five bits each: 7 x 4 x 5 = 140 bits. ZIP AES derives its key
/// with only 1000 rounds of PBKDF2-HMAC-SHA1, so the passphrase itself must be strong.
const GROUPS: usize = 7;

impl Passphrase {
    /// A new random passphrase of 140 bits (`7K2M-QX4A-...`), from the operating system's
    /// random number generator.
    pub fn generate() -> Passphrase {
        let mut rng = OsRng;
        let groups: Vec<String> = (0..GROUPS)
            .map(|_| {
                (0..4)
                    .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
                    .collect()
            })
            .collect();
        Passphrase(groups.join("-"))
    }

    /// A passphrase given by the caller (for verification, or a test).
    pub fn new(text: impl Into<String>) -> Passphrase {
        Passphrase(text.into())
    }

    /// The passphrase, to be sent to the agency by a separate channel.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<hidden>)")
    }
}

/// What opens a package for verification.
#[derive(Default)]
pub enum Unlock {
    /// Nothing: for a plain tar or an extracted directory.
    #[default]
    Nothing,
    /// The agency's age identities (from an identity file).
    Age(Vec<Box<dyn age::Identity>>),
    /// The ZIP passphrase.
    Passphrase(Passphrase),
}

impl Unlock {
    /// The identities in an age identity file (`AGE-SECRET-KEY-1...` lines; `#` comments and
    /// blank lines are ignored).
    pub fn age_identity_file(text: &str) -> Result<Unlock, String> {
        let file = age::IdentityFile::from_buffer(text.as_bytes())
            .map_err(|e| format!("not an age identity file: {e}"))?;
        let identities = file
            .into_identities()
            .map_err(|e| format!("not an age identity file: {e}"))?;
        if identities.is_empty() {
            return Err("the identity file holds no identity".into());
        }
        Ok(Unlock::Age(identities))
    }
}

impl fmt::Debug for Unlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unlock::Nothing => f.write_str("Unlock::Nothing"),
            Unlock::Age(ids) => write!(f, "Unlock::Age({} identities)", ids.len()),
            Unlock::Passphrase(_) => f.write_str("Unlock::Passphrase(<hidden>)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passphrases_are_long_random_and_hidden() {
        let a = Passphrase::generate();
        let b = Passphrase::generate();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 7 * 4 + 6);
        assert!(a
            .expose()
            .split('-')
            .all(|g| g.len() == 4 && g.bytes().all(|c| ALPHABET.contains(&c))));
        assert!(!format!("{a:?}").contains(a.expose()));
    }

    #[test]
    fn recipients_are_checked() {
        let id = age::x25519::Identity::generate();
        let text = id.to_public().to_string();
        let r = AgeRecipient::parse(&format!(" {text}\n")).unwrap();
        assert_eq!(r.to_string(), text);
        assert!(matches!(
            AgeRecipient::parse("age1notakey"),
            Err(PackageError::InvalidRecipient(_))
        ));
        assert!(AgeRecipient::parse("").is_err());
    }

    #[test]
    fn identity_files_are_parsed() {
        use age::secrecy::ExposeSecret;
        let id = age::x25519::Identity::generate();
        let text = format!(
            "# created: today\n# public key: {}\n{}\n",
            id.to_public(),
            id.to_string().expose_secret()
        );
        assert!(matches!(
            Unlock::age_identity_file(&text),
            Ok(Unlock::Age(ids)) if ids.len() == 1
        ));
        assert!(Unlock::age_identity_file("# nothing\n").is_err());
        assert!(Unlock::age_identity_file("AGE-SECRET-KEY-1XYZ\n").is_err());
    }
}

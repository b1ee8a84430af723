//! Signed checkpoints (tree heads) in the C2SP `tlog-checkpoint` format,
//! carried in C2SP `signed-note` envelopes with Ed25519 signatures.
//!
//! A note looks like this (the blank line separates text and signatures):
//!
//! ```text
//! custodian.example/audit
//! 1234
//! 3q2+7w...base64 of the 32-byte root...=
//!
//! — custodian.example/audit AbCd...base64(4-byte key id || 64-byte signature)...
//! ```
//!
//! Using the established format lets auditors check our checkpoints with
//! existing tools (for example Go's `golang.org/x/mod/sumdb/note`), and lets
//! witnesses cosign them later without a format change.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::merkle::Hash;

/// The signed-note signature type byte for Ed25519.
const ED25519_TYPE: u8 = 0x01;

/// Larger notes are refused before any parsing; a checkpoint with a few
/// cosignatures is well under a kilobyte.
const MAX_NOTE_BYTES: usize = 64 * 1024;

/// The signed-note spec requires accepting at least 16 signatures.
const MAX_SIGNATURES: usize = 100;

/// A tree head: the log `origin` had `size` entries whose Merkle root was
/// `root`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, also used as the signing key's name. It must be
    /// non-empty and contain no whitespace, `+` or control characters; a
    /// schema-less URL such as `custodian.example.org/audit` is recommended.
    pub origin: String,
    /// Number of entries in the tree.
    pub size: u64,
    /// RFC 6962 root of the first `size` entries.
    pub root: Hash,
}

/// Why a checkpoint note or a public key text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// The origin or key name cannot be a signed-note key name.
    #[error("invalid origin or key name {0:?}: it must be non-empty and contain no whitespace, '+' or control characters")]
    InvalidName(String),
    /// The note does not have the signed-note shape.
    #[error("malformed note: {0}")]
    MalformedNote(&'static str),
    /// The note text is not a valid checkpoint body.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),
    /// A signature line names our key but its signature is wrong.
    #[error("the signature by key {0} does not verify")]
    BadSignature(String),
    /// No signature line is by the expected key.
    #[error("the note carries no signature by key {0}")]
    NotSigned(String),
    /// A public key text is not `<name>+<key id hex>+<base64 key>`.
    #[error("malformed public key: {0}")]
    MalformedKey(&'static str),
}

impl Checkpoint {
    /// The note text: origin, size and base64 root, each on its own line.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        )
    }

    /// Signs the checkpoint and returns the complete note, using `origin`
    /// as the key name.
    ///
    /// Fails only if `origin` is not a valid key name.
    pub fn sign(&self, key: &SigningKey) -> Result<String, NoteError> {
        check_name(&self.origin)?;
        Ok(sign_text(&self.body(), &self.origin, key))
    }

    /// Parses a checkpoint note and checks that it is signed by `key` under
    /// the checkpoint's own origin as key name.
    ///
    /// As the signed-note spec requires, signatures by other keys (for
    /// example witness cosignatures) are ignored, a signature that claims to
    /// be by `key` but does not verify rejects the note, and at least one
    /// signature by `key` must verify. The caller should still check that
    /// `origin` is the log it expects.
    pub fn verify_note(note: &str, key: &VerifyingKey) -> Result<Checkpoint, NoteError> {
        let (text, signatures) = split_note(note)?;
        // Parsed before the signature check only to learn the key name; the
        // result is returned only once a signature has verified.
        let checkpoint = parse_body(text)?;
        check_signatures(text, signatures, &checkpoint.origin, key)?;
        Ok(checkpoint)
    }
}

/// Signs `text` (which ends in a newline) as key `name` and returns the note.
fn sign_text(text: &str, name: &str, key: &SigningKey) -> String {
    let signature = key.sign(text.as_bytes());
    let mut blob = Vec::with_capacity(4 + 64);
    blob.extend_from_slice(&key_id(name, &key.verifying_key()));
    blob.extend_from_slice(&signature.to_bytes());
    format!("{text}\n\u{2014} {name} {}\n", B64.encode(blob))
}

/// Splits a note into its text (with the final newline) and its signature
/// lines (with the final newline), checking the envelope rules.
fn split_note(note: &str) -> Result<(&str, &str), NoteError> {
    if note.len() > MAX_NOTE_BYTES {
        return Err(NoteError::MalformedNote("note is too large"));
    }
    if note.chars().any(|c| c < ' ' && c != '\n') {
        return Err(NoteError::MalformedNote(
            "note contains a control character other than newline",
        ));
    }
    let split = note.rfind("\n\n").ok_or(NoteError::MalformedNote(
        "no blank line before the signatures",
    ))?;
    Ok((&note[..split + 1], &note[split + 2..]))
}

/// Succeeds if at least one signature line is by (`name`, `key`) and every
/// such line verifies over `text`; lines by other keys are ignored.
fn check_signatures(
    text: &str,
    signatures: &str,
    name: &str,
    key: &VerifyingKey,
) -> Result<(), NoteError> {
    let want_id = key_id(name, key);
    let lines = signatures
        .strip_suffix('\n')
        .ok_or(NoteError::MalformedNote(
            "the note does not end with a newline",
        ))?;
    let mut verified = false;
    for (count, line) in lines.split('\n').enumerate() {
        if count >= MAX_SIGNATURES {
            return Err(NoteError::MalformedNote("too many signatures"));
        }
        let (signer, blob) = parse_signature_line(line)?;
        if signer != name || blob[..4] != want_id {
            continue;
        }
        let signature = Signature::from_slice(&blob[4..])
            .map_err(|_| NoteError::BadSignature(name.to_owned()))?;
        key.verify_strict(text.as_bytes(), &signature)
            .map_err(|_| NoteError::BadSignature(name.to_owned()))?;
        verified = true;
    }
    if verified {
        Ok(())
    } else {
        Err(NoteError::NotSigned(name.to_owned()))
    }
}

/// Parses `— <name> <base64>` into the name and the decoded blob, which is
/// at least five bytes (a key id and a non-empty signature).
fn parse_signature_line(line: &str) -> Result<(&str, Vec<u8>), NoteError> {
    let rest = line
        .strip_prefix("\u{2014} ")
        .ok_or(NoteError::MalformedNote(
            "signature line does not start with an em dash and a space",
        ))?;
    let (name, encoded) = rest.split_once(' ').ok_or(NoteError::MalformedNote(
        "signature line has no space between name and signature",
    ))?;
    if check_name(name).is_err() {
        return Err(NoteError::MalformedNote(
            "signature line has an invalid key name",
        ));
    }
    let blob = B64
        .decode(encoded)
        .map_err(|_| NoteError::MalformedNote("signature is not valid base64"))?;
    if blob.len() < 5 {
        return Err(NoteError::MalformedNote("signature is too short"));
    }
    Ok((name, blob))
}

fn parse_body(text: &str) -> Result<Checkpoint, NoteError> {
    let lines = text
        .strip_suffix('\n')
        .ok_or(NoteError::MalformedCheckpoint(
            "text does not end with a newline",
        ))?;
    let mut lines = lines.split('\n');
    let mut next = |what: &'static str| match lines.next() {
        Some(line) if !line.is_empty() => Ok(line),
        _ => Err(NoteError::MalformedCheckpoint(what)),
    };
    let origin = next("missing origin line")?;
    let size = next("missing tree size line")?;
    let root = next("missing root hash line")?;
    // Extension lines are allowed by tlog-checkpoint but must be non-empty;
    // they are signed, yet carry nothing this log uses.
    if lines.any(str::is_empty) {
        return Err(NoteError::MalformedCheckpoint("empty extension line"));
    }

    let size_ok = !size.is_empty()
        && size.bytes().all(|b| b.is_ascii_digit())
        && (size == "0" || !size.starts_with('0'));
    let size =
        size.parse::<u64>()
            .ok()
            .filter(|_| size_ok)
            .ok_or(NoteError::MalformedCheckpoint(
                "tree size is not a decimal number without leading zeros",
            ))?;
    let root: Hash = B64
        .decode(root)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(NoteError::MalformedCheckpoint(
            "root hash is not the base64 of 32 bytes",
        ))?;
    Ok(Checkpoint {
        origin: origin.to_owned(),
        size,
        root,
    })
}

/// Key names are non-empty, without Unicode whitespace or `+`; control
/// characters are excluded too since notes may not contain them.
fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
    {
        Err(NoteError::InvalidName(name.to_owned()))
    } else {
        Ok(())
    }
}

/// The signed-note key id: the first four bytes of
/// `SHA-256(name || 0x0A || 0x01 || 32-byte public key)`.
pub fn key_id(name: &str, key: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ED25519_TYPE]);
    h.update(key.as_bytes());
    let digest = h.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// The public key in signed-note verifier key format, for publishing:
/// `<name>+<key id as 8 lowercase hex digits>+<base64(0x01 || public key)>`.
///
/// `name` is the log's origin. Go's `note.NewVerifier` accepts this text.
pub fn public_key_text(name: &str, key: &VerifyingKey) -> Result<String, NoteError> {
    check_name(name)?;
    let mut encoded = Vec::with_capacity(33);
    encoded.push(ED25519_TYPE);
    encoded.extend_from_slice(key.as_bytes());
    Ok(format!(
        "{name}+{}+{}",
        hex::encode(key_id(name, key)),
        B64.encode(encoded)
    ))
}

/// Parses a [`public_key_text`] back into the key name and the key,
/// checking that the key id matches.
pub fn parse_public_key_text(text: &str) -> Result<(String, VerifyingKey), NoteError> {
    let text = text.trim();
    // Only the first two '+' are separators: the base64 may contain more.
    let mut parts = text.splitn(3, '+');
    let (Some(name), Some(id), Some(encoded)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(NoteError::MalformedKey(
            "expected <name>+<key id>+<base64 key>",
        ));
    };
    check_name(name)?;
    let id: [u8; 4] = hex::decode(id)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(NoteError::MalformedKey("key id is not 8 hex digits"))?;
    let bytes = B64
        .decode(encoded)
        .map_err(|_| NoteError::MalformedKey("key is not valid base64"))?;
    let key_bytes: [u8; 32] = match bytes.split_first() {
        Some((&ED25519_TYPE, rest)) => rest
            .try_into()
            .map_err(|_| NoteError::MalformedKey("Ed25519 key is not 32 bytes"))?,
        _ => return Err(NoteError::MalformedKey("key is not an Ed25519 key")),
    };
    let key = VerifyingKey::from_bytes(&key_bytes)
        .map_err(|_| NoteError::MalformedKey("not a valid Ed25519 public key"))?;
    if key_id(name, &key) != id {
        return Err(NoteError::MalformedKey(
            "key id does not match the name and key",
        ));
    }
    Ok((name.to_owned(), key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle;

    const ORIGIN: &str = "custodian.example/audit";

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            origin: ORIGIN.into(),
            size: 8,
            root: merkle::leaf_hash(b"some root"),
        }
    }

    #[test]
    fn sign_and_verify_round_trip() {
        let k = key(1);
        let cp = checkpoint();
        let note = cp.sign(&k).unwrap();
        let body = cp.body();
        assert!(note.starts_with(&format!("{ORIGIN}\n8\n")));
        assert!(note.starts_with(&format!("{body}\n\u{2014} {ORIGIN} ")));
        assert!(note.ends_with('\n'));
        assert_eq!(Checkpoint::verify_note(&note, &k.verifying_key()), Ok(cp));
    }

    #[test]
    fn empty_tree_checkpoint_round_trips() {
        let k = key(1);
        let cp = Checkpoint {
            origin: ORIGIN.into(),
            size: 0,
            root: merkle::EMPTY_ROOT,
        };
        let note = cp.sign(&k).unwrap();
        assert!(note.contains("\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"));
        assert_eq!(Checkpoint::verify_note(&note, &k.verifying_key()), Ok(cp));
    }

    #[test]
    fn another_key_is_refused() {
        let note = checkpoint().sign(&key(1)).unwrap();
        assert_eq!(
            Checkpoint::verify_note(&note, &key(2).verifying_key()),
            Err(NoteError::NotSigned(ORIGIN.into()))
        );
    }

    #[test]
    fn altered_size_or_root_is_refused() {
        let k = key(1);
        let note = checkpoint().sign(&k).unwrap();
        let altered = note.replacen("\n8\n", "\n9\n", 1);
        assert_ne!(altered, note);
        assert_eq!(
            Checkpoint::verify_note(&altered, &k.verifying_key()),
            Err(NoteError::BadSignature(ORIGIN.into()))
        );
        let root_line = B64.encode(checkpoint().root);
        let other_root = B64.encode(merkle::leaf_hash(b"other root"));
        let altered = note.replacen(&root_line, &other_root, 1);
        assert_eq!(
            Checkpoint::verify_note(&altered, &k.verifying_key()),
            Err(NoteError::BadSignature(ORIGIN.into()))
        );
    }

    #[test]
    fn altered_origin_is_not_signed_by_the_key() {
        let k = key(1);
        let note = checkpoint().sign(&k).unwrap();
        // Renaming the log everywhere changes the key id the verifier looks
        // for, so the signature no longer counts as ours.
        let altered = note.replace(ORIGIN, "evil.example/audit");
        assert_eq!(
            Checkpoint::verify_note(&altered, &k.verifying_key()),
            Err(NoteError::NotSigned("evil.example/audit".into()))
        );
    }

    #[test]
    fn unknown_cosignatures_are_ignored() {
        let k = key(1);
        let note = checkpoint().sign(&k).unwrap();
        let witness = format!(
            "\u{2014} witness.example/w1 {}\n",
            B64.encode([7u8; 4 + 64])
        );
        let cosigned = format!("{note}{witness}");
        assert_eq!(
            Checkpoint::verify_note(&cosigned, &k.verifying_key()),
            Ok(checkpoint())
        );
    }

    #[test]
    fn malformed_notes_are_errors_not_panics() {
        let k = key(1).verifying_key();
        let good = checkpoint().sign(&key(1)).unwrap();
        let bad_inputs = [
            String::new(),
            "\n".into(),
            "\n\n".into(),
            "\n\n\n".into(),
            good.trim_end().to_owned(),
            good.replace('\u{2014}', "-"),
            good.replace("\n8\n", "\n08\n"),
            good.replace("\n8\n", "\n+8\n"),
            good.replace("\n8\n", "\n\n"),
            good.replace("\n8\n", "\n99999999999999999999999\n"),
            good.replace(ORIGIN, "with space"),
            good.replacen("\n\n", "\n\n\n", 1),
            good.replace("\n\n", "\r\n\n"),
            format!("{ORIGIN}\n1\nAAAA\n\n\u{2014} {ORIGIN} AAAAAAAA\n"),
            format!("{ORIGIN}\n1\n\n\u{2014} {ORIGIN} AAAAAAAA\n"),
            format!("{}\u{2014} {ORIGIN} !!!\n", checkpoint().body()),
            format!("{}\n\u{2014} {ORIGIN} AAAA\n", checkpoint().body()),
            format!("{}\n\u{2014} {ORIGIN}\n", checkpoint().body()),
            format!("{}\n\u{2014} {ORIGIN} \n", checkpoint().body()),
            format!("{}\n\n", checkpoint().body()),
            "x".repeat(MAX_NOTE_BYTES + 1),
        ];
        for input in &bad_inputs {
            assert!(
                Checkpoint::verify_note(input, &k).is_err(),
                "accepted {input:?}"
            );
        }
        // A signature that matches our name and key id but has the wrong
        // length must be refused, not ignored.
        let mut blob = key_id(ORIGIN, &k).to_vec();
        blob.extend_from_slice(&[0; 10]);
        let short = format!(
            "{}\n\u{2014} {ORIGIN} {}\n",
            checkpoint().body(),
            B64.encode(blob)
        );
        assert_eq!(
            Checkpoint::verify_note(&short, &k),
            Err(NoteError::BadSignature(ORIGIN.into()))
        );
    }

    #[test]
    fn extension_lines_are_tolerated() {
        let k = key(1);
        let body = format!("{}time 2025-01-01T00:00:00Z\n", checkpoint().body());
        let signature = k.sign(body.as_bytes());
        let mut blob = key_id(ORIGIN, &k.verifying_key()).to_vec();
        blob.extend_from_slice(&signature.to_bytes());
        let note = format!("{body}\n\u{2014} {ORIGIN} {}\n", B64.encode(blob));
        assert_eq!(
            Checkpoint::verify_note(&note, &k.verifying_key()),
            Ok(checkpoint())
        );
    }

    #[test]
    fn invalid_origin_cannot_be_signed() {
        for origin in ["", "a b", "a+b", "a\nb", "a\u{2003}b"] {
            let cp = Checkpoint {
                origin: origin.into(),
                ..checkpoint()
            };
            assert!(matches!(cp.sign(&key(1)), Err(NoteError::InvalidName(_))));
        }
    }

    #[test]
    fn key_id_follows_the_signed_note_spec() {
        let k = key(1).verifying_key();
        let mut input = ORIGIN.as_bytes().to_vec();
        input.push(b'\n');
        input.push(0x01);
        input.extend_from_slice(k.as_bytes());
        assert_eq!(key_id(ORIGIN, &k), Sha256::digest(&input)[..4]);
    }

    #[test]
    fn public_key_text_round_trips() {
        let k = key(3).verifying_key();
        let text = public_key_text(ORIGIN, &k).unwrap();
        let parts: Vec<&str> = text.split('+').collect();
        assert_eq!(parts[0], ORIGIN);
        assert_eq!(parts[1], hex::encode(key_id(ORIGIN, &k)));
        assert_eq!(B64.decode(parts[2]).unwrap()[0], 0x01);
        assert_eq!(parse_public_key_text(&text), Ok((ORIGIN.to_owned(), k)));
        assert_eq!(
            parse_public_key_text(&format!("{text}\n")),
            Ok((ORIGIN.to_owned(), k))
        );
        let other = public_key_text("other.example/log", &k).unwrap();
        let mixed = format!("{ORIGIN}+{}", other.split_once('+').unwrap().1);
        assert!(parse_public_key_text(&mixed).is_err());
        // A key from transparency-dev/formats' tests whose base64 has a '+'.
        let plus = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6";
        let (name, k) = parse_public_key_text(plus).unwrap();
        assert_eq!(public_key_text(&name, &k).unwrap(), plus);
        for bad in ["", "a+b", "a+00000000+AAAA", "+1+2", "a+b+c+d"] {
            assert!(parse_public_key_text(bad).is_err(), "{bad}");
        }
    }

    /// The example note of Go's golang.org/x/mod/sumdb/note, so that
    /// compatibility with the reference implementation is checked rather
    /// than assumed. Ed25519 is deterministic, so signing must reproduce it
    /// byte for byte.
    #[test]
    fn matches_the_go_reference_implementation() {
        let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        let skey_material = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
        let text = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";
        let note = format!(
            "{text}\n\u{2014} PeterNeumann \
             x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
        );

        let (name, key) = parse_public_key_text(vkey).unwrap();
        assert_eq!(name, "PeterNeumann");
        assert_eq!(public_key_text(&name, &key).unwrap(), vkey);

        let seed = B64.decode(skey_material).unwrap();
        assert_eq!(seed[0], 0x01);
        let signer = SigningKey::from_bytes(&seed[1..].try_into().unwrap());
        assert_eq!(signer.verifying_key(), key);
        assert_eq!(sign_text(text, &name, &signer), note);

        let (t, sigs) = split_note(&note).unwrap();
        assert_eq!(t, text);
        assert_eq!(check_signatures(t, sigs, &name, &key), Ok(()));
        let forged = note.replace("cryptography", "cryptographY");
        let (t, sigs) = split_note(&forged).unwrap();
        assert_eq!(
            check_signatures(t, sigs, &name, &key),
            Err(NoteError::BadSignature(name.clone()))
        );
    }
}

//! WinZip AES-256 encryption of one ZIP entry, AE-2 (https://www.winzip.com/en/support/aes-encryption/):
//! PBKDF2-HMAC-SHA1 (1000 rounds) derives an AES key, an HMAC key and a password check value
//! from the passphrase and a random salt; the data is encrypted with AES-256 in counter mode
//! (a 128-bit little-endian counter from 1, without nonce: the salt makes every entry's key
//! unique) and authenticated by HMAC-SHA1 over the ciphertext, truncated to 10 bytes.
//!
//! Written here rather than taken from the `zip` crate's writer, which encrypts one 16-byte
//! block at a time: the counter blocks are encrypted in batches, so that AES-NI works on
//! eight blocks at once, and the data is encrypted where it lies, without a copy. The `zip`
//! crate still reads these entries back (verification), and 7-Zip opens them.

use std::io;

use aes::cipher::{BlockEncrypt, KeyInit};
use aes::{Aes256, Block};
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use sha1::Sha1;

/// Salt bytes for AES-256.
pub(crate) const SALT_LEN: usize = 16;
/// The password verification value after the salt.
pub(crate) const VERIFIER_LEN: usize = 2;
/// The truncated HMAC after the data.
pub(crate) const AUTH_CODE_LEN: usize = 10;
/// Bytes an entry's encryption adds to its data: salt, verifier, authentication code.
pub(crate) const OVERHEAD: u64 = (SALT_LEN + VERIFIER_LEN + AUTH_CODE_LEN) as u64;
/// The key derivation's rounds, fixed by the format.
const ROUNDS: u32 = 1000;
/// Counter blocks encrypted per call to the cipher.
const BATCH: usize = 64;

/// The keys derived for one entry, and the bytes that precede its data (salt and verifier).
pub(crate) struct EntryKeys {
    pub(crate) preamble: [u8; SALT_LEN + VERIFIER_LEN],
    aes: [u8; 32],
    mac: [u8; 32],
}

impl EntryKeys {
    /// Derives an entry's keys from the passphrase and a fresh random salt. This is the
    /// expensive part of an entry (4000 HMAC-SHA1 computations), about a millisecond.
    pub(crate) fn derive(passphrase: &[u8]) -> io::Result<EntryKeys> {
        let mut salt = [0u8; SALT_LEN];
        OsRng.fill_bytes(&mut salt);
        EntryKeys::derive_with_salt(passphrase, salt)
    }

    fn derive_with_salt(passphrase: &[u8], salt: [u8; SALT_LEN]) -> io::Result<EntryKeys> {
        let mut derived = [0u8; 32 + 32 + VERIFIER_LEN];
        pbkdf2::pbkdf2::<Hmac<Sha1>>(passphrase, &salt, ROUNDS, &mut derived)
            .map_err(|e| io::Error::other(format!("ZIP AES key derivation: {e}")))?;
        let mut keys = EntryKeys {
            preamble: [0; SALT_LEN + VERIFIER_LEN],
            aes: [0; 32],
            mac: [0; 32],
        };
        keys.preamble[..SALT_LEN].copy_from_slice(&salt);
        keys.preamble[SALT_LEN..].copy_from_slice(&derived[64..]);
        keys.aes.copy_from_slice(&derived[..32]);
        keys.mac.copy_from_slice(&derived[32..64]);
        derived.fill(0);
        Ok(keys)
    }
}

impl Drop for EntryKeys {
    fn drop(&mut self) {
        self.aes.fill(0);
        self.mac.fill(0);
    }
}

/// The encryption of one entry's data, in as many pieces as it comes.
pub(crate) struct EntryCipher {
    aes: Aes256,
    mac: Hmac<Sha1>,
    /// The next counter value.
    counter: u128,
    /// The last block of key stream, of which `used` bytes are spent.
    tail: [u8; 16],
    used: usize,
}

impl EntryCipher {
    pub(crate) fn new(keys: &EntryKeys) -> io::Result<EntryCipher> {
        Ok(EntryCipher {
            aes: Aes256::new(&keys.aes.into()),
            mac: <Hmac<Sha1> as Mac>::new_from_slice(&keys.mac)
                .map_err(|e| io::Error::other(format!("ZIP AES authentication key: {e}")))?,
            counter: 1,
            tail: [0; 16],
            used: 16,
        })
    }

    /// Encrypts `data` in place and adds the ciphertext to the authentication code.
    pub(crate) fn encrypt(&mut self, data: &mut [u8]) {
        self.apply_key_stream(data);
        self.mac.update(data);
    }

    /// Decrypts `data` in place (tests: the `zip` crate is what reads packages).
    #[cfg(test)]
    pub(crate) fn decrypt(&mut self, data: &mut [u8]) {
        self.mac.update(data);
        self.apply_key_stream(data);
    }

    /// The authentication code that follows the data.
    pub(crate) fn finish(self) -> [u8; AUTH_CODE_LEN] {
        let full = self.mac.finalize().into_bytes();
        let mut code = [0u8; AUTH_CODE_LEN];
        code.copy_from_slice(&full[..AUTH_CODE_LEN]);
        code
    }

    fn apply_key_stream(&mut self, mut data: &mut [u8]) {
        // What is left of the last block's key stream first.
        while self.used < 16 && !data.is_empty() {
            data[0] ^= self.tail[self.used];
            self.used += 1;
            data = &mut data[1..];
        }
        let mut blocks = [Block::default(); BATCH];
        while data.len() >= 16 {
            let n = (data.len() / 16).min(BATCH);
            for block in &mut blocks[..n] {
                *block = self.counter.to_le_bytes().into();
                self.counter = self.counter.wrapping_add(1);
            }
            self.aes.encrypt_blocks(&mut blocks[..n]);
            let (head, rest) = std::mem::take(&mut data).split_at_mut(n * 16);
            for (chunk, key) in head.chunks_exact_mut(16).zip(&blocks[..n]) {
                let mut word = [0u8; 16];
                word.copy_from_slice(chunk);
                let mut k = [0u8; 16];
                k.copy_from_slice(key);
                let x = u128::from_ne_bytes(word) ^ u128::from_ne_bytes(k);
                chunk.copy_from_slice(&x.to_ne_bytes());
            }
            data = rest;
        }
        if !data.is_empty() {
            let mut block: Block = self.counter.to_le_bytes().into();
            self.counter = self.counter.wrapping_add(1);
            self.aes.encrypt_block(&mut block);
            self.tail.copy_from_slice(&block);
            for (byte, key) in data.iter_mut().zip(self.tail) {
                *byte ^= key;
            }
            self.used = data.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encrypt_in_pieces(keys: &EntryKeys, data: &[u8], pieces: &[usize]) -> (Vec<u8>, [u8; 10]) {
        let mut out = data.to_vec();
        let mut cipher = EntryCipher::new(keys).unwrap();
        let mut at = 0usize;
        for &len in pieces.iter().chain(std::iter::once(&usize::MAX)) {
            let end = at.saturating_add(len).min(out.len());
            cipher.encrypt(&mut out[at..end]);
            at = end;
        }
        (out, cipher.finish())
    }

    #[test]
    fn pieces_of_any_size_give_the_same_ciphertext() {
        let keys = EntryKeys::derive_with_salt(b"7K2M-QX4A", [3; SALT_LEN]).unwrap();
        let data: Vec<u8> = (0..50_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let whole = encrypt_in_pieces(&keys, &data, &[]);
        assert_ne!(whole.0, data);
        for pieces in [
            &[1, 15, 16, 17, 3][..],
            &[4096 + 3, 5, 1024 * 16],
            &[7; 40],
            &[0, 0, 33],
        ] {
            assert_eq!(encrypt_in_pieces(&keys, &data, pieces), whole, "{pieces:?}");
        }
        let mut back = whole.0.clone();
        let mut cipher = EntryCipher::new(&keys).unwrap();
        cipher.decrypt(&mut back[..999]);
        cipher.decrypt(&mut back[999..]);
        assert_eq!(back, data);
        assert_eq!(cipher.finish(), whole.1);
    }

    #[test]
    fn the_counter_is_little_endian_from_one() {
        // Block i of the key stream is AES(key, i + 1 as a 16-byte little-endian number).
        let keys = EntryKeys::derive_with_salt(b"pass", [9; SALT_LEN]).unwrap();
        let mut zeros = vec![0u8; 48];
        EntryCipher::new(&keys).unwrap().encrypt(&mut zeros);
        let aes = Aes256::new(&keys.aes.into());
        for (i, stream) in zeros.chunks(16).enumerate() {
            let mut block: Block = (i as u128 + 1).to_le_bytes().into();
            aes.encrypt_block(&mut block);
            assert_eq!(stream, block.as_slice(), "block {i}");
        }
    }

    #[test]
    fn keys_follow_pbkdf2_hmac_sha1() {
        // The 66 derived bytes are split into AES key, HMAC key and verifier in that order
        // (that the keys are right end to end is shown by the zip crate and 7-Zip opening
        // packages, in the integration tests).
        let salt = [0x5a; SALT_LEN];
        let keys = EntryKeys::derive_with_salt(b"password", salt).unwrap();
        let mut expected = [0u8; 66];
        pbkdf2::pbkdf2::<Hmac<Sha1>>(b"password", &salt, 1000, &mut expected).unwrap();
        assert_eq!(keys.aes, expected[..32]);
        assert_eq!(keys.mac, expected[32..64]);
        assert_eq!(&keys.preamble[..SALT_LEN], &salt);
        assert_eq!(&keys.preamble[SALT_LEN..], &expected[64..]);
        let other = EntryKeys::derive(b"password").unwrap();
        assert_ne!(other.preamble[..SALT_LEN], salt, "salts are random");
    }
}

//! The checkpoint signing key on disk.
//!
//! The file holds the standard base64 (RFC 4648 section 4, padded) of the
//! 32-byte Ed25519 seed (the RFC 8032 private key), optionally followed by
//! whitespace; 44 characters and a newline as written here. Base64 rather
//! than hex so the format matches the rest of the signed-note material.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::SigningKey;
use rand::rngs::OsRng;
use rand::RngCore;

/// A key file larger than this is not one of ours.
const MAX_KEY_FILE_BYTES: u64 = 1024;

/// Why the signing key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The file exists but could not be read.
    #[error("cannot read signing key file {path}: {source}")]
    Read {
        /// The key file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The file was missing and could not be created.
    #[error("cannot create signing key file {path}: {source}")]
    Create {
        /// The key file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The file does not hold a base64 32-byte seed.
    #[error("signing key file {path} is malformed: {reason}")]
    Malformed {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Loads the signing key from `path`, or creates a new random key there if
/// the file does not exist.
///
/// A new file is written with mode 0600 to a temporary file in the same
/// directory, synced, and then linked into place, which fails rather than
/// overwrites if another process created the key meanwhile; that process's
/// key is then loaded instead, so two processes never sign with different
/// keys. The directory must exist.
pub fn load_or_create_signing_key(path: &Path) -> Result<SigningKey, KeyFileError> {
    match load_signing_key(path) {
        Err(KeyFileError::Read { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            create_signing_key(path)
        }
        other => other,
    }
}

/// Loads the signing key from an existing file.
pub fn load_signing_key(path: &Path) -> Result<SigningKey, KeyFileError> {
    let read_err = |source| KeyFileError::Read {
        path: path.to_owned(),
        source,
    };
    let malformed = |reason| KeyFileError::Malformed {
        path: path.to_owned(),
        reason,
    };
    let mut text = Vec::new();
    File::open(path)
        .and_then(|f| f.take(MAX_KEY_FILE_BYTES + 1).read_to_end(&mut text))
        .map_err(read_err)?;
    if text.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err(malformed("file is too large"));
    }
    let text = std::str::from_utf8(&text).map_err(|_| malformed("file is not text"))?;
    let seed = B64
        .decode(text.trim())
        .map_err(|_| malformed("contents are not base64"))?;
    let seed: [u8; 32] = seed
        .try_into()
        .map_err(|_| malformed("key is not 32 bytes"))?;
    Ok(SigningKey::from_bytes(&seed))
}

fn create_signing_key(path: &Path) -> Result<SigningKey, KeyFileError> {
    let create_err = |source| KeyFileError::Create {
        path: path.to_owned(),
        source,
    };
    let file_name = path.file_name().ok_or_else(|| {
        create_err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "path has no file name",
        ))
    })?;
    let mut suffix = [0u8; 8];
    OsRng.fill_bytes(&mut suffix);
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".tmp-{}", hex::encode(suffix)));
    let tmp = path.with_file_name(tmp_name);

    let key = SigningKey::generate(&mut OsRng);
    let text = format!("{}\n", B64.encode(key.to_bytes()));
    let written =
        write_private_file(&tmp, text.as_bytes()).and_then(|()| fs::hard_link(&tmp, path));
    // The temporary name is only a staging area; remove it whatever happened.
    let _ = fs::remove_file(&tmp);
    match written {
        Ok(()) => {
            sync_parent_dir(path).map_err(create_err)?;
            Ok(key)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => load_signing_key(path),
        Err(e) => Err(create_err(e)),
    }
}

fn write_private_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    #[cfg(unix)]
    {
        // The mode given at open is reduced by the umask; set it exactly.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(contents)?;
    file.sync_all()
}

/// Makes the new directory entry durable, so a crash cannot lose a key that
/// has already signed checkpoints.
fn sync_parent_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(parent)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_a_private_key_file_and_reloads_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.key");
        let key = load_or_create_signing_key(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.len(), 45);
        assert!(text.ends_with('\n'));
        let again = load_or_create_signing_key(&path).unwrap();
        assert_eq!(again.to_bytes(), key.to_bytes());
        assert_eq!(load_signing_key(&path).unwrap().to_bytes(), key.to_bytes());
        // Only the key file is left behind, no temporary file.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn reads_a_key_written_by_hand() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        fs::write(&path, format!("  {}\r\n\n", B64.encode([9u8; 32]))).unwrap();
        let key = load_or_create_signing_key(&path).unwrap();
        assert_eq!(key.to_bytes(), [9u8; 32]);
    }

    #[test]
    fn malformed_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let cases: [&[u8]; 6] = [
            b"",
            b"not base64!",
            b"AAAA",
            &[0xff, 0xfe, 0x00],
            b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            &[b'A'; 2000],
        ];
        for contents in cases {
            fs::write(&path, contents).unwrap();
            let err = load_or_create_signing_key(&path).unwrap_err();
            assert!(matches!(err, KeyFileError::Malformed { .. }), "{err}");
            // A bad key must never be silently replaced by a new one.
            assert_eq!(fs::read(&path).unwrap(), contents);
        }
    }

    #[test]
    fn a_missing_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/dir/k");
        assert!(matches!(
            load_or_create_signing_key(&path),
            Err(KeyFileError::Create { .. })
        ));
    }

    #[test]
    fn an_existing_key_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        fs::write(&path, B64.encode([5u8; 32])).unwrap();
        // Creating over an existing file loads it instead, as happens when
        // another process wins the race to create the key.
        let key = create_signing_key(&path).unwrap();
        assert_eq!(key.to_bytes(), [5u8; 32]);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}

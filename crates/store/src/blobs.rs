//! The object store for documents (and later productions): content-addressed by SHA-256, on the
//! local file system by default or in any S3-compatible bucket.
//!
//! A blob is durable before `put` returns, so the database row that points at it can commit
//! afterwards: a crash between the two leaves at most an orphan blob, never a row without bytes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::{ObjectStore, PutPayload};
use sha2::{Digest, Sha256};

use crate::{StoreError, StoreResult, StoredBlob};

#[derive(Clone)]
pub enum Blobs {
    Local { root: PathBuf },
    S3 { store: Arc<dyn ObjectStore> },
}

impl std::fmt::Debug for Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Blobs::Local { root } => write!(f, "Blobs::Local({})", root.display()),
            Blobs::S3 { .. } => f.write_str("Blobs::S3"),
        }
    }
}

fn blob_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Blob(e.to_string())
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn key_for(sha256: &str) -> String {
    format!("blobs/sha256/{}/{}", &sha256[..2], sha256)
}

fn valid_digest(sha256: &str) -> bool {
    sha256.len() == 64
        && sha256
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

impl Blobs {
    pub fn local(root: impl Into<PathBuf>) -> Blobs {
        Blobs::Local { root: root.into() }
    }

    /// `s3://bucket?endpoint=http://127.0.0.1:9000&region=us-east-1`; credentials come from the
    /// usual AWS_* variables.
    pub fn from_url(url: &str) -> StoreResult<Blobs> {
        let parsed = url::Url::parse(url)
            .map_err(|e| StoreError::Config(format!("object store URL: {e}")))?;
        if parsed.scheme() != "s3" {
            return Err(StoreError::Config(format!(
                "object store URL must start with s3:// (got {}://)",
                parsed.scheme()
            )));
        }
        let bucket = parsed
            .host_str()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| StoreError::Config("object store URL names no bucket".into()))?;
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        for (k, v) in parsed.query_pairs() {
            builder = match k.as_ref() {
                "endpoint" => builder
                    .with_endpoint(v.to_string())
                    .with_allow_http(v.starts_with("http://"))
                    .with_virtual_hosted_style_request(false),
                "region" => builder.with_region(v.to_string()),
                other => {
                    return Err(StoreError::Config(format!(
                        "object store URL: unknown parameter '{other}' (known: endpoint, region)"
                    )))
                }
            };
        }
        let store = builder
            .build()
            .map_err(|e| StoreError::Config(e.to_string()))?;
        Ok(Blobs::S3 {
            store: Arc::new(store),
        })
    }

    /// Stores `bytes` and returns its digest once it is durable.
    pub async fn put(&self, bytes: Bytes) -> StoreResult<StoredBlob> {
        let sha256 = sha256_hex(&bytes);
        let size = bytes.len() as u64;
        match self {
            Blobs::Local { root } => {
                let path = root.join(key_for(&sha256));
                let root = root.clone();
                tokio::task::spawn_blocking(move || write_durably(&root, &path, &bytes))
                    .await
                    .map_err(blob_err)??;
            }
            Blobs::S3 { store } => {
                let key = object_store::path::Path::from(key_for(&sha256));
                store
                    .put(&key, PutPayload::from_bytes(bytes))
                    .await
                    .map_err(blob_err)?;
            }
        }
        Ok(StoredBlob { sha256, size })
    }

    /// The bytes of a blob, checked against their digest: corruption is an error, not data.
    pub async fn get(&self, sha256: &str) -> StoreResult<Bytes> {
        if !valid_digest(sha256) {
            return Err(StoreError::Corrupt(format!(
                "'{sha256}' is not a SHA-256 digest"
            )));
        }
        let bytes = match self {
            Blobs::Local { root } => {
                let path = root.join(key_for(sha256));
                match tokio::fs::read(&path).await {
                    Ok(b) => Bytes::from(b),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        return Err(StoreError::Corrupt(format!("blob {sha256} is missing")))
                    }
                    Err(e) => return Err(blob_err(e)),
                }
            }
            Blobs::S3 { store } => {
                let key = object_store::path::Path::from(key_for(sha256));
                let got = store.get(&key).await.map_err(|e| match e {
                    object_store::Error::NotFound { .. } => {
                        StoreError::Corrupt(format!("blob {sha256} is missing"))
                    }
                    other => blob_err(other),
                })?;
                got.bytes().await.map_err(blob_err)?
            }
        };
        if sha256_hex(&bytes) != sha256 {
            return Err(StoreError::Corrupt(format!(
                "blob {sha256} does not match its digest"
            )));
        }
        Ok(bytes)
    }
}

/// Writes a blob so that after a crash it is either complete under its name or absent, and
/// durable before this returns: the file is fsync'd before it gets its name, and its directory
/// after. On Linux the file is born unnamed in its own directory (`O_TMPFILE`) and linked under
/// its name when complete; elsewhere, or on a file system without `O_TMPFILE`, it is written
/// under a temporary name and renamed. (The rename through one shared `tmp/` directory made
/// every upload contend for that directory's lock.)
fn write_durably(root: &Path, path: &Path, bytes: &[u8]) -> StoreResult<()> {
    let dir = path
        .parent()
        .ok_or_else(|| StoreError::Blob("blob path has no parent".into()))?;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.len() == bytes.len() as u64 {
            // Content-addressed: the same bytes are already there. Another upload of them may
            // have linked the file a moment ago without having fsync'd the directory yet, so
            // its name is made durable here before this upload is acknowledged.
            return std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(blob_err);
        }
    }
    if !dir.is_dir() {
        // A new shard directory: its own name, and those of any directories made with it,
        // must be durable too, or a crash could lose the directory with the blob in it.
        std::fs::create_dir_all(dir).map_err(blob_err)?;
        for made in dir.ancestors().skip(1).take_while(|d| d.starts_with(root)) {
            std::fs::File::open(made)
                .and_then(|d| d.sync_all())
                .map_err(blob_err)?;
        }
    }
    #[cfg(target_os = "linux")]
    match unnamed::write_and_link(dir, path, bytes) {
        Ok(()) => return Ok(()),
        Err(e) if unnamed::unsupported(&e) => {}
        Err(e) => return Err(blob_err(e)),
    }
    write_and_rename(root, dir, path, bytes).map_err(blob_err)
}

fn write_and_rename(root: &Path, dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp_dir = root.join("tmp");
    std::fs::create_dir_all(&tmp_dir)?;
    let tmp = tmp_dir.join(format!("{}.part", uuid::Uuid::new_v4()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(target_os = "linux")]
mod unnamed {
    use std::ffi::CString;
    use std::io::{Error, ErrorKind, Write};
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::AsRawFd;
    use std::path::Path;

    /// Writes `bytes` to an unnamed file in `dir`, fsyncs it, links it as `path` and fsyncs
    /// `dir`. A crash before the link leaves nothing behind: an unnamed file is freed.
    pub(super) fn write_and_link(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .mode(0o644)
            .custom_flags(libc::O_TMPFILE)
            .open(dir)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        let from = CString::new(format!("/proc/self/fd/{}", f.as_raw_fd()))?;
        let to = CString::new(path.as_os_str().as_bytes())?;
        // SAFETY: both arguments are NUL-terminated strings that outlive the call, and the
        // descriptor named by `from` stays open (in `f`) until after it.
        let linked = unsafe {
            libc::linkat(
                libc::AT_FDCWD,
                from.as_ptr(),
                libc::AT_FDCWD,
                to.as_ptr(),
                libc::AT_SYMLINK_FOLLOW,
            )
        };
        if linked != 0 {
            let e = Error::last_os_error();
            // Another upload of the same bytes linked first: same address, same content.
            if e.kind() != ErrorKind::AlreadyExists {
                return Err(e);
            }
        }
        std::fs::File::open(dir)?.sync_all()
    }

    /// Whether `e` says this system cannot make unnamed files or link them by descriptor
    /// (no `O_TMPFILE` in the file system or kernel, no /proc): then the rename is used.
    pub(super) fn unsupported(e: &Error) -> bool {
        matches!(
            e.raw_os_error(),
            Some(libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL | libc::ENOENT)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_blobs_round_trip_and_detect_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(dir.path());
        let b = blobs
            .put(Bytes::from_static(b"%PDF-1.7 hello %%EOF"))
            .await
            .unwrap();
        assert_eq!(b.size, 20);
        assert_eq!(
            &blobs.get(&b.sha256).await.unwrap()[..],
            b"%PDF-1.7 hello %%EOF"
        );
        // Nothing is left beside the blob: no temporary file, no half-written one.
        let mut names = Vec::new();
        for entry in
            std::fs::read_dir(dir.path().join(format!("blobs/sha256/{}", &b.sha256[..2]))).unwrap()
        {
            names.push(entry.unwrap().file_name().into_string().unwrap());
        }
        assert_eq!(names, vec![b.sha256.clone()]);
        let leftovers = std::fs::read_dir(dir.path().join("tmp"))
            .map(|d| d.count())
            .unwrap_or(0);
        assert_eq!(leftovers, 0);
        // Same bytes again: same address, no error.
        let again = blobs
            .put(Bytes::from_static(b"%PDF-1.7 hello %%EOF"))
            .await
            .unwrap();
        assert_eq!(again.sha256, b.sha256);

        let path = dir.path().join(key_for(&b.sha256));
        std::fs::write(&path, b"%PDF-1.7 HELLO %%EOF").unwrap();
        assert!(matches!(
            blobs.get(&b.sha256).await,
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            blobs.get("../../etc/passwd").await,
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn s3_urls_are_checked() {
        assert!(Blobs::from_url("file:///tmp").is_err());
        assert!(Blobs::from_url("s3://bucket?colour=blue").is_err());
        assert!(
            Blobs::from_url("s3://bucket?endpoint=http://127.0.0.1:9000&region=us-east-1").is_ok()
        );
    }
}

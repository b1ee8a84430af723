//! Objects that belong to one thing and go with it: a legal hold's snapshot, a production's
//! package. Each lives under its own prefix (`holds/<id>/...`, `productions/<id>/...`) so that
//! the end of a hold deletes its copy of the customer's data, and nothing else.
//!
//! Objects are written as streams and never held whole in memory: a local file is written to a
//! temporary name, fsync'd and renamed into place; an S3 object goes up as a multipart upload
//! that completes only when the writer is committed. Either way the bytes are durable before
//! [`BlobWriter::commit`] returns, so the row that names the object commits after them: a crash
//! leaves at most an orphan object under the prefix, never a row without its bytes. Every
//! object is hashed on the way in; the row keeps the SHA-256, and readers check it.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::buffered::BufWriter;
use object_store::ObjectStore;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use crate::{Blobs, StoreError, StoreResult, StoredBlob};

/// Bytes per part of an S3 multipart upload; two parts in flight at most, so that an upload
/// holds about 20 MiB whatever its size.
const PART_SIZE: usize = 10 * 1024 * 1024;
const PARTS_IN_FLIGHT: usize = 2;

fn blob_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Blob(e.to_string())
}

/// A key or prefix we make ourselves: lowercase letters, digits, `-` and `.` in `/`-separated
/// segments, no empty or dot-only segment. Rows hold keys, so a key read back is checked too.
fn check_key(key: &str) -> StoreResult<()> {
    let ok = !key.is_empty()
        && key.len() <= 512
        && key.split('/').all(|seg| {
            !seg.is_empty()
                && seg.chars().any(|c| c != '.')
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        });
    if ok {
        Ok(())
    } else {
        Err(StoreError::Corrupt(format!("'{key}' is not an object key")))
    }
}

/// The objects under one prefix.
#[derive(Debug, Clone)]
pub struct BlobSpace {
    blobs: Blobs,
    prefix: String,
}

/// An object being read: its size and its bytes in chunks.
pub struct BlobRead {
    pub size: u64,
    pub stream: BoxStream<'static, io::Result<Bytes>>,
}

impl Blobs {
    /// The objects under `prefix` (e.g. `holds/3f2a...`).
    pub fn space(&self, prefix: &str) -> StoreResult<BlobSpace> {
        check_key(prefix)?;
        Ok(BlobSpace {
            blobs: self.clone(),
            prefix: prefix.to_string(),
        })
    }

    /// Reads an object written through a [`BlobSpace`], by the key its row holds.
    pub async fn open_key(&self, key: &str) -> StoreResult<BlobRead> {
        check_key(key)?;
        match self {
            Blobs::Local { root } => {
                let path = root.join(key);
                let file = match tokio::fs::File::open(&path).await {
                    Ok(f) => f,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        return Err(StoreError::Corrupt(format!("object {key} is missing")))
                    }
                    Err(e) => return Err(blob_err(e)),
                };
                let size = file.metadata().await.map_err(blob_err)?.len();
                let stream = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024);
                Ok(BlobRead {
                    size,
                    stream: stream.boxed(),
                })
            }
            Blobs::S3 { store } => {
                let path = object_store::path::Path::from(key);
                let got = store.get(&path).await.map_err(|e| match e {
                    object_store::Error::NotFound { .. } => {
                        StoreError::Corrupt(format!("object {key} is missing"))
                    }
                    other => blob_err(other),
                })?;
                let size = got.meta.size;
                let stream = got.into_stream().map_err(io::Error::other);
                Ok(BlobRead {
                    size,
                    stream: stream.boxed(),
                })
            }
        }
    }
}

impl BlobSpace {
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Starts writing the object `name` under the prefix.
    pub async fn writer(&self, name: &str) -> StoreResult<BlobWriter> {
        check_key(name)?;
        let key = format!("{}/{name}", self.prefix);
        let sink = match &self.blobs {
            Blobs::Local { root } => {
                let path = root.join(&key);
                let tmp_dir = root.join("tmp");
                tokio::fs::create_dir_all(&tmp_dir)
                    .await
                    .map_err(blob_err)?;
                let tmp = tmp_dir.join(format!("{}.part", uuid::Uuid::new_v4()));
                let file = tokio::fs::File::create(&tmp).await.map_err(blob_err)?;
                Sink::Local { file, tmp, path }
            }
            Blobs::S3 { store } => {
                let path = object_store::path::Path::from(key.as_str());
                Sink::S3 {
                    writer: BufWriter::with_capacity(Arc::clone(store), path.clone(), PART_SIZE)
                        .with_max_concurrency(PARTS_IN_FLIGHT),
                    store: Arc::clone(store),
                    path,
                }
            }
        };
        Ok(BlobWriter {
            sink,
            key,
            hasher: Sha256::new(),
            size: 0,
            shut: false,
            done: false,
        })
    }

    /// Copies `reader` to the object `name` and makes it durable.
    pub async fn put_stream<R: AsyncRead + Unpin>(
        &self,
        name: &str,
        mut reader: R,
    ) -> StoreResult<StoredObject> {
        let mut w = self.writer(name).await?;
        let mut reader = tokio::io::BufReader::with_capacity(256 * 1024, &mut reader);
        if let Err(e) = tokio::io::copy_buf(&mut reader, &mut w).await {
            w.abort().await;
            return Err(blob_err(e));
        }
        w.commit().await
    }

    /// Deletes every object under the prefix (the end of a hold). Safe to repeat.
    pub async fn delete_all(&self) -> StoreResult<()> {
        match &self.blobs {
            Blobs::Local { root } => {
                let dir = root.join(&self.prefix);
                match tokio::fs::remove_dir_all(&dir).await {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(blob_err(e)),
                }
            }
            Blobs::S3 { store } => {
                let prefix = object_store::path::Path::from(format!("{}/", self.prefix).as_str());
                let locations = store.list(Some(&prefix)).map_ok(|m| m.location).boxed();
                let mut deleted = store.delete_stream(locations);
                while let Some(r) = deleted.next().await {
                    match r {
                        Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                        Err(e) => return Err(blob_err(e)),
                    }
                }
                Ok(())
            }
        }
    }
}

/// An object that has been made durable.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredObject {
    /// The key to store in the row and read it back with ([`Blobs::open_key`]).
    pub key: String,
    pub sha256: String,
    pub size: u64,
}

impl From<StoredObject> for StoredBlob {
    fn from(o: StoredObject) -> StoredBlob {
        StoredBlob {
            sha256: o.sha256,
            size: o.size,
        }
    }
}

enum Sink {
    Local {
        file: tokio::fs::File,
        tmp: PathBuf,
        path: PathBuf,
    },
    S3 {
        writer: BufWriter,
        store: Arc<dyn ObjectStore>,
        path: object_store::path::Path,
    },
}

/// An object being written: any `AsyncWrite` user (a package builder, `tokio::io::copy`) can
/// stream into it. Nothing is visible under the key until [`BlobWriter::commit`].
pub struct BlobWriter {
    sink: Sink,
    key: String,
    hasher: Sha256,
    size: u64,
    /// The sink has been shut down (an S3 upload completed): it must not be polled again.
    shut: bool,
    /// Committed or aborted: nothing left to clean up.
    done: bool,
}

impl Drop for BlobWriter {
    /// A writer dropped half-way (a failed package) leaves no temporary file behind. (An S3
    /// multipart upload that never completes is invisible; the bucket's lifecycle rule for
    /// incomplete uploads reclaims its parts.)
    fn drop(&mut self) {
        if let (false, Sink::Local { tmp, .. }) = (self.done, &self.sink) {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

impl BlobWriter {
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Makes the object durable under its key and returns its digest and size.
    pub async fn commit(mut self) -> StoreResult<StoredObject> {
        if !self.shut {
            self.shutdown().await.map_err(blob_err)?;
        }
        let sha256 = hex::encode(self.hasher.clone().finalize());
        let (key, size) = (self.key.clone(), self.size);
        if let Sink::Local { file, tmp, path } = &mut self.sink {
            file.sync_all().await.map_err(blob_err)?;
            let (tmp, path) = (tmp.clone(), path.clone());
            tokio::task::spawn_blocking(move || move_into_place(&tmp, &path))
                .await
                .map_err(blob_err)??;
        }
        self.done = true;
        Ok(StoredObject { key, sha256, size })
    }

    /// Gives up: removes what was written.
    pub async fn abort(mut self) {
        self.done = true;
        match &mut self.sink {
            Sink::Local { tmp, .. } => {
                let _ = tokio::fs::remove_file(&tmp).await;
            }
            Sink::S3 { writer, .. } if !self.shut => {
                let _ = writer.abort().await;
            }
            // The upload completed: the object exists and must go.
            Sink::S3 { store, path, .. } => {
                let _ = store.delete(path).await;
            }
        }
    }
}

/// Renames the fsync'd temporary file into place and fsyncs the directory, so that after a
/// crash the object is either complete under its name or absent.
fn move_into_place(tmp: &Path, path: &Path) -> StoreResult<()> {
    let dir = path
        .parent()
        .ok_or_else(|| StoreError::Blob("object path has no parent".into()))?;
    let result = (|| -> io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::rename(tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    result.map_err(blob_err)
}

impl AsyncWrite for BlobWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.shut {
            return Poll::Ready(Err(io::Error::other("the object is already complete")));
        }
        let n = match &mut this.sink {
            Sink::Local { file, .. } => ready!(Pin::new(file).poll_write(cx, buf))?,
            Sink::S3 { writer, .. } => ready!(Pin::new(writer).poll_write(cx, buf))?,
        };
        this.hasher.update(&buf[..n]);
        this.size += n as u64;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.shut {
            return Poll::Ready(Ok(()));
        }
        match &mut this.sink {
            Sink::Local { file, .. } => Pin::new(file).poll_flush(cx),
            Sink::S3 { writer, .. } => Pin::new(writer).poll_flush(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.shut {
            return Poll::Ready(Ok(()));
        }
        match &mut this.sink {
            Sink::Local { file, .. } => ready!(Pin::new(file).poll_shutdown(cx))?,
            Sink::S3 { writer, .. } => ready!(Pin::new(writer).poll_shutdown(cx))?,
        }
        this.shut = true;
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;

    #[tokio::test]
    async fn objects_stream_in_and_out_and_go_with_their_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(dir.path());
        let space = blobs.space("holds/abc123").unwrap();
        let data = vec![42u8; 300_000];
        let o = space.put_stream("a1/0", &data[..]).await.unwrap();
        assert_eq!(o.key, "holds/abc123/a1/0");
        assert_eq!(o.size, 300_000);
        assert_eq!(o.sha256, crate::sha256_hex(&data));
        let read = blobs.open_key(&o.key).await.unwrap();
        assert_eq!(read.size, 300_000);
        let back: Vec<Bytes> = read.stream.try_collect().await.unwrap();
        assert_eq!(back.concat(), data);

        // A writer dropped before commit leaves nothing, not even its temporary file.
        let mut w = space.writer("a1/1").await.unwrap();
        w.write_all(b"half").await.unwrap();
        drop(w);
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
        assert!(blobs.open_key("holds/abc123/a1/1").await.is_err());

        space.delete_all().await.unwrap();
        space.delete_all().await.unwrap();
        assert!(matches!(
            blobs.open_key(&o.key).await,
            Err(StoreError::Corrupt(_))
        ));
        for bad in ["", "../x", "holds//x", "Holds/x", "holds/.."] {
            assert!(blobs.space(bad).is_err(), "{bad}");
        }
    }
}

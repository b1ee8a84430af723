//! The builder the orchestrator feeds: records in, one encrypted package out.

use std::collections::HashSet;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use custodian_audit::parse_public_key_text;
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt, AsyncWrite};

use crate::certificate::{self, Production};
use crate::manifest::{self, Manifest, ManifestFile, ManifestRequest, PackageMeta};
use crate::pipeline::{Pipeline, Step};
use crate::proof::{self, AuditCheck};
use crate::protect::ProtectionKind;
use crate::verify::Discrepancy;
use crate::{layout, path, AuditMaterial, Digest, PackageError, Protection, Record};
use crate::{RequestFacts, SignOff};

/// How the builder uses memory and disk.
#[derive(Debug, Clone)]
pub struct Options {
    /// Bytes per buffer passed between the stages (default 1 MiB: at 256 KiB the hand-offs
    /// between threads cost a measurable share of the time).
    pub chunk_size: usize,
    /// Buffers that may wait between two stages (default 4). Memory for data in flight is at
    /// most `chunk_size * (2 * queue_depth + 5)` (the buffers waiting in the two channels,
    /// one in the hands of each stage, one being read ahead), whatever the size of the
    /// package; a sink or a reader may keep a buffer of its own (a Tokio file does).
    pub queue_depth: usize,
    /// Where records of unknown size are spooled (default: the system's temporary directory).
    pub spool_dir: Option<PathBuf>,
    /// The program named in the manifest.
    pub producer: String,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            chunk_size: 1024 * 1024,
            queue_depth: 4,
            spool_dir: None,
            producer: format!("custodian {}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// Builds one package: [`PackageBuilder::add_record`] for each record, then
/// [`PackageBuilder::seal`], then [`SealedPackage::finish`].
pub struct PackageBuilder<W> {
    facts: RequestFacts,
    sign_off: SignOff,
    protection: ProtectionKind,
    created_at: DateTime<Utc>,
    options: Options,
    files: Vec<ManifestFile>,
    taken: HashSet<String>,
    total_bytes: u64,
    /// None once an error has left the package incomplete.
    pipeline: Option<Pipeline<W>>,
}

impl<W: AsyncWrite + Unpin + Send + 'static> PackageBuilder<W> {
    /// Starts a package for `facts`, certified by `sign_off`, protected by `protection`,
    /// written to `sink` (which is shut down when the package is finished, completing a
    /// multipart upload). Must be called inside a Tokio runtime.
    pub fn new(
        facts: RequestFacts,
        sign_off: SignOff,
        protection: Protection,
        sink: W,
        options: Options,
    ) -> Result<PackageBuilder<W>, PackageError> {
        let facts = facts.validate()?;
        sign_off.validate()?;
        // Whole seconds: tar and ZIP carry no more, and the manifest then states the same.
        let created_at = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap_or_default();
        let chunk = options.chunk_size.max(4096);
        let pipeline = Pipeline::start(&protection, sink, created_at, chunk, options.queue_depth)?;
        Ok(PackageBuilder {
            facts,
            sign_off,
            protection: protection.kind(),
            created_at,
            options: Options {
                chunk_size: chunk,
                ..options
            },
            files: Vec::new(),
            taken: HashSet::new(),
            total_bytes: 0,
            pipeline: Some(pipeline),
        })
    }

    /// Streams one record into the package, hashing it on the way, and returns its manifest
    /// line. The record's path, category and uniqueness are checked before anything is read;
    /// those errors leave the package as it was. Any later error leaves it incomplete.
    pub async fn add_record<R: AsyncRead + Unpin + Send>(
        &mut self,
        record: Record,
        reader: R,
    ) -> Result<ManifestFile, PackageError> {
        let full = format!(
            "{}/{}/{}",
            layout::RECORDS_DIR,
            record.category,
            record.path
        );
        path::check(&record.path)
            .and_then(|()| path::check(&full))
            .map_err(|reason| PackageError::InvalidPath {
                path: record.path.clone(),
                reason,
            })?;
        if !self.facts.categories.contains(&record.category) {
            return Err(PackageError::CategoryNotDisclosed {
                path: full,
                category: record.category,
            });
        }
        let key = path::collision_key(&full);
        if self.taken.contains(&key) {
            return Err(PackageError::DuplicatePath(full));
        }
        if self.pipeline.is_none() {
            return Err(PackageError::Failed);
        }
        let streamed = match record.size {
            Some(size) => self.stream(&full, size, reader).await,
            None => match self.spool(&full, reader).await {
                Ok((file, size)) => self.stream(&full, size, file).await,
                Err(e) => Err(e),
            },
        };
        let (digest, size) = match streamed {
            Ok(done) => done,
            Err(e) => return Err(self.fail(e).await),
        };
        self.taken.insert(key);
        self.total_bytes += size;
        let line = ManifestFile {
            path: full,
            category: record.category,
            size,
            sha256: hex::encode(digest),
        };
        self.files.push(line.clone());
        Ok(line)
    }

    /// Copies a stream of unknown length to an anonymous temporary file (deleted when closed)
    /// and returns it rewound, with its length.
    async fn spool<R: AsyncRead + Unpin>(
        &self,
        path: &str,
        mut reader: R,
    ) -> Result<(tokio::fs::File, u64), PackageError> {
        let spool_err = |source| PackageError::Spool {
            path: path.to_string(),
            source,
        };
        let dir = self
            .options
            .spool_dir
            .clone()
            .unwrap_or_else(std::env::temp_dir);
        let file = tokio::task::spawn_blocking(move || tempfile::tempfile_in(dir))
            .await
            .map_err(|e| spool_err(std::io::Error::other(e)))?
            .map_err(spool_err)?;
        let mut file = tokio::fs::File::from_std(file);
        let size = tokio::io::copy(&mut reader, &mut file)
            .await
            .map_err(|source| PackageError::ReadRecord {
                path: path.to_string(),
                source,
            })?;
        file.rewind().await.map_err(spool_err)?;
        Ok((file, size))
    }

    async fn stream<R: AsyncRead + Unpin>(
        &self,
        path: &str,
        size: u64,
        reader: R,
    ) -> Result<(Digest, u64), PackageError> {
        let pipeline = self.pipeline.as_ref().ok_or(PackageError::Failed)?;
        stream_into(pipeline, path, size, reader).await
    }

    /// Tears the pipeline down after an error. A [`PackageError::Failed`] from a stopped
    /// pipeline is replaced by the pipeline's own reason.
    async fn fail(&mut self, error: PackageError) -> PackageError {
        let Some(pipeline) = self.pipeline.take() else {
            return error;
        };
        let cause = pipeline.failure().await;
        match error {
            PackageError::Failed => cause,
            other => other,
        }
    }

    /// Writes `MANIFEST.sha256`, `manifest.json` and `certificate.pdf` after the last record.
    /// The returned package states the digests that the production event's audit entry must
    /// record ([`SealedPackage::audit_details`]).
    pub async fn seal(mut self) -> Result<SealedPackage<W>, PackageError> {
        let manifest = Manifest {
            format: layout::FORMAT.to_string(),
            request: ManifestRequest::from_facts(&self.facts),
            package: PackageMeta {
                created_at: self.created_at,
                producer: self.options.producer.clone(),
                protection: self.protection,
                file_count: self.files.len() as u64,
                total_bytes: self.total_bytes,
            },
            files: std::mem::take(&mut self.files),
        };
        let mut json = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| PackageError::Archive(format!("manifest.json: {e}")))?;
        json.push(b'\n');
        let sums = manifest::sha256sums(&manifest.files, &Sha256::digest(&json).into());
        let manifest_sha256: Digest = Sha256::digest(sums.as_bytes()).into();
        let file_count = manifest.package.file_count;
        let pdf = certificate::certificate_pdf(&Production {
            facts: &self.facts,
            sign_off: &self.sign_off,
            file_count,
            total_bytes: self.total_bytes,
            manifest_sha256: &manifest_sha256,
        });
        let certificate_sha256: Digest = Sha256::digest(&pdf).into();
        for (path, bytes) in [
            (layout::SHA256SUMS, sums.as_bytes()),
            (layout::MANIFEST_JSON, json.as_slice()),
            (layout::CERTIFICATE, pdf.as_slice()),
        ] {
            if let Err(e) = self.stream(path, bytes.len() as u64, bytes).await {
                return Err(self.fail(e).await);
            }
        }
        let pipeline = self.pipeline.take().ok_or(PackageError::Failed)?;
        Ok(SealedPackage {
            pipeline,
            manifest_sha256,
            certificate_sha256,
            file_count,
            total_bytes: self.total_bytes,
            protection: self.protection,
        })
    }
}

/// A package whose records, manifest and certificate are written, waiting for the audit proof
/// of its production event.
pub struct SealedPackage<W> {
    pipeline: Pipeline<W>,
    manifest_sha256: Digest,
    certificate_sha256: Digest,
    file_count: u64,
    total_bytes: u64,
    protection: ProtectionKind,
}

impl<W: AsyncWrite + Unpin + Send + 'static> SealedPackage<W> {
    /// The SHA-256 of `MANIFEST.sha256`, which the certificate states.
    pub fn manifest_sha256(&self) -> Digest {
        self.manifest_sha256
    }

    /// The SHA-256 of `certificate.pdf`.
    pub fn certificate_sha256(&self) -> Digest {
        self.certificate_sha256
    }

    /// The details of the production event ([`crate::PRODUCTION_EVENT_ACTION`]) to append to
    /// the audit log: the two digests, the number of records and their bytes. No customer
    /// data.
    pub fn audit_details(&self) -> serde_json::Value {
        proof::event_details(
            &self.manifest_sha256,
            &self.certificate_sha256,
            self.file_count,
            self.total_bytes,
        )
    }

    /// Checks that `audit` proves this package's production event: the checkpoint is signed
    /// by the given key, the path leads from the entry to its root, and the entry records this
    /// package's digests. [`SealedPackage::finish`] checks the same, but a failure there
    /// abandons the package; check first to be able to try again.
    pub fn check_audit(&self, audit: &AuditMaterial) -> Result<AuditCheck, PackageError> {
        let (_, key) = parse_public_key_text(&audit.public_key_text).map_err(|e| {
            PackageError::AuditMaterial(Discrepancy::PublicKeyMalformed(e.to_string()))
        })?;
        let proof_json = proof_json(audit)?;
        proof::check(
            &proof_json,
            &audit.checkpoint_note,
            &key,
            &self.manifest_sha256,
            &self.certificate_sha256,
        )
        .map_err(PackageError::AuditMaterial)
    }

    /// Writes the audit files, closes the archive and the encryption, and shuts the sink
    /// down.
    pub async fn finish(self, audit: AuditMaterial) -> Result<Finished<W>, PackageError> {
        if let Err(e) = self.check_audit(&audit) {
            let _ = self.pipeline.failure().await;
            return Err(e);
        }
        let proof_json = proof_json(&audit)?;
        let key_text = format!("{}\n", audit.public_key_text.trim());
        for (path, bytes) in [
            (layout::INCLUSION_PROOF, proof_json.as_slice()),
            (layout::CHECKPOINT, audit.checkpoint_note.as_bytes()),
            (layout::PUBLIC_KEY, key_text.as_bytes()),
        ] {
            let len = bytes.len() as u64;
            if stream_into(&self.pipeline, path, len, bytes).await.is_err() {
                return Err(self.pipeline.failure().await);
            }
        }
        let written = self.pipeline.finish().await?;
        Ok(Finished {
            sink: written.sink,
            package_sha256: written.sha256,
            package_bytes: written.bytes,
            manifest_sha256: self.manifest_sha256,
            certificate_sha256: self.certificate_sha256,
            file_count: self.file_count,
            total_bytes: self.total_bytes,
            protection: self.protection,
        })
    }
}

/// Reads `size` bytes from `reader` in chunks, hashing each and passing it on. The next
/// chunk's read is started before this one is hashed: a Tokio file (or any reader that works
/// on another thread) then reads while this task hashes.
async fn stream_into<W: AsyncWrite + Unpin + Send + 'static, R: AsyncRead + Unpin>(
    pipeline: &Pipeline<W>,
    path: &str,
    size: u64,
    mut reader: R,
) -> Result<(Digest, u64), PackageError> {
    let stopped = || PackageError::Failed;
    let read_err = |source| PackageError::ReadRecord {
        path: path.to_string(),
        source,
    };
    pipeline
        .send(Step::Begin {
            path: path.to_string(),
            size,
        })
        .await
        .map_err(|()| stopped())?;
    let mut hasher = Sha256::new();
    let mut total = 0u64;
    let mut buf = pipeline.pool.take();
    let mut ended = fill(&mut reader, &mut buf).await.map_err(read_err)?;
    while !buf.is_empty() {
        total += buf.len() as u64;
        if total > size {
            return Err(PackageError::SizeMismatch {
                path: path.to_string(),
                declared: size,
                actual: total,
            });
        }
        let mut next = pipeline.pool.take();
        let next_ended = if ended {
            hasher.update(&buf);
            None
        } else {
            let reading = fill(&mut reader, &mut next);
            tokio::pin!(reading);
            let early = poll_once(reading.as_mut()).await;
            hasher.update(&buf);
            Some(match early {
                Some(done) => done,
                None => reading.await,
            })
        };
        pipeline
            .send(Step::Data(std::mem::replace(&mut buf, next)))
            .await
            .map_err(|()| stopped())?;
        match next_ended {
            Some(done) => ended = done.map_err(read_err)?,
            None => break,
        }
    }
    pipeline.pool.give(buf);
    if total != size {
        return Err(PackageError::SizeMismatch {
            path: path.to_string(),
            declared: size,
            actual: total,
        });
    }
    pipeline.send(Step::End).await.map_err(|()| stopped())?;
    Ok((hasher.finalize().into(), total))
}

/// Reads into `buf`'s spare capacity (nothing is zeroed first) until it is full or the
/// reader ends; true if it ended.
async fn fill<R: AsyncRead + Unpin>(reader: &mut R, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    while buf.len() < buf.capacity() {
        if reader.read_buf(buf).await? == 0 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Polls `fut` once: its output if it is ready at once, else None (it has started its work).
async fn poll_once<F: std::future::Future>(fut: std::pin::Pin<&mut F>) -> Option<F::Output> {
    let mut fut = Some(fut);
    std::future::poll_fn(|cx| {
        let ready = match fut.take() {
            Some(f) => match f.poll(cx) {
                std::task::Poll::Ready(out) => Some(out),
                std::task::Poll::Pending => None,
            },
            None => None,
        };
        std::task::Poll::Ready(ready)
    })
    .await
}

fn proof_json(audit: &AuditMaterial) -> Result<Vec<u8>, PackageError> {
    let mut json = serde_json::to_vec_pretty(&audit.proof)
        .map_err(|e| PackageError::Archive(format!("inclusion proof: {e}")))?;
    json.push(b'\n');
    Ok(json)
}

/// A complete package.
#[derive(Debug)]
pub struct Finished<W> {
    /// The sink, shut down.
    pub sink: W,
    /// SHA-256 of the package as written (the encrypted file the agency downloads).
    pub package_sha256: Digest,
    /// Its size in bytes.
    pub package_bytes: u64,
    /// SHA-256 of `MANIFEST.sha256`.
    pub manifest_sha256: Digest,
    /// SHA-256 of `certificate.pdf`.
    pub certificate_sha256: Digest,
    /// Number of records.
    pub file_count: u64,
    /// Their bytes.
    pub total_bytes: u64,
    /// How it is protected.
    pub protection: ProtectionKind,
}

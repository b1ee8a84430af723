//! Three stages joined by bounded channels, so that hashing, encryption and writing overlap on
//! different cores while memory stays at a few buffers:
//!
//! 1. the caller's task reads each record and hashes it (SHA-256) ([`crate::PackageBuilder`]);
//! 2. a blocking thread frames the archive and encrypts it ([`crate::container`]);
//! 3. a task hashes the encrypted output and writes it to the sink.
//!
//! A package is complete only when stage 1 says so ([`Step::Finish`]); if the builder is
//! dropped or fails half-way, stage 2 does not close the archive (an age stream without its
//! final chunk does not decrypt) and stage 3 does not shut the sink down (a multipart upload
//! is not completed).

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::container::{Container, TarAge, ZipAes};
use crate::{Digest, PackageError, Protection};

/// Buffers handed back for reuse, so that a long production does not allocate (and the kernel
/// zero) a fresh buffer for every chunk. Holds at most `depth + 2` buffers.
#[derive(Clone)]
pub(crate) struct Pool {
    free: Arc<Mutex<Vec<Vec<u8>>>>,
    chunk: usize,
    keep: usize,
}

impl Pool {
    fn new(chunk: usize, depth: usize) -> Pool {
        Pool {
            free: Arc::new(Mutex::new(Vec::new())),
            chunk,
            keep: depth + 2,
        }
    }

    /// An empty buffer with room for a chunk.
    pub(crate) fn take(&self) -> Vec<u8> {
        let reused = self.free.lock().ok().and_then(|mut f| f.pop());
        reused.unwrap_or_else(|| Vec::with_capacity(self.chunk))
    }

    fn give(&self, mut buf: Vec<u8>) {
        if buf.capacity() != self.chunk {
            return;
        }
        buf.clear();
        if let Ok(mut free) = self.free.lock() {
            if free.len() < self.keep {
                free.push(buf);
            }
        }
    }
}

/// What stage 1 tells stage 2.
pub(crate) enum Step {
    Begin { path: String, size: u64 },
    Data(Vec<u8>),
    End,
    Finish,
}

/// What stage 2 hands stage 3.
enum Out {
    Data(Vec<u8>),
    Done,
}

/// Why stage 3 stopped without a package.
enum WriterStop {
    /// The sink failed: the root cause of the whole failure.
    Sink(io::Error),
    /// Stage 2 stopped before the end; its own error says why.
    Abandoned,
}

/// The written package, from stage 3.
pub(crate) struct Written<W> {
    pub sink: W,
    pub sha256: Digest,
    pub bytes: u64,
}

pub(crate) struct Pipeline<W> {
    /// Stage 1's buffers, returned by stage 2.
    pub(crate) pool: Pool,
    steps: mpsc::Sender<Step>,
    worker: JoinHandle<io::Result<()>>,
    writer: JoinHandle<Result<Written<W>, WriterStop>>,
}

impl<W: AsyncWrite + Unpin + Send + 'static> Pipeline<W> {
    /// Starts stages 2 and 3 on the current Tokio runtime. `chunk` is the size of the buffers
    /// passed between stages and `depth` how many may wait in each channel.
    pub(crate) fn start(
        protection: &Protection,
        sink: W,
        created_at: DateTime<Utc>,
        chunk: usize,
        depth: usize,
    ) -> Result<Pipeline<W>, PackageError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| PackageError::NoRuntime)?;
        let (steps, step_rx) = mpsc::channel(depth.max(1));
        let (out_tx, out_rx) = mpsc::channel(depth.max(1));
        let protection = protection.clone();
        let pool = Pool::new(chunk, depth);
        let out_pool = Pool::new(chunk, depth);
        let (in_pool, writer_pool) = (pool.clone(), out_pool.clone());
        let worker = runtime.spawn_blocking(move || {
            let output = OutputWriter {
                tx: out_tx.clone(),
                buf: out_pool.take(),
                pool: out_pool,
                chunk,
            };
            let mtime = u64::try_from(created_at.timestamp()).unwrap_or(0);
            let container: Box<dyn Container> = match &protection {
                Protection::Age(recipient) => Box::new(TarAge::new(recipient, output, mtime)?),
                Protection::ZipAes(passphrase) => {
                    Box::new(ZipAes::new(passphrase, output, created_at))
                }
            };
            run_worker(container, step_rx, &in_pool)?;
            out_tx.blocking_send(Out::Done).map_err(|_| output_closed())
        });
        let writer = runtime.spawn(write_out(sink, out_rx, writer_pool));
        Ok(Pipeline {
            pool,
            steps,
            worker,
            writer,
        })
    }

    /// Hands a step to stage 2; Err means the pipeline has stopped, and
    /// [`Pipeline::failure`] says why.
    pub(crate) async fn send(&self, step: Step) -> Result<(), ()> {
        self.steps.send(step).await.map_err(|_| ())
    }

    /// Completes the package: the archive and encryption are closed and the sink shut down.
    pub(crate) async fn finish(self) -> Result<Written<W>, PackageError> {
        if self.steps.send(Step::Finish).await.is_err() {
            return Err(self.failure().await);
        }
        let Pipeline {
            steps,
            worker,
            writer,
            ..
        } = self;
        drop(steps);
        let worker_result = worker.await;
        let writer_result = writer.await;
        match (worker_result, writer_result) {
            (Ok(Ok(())), Ok(Ok(written))) => Ok(written),
            (worker_result, writer_result) => Err(root_cause(worker_result, writer_result)),
        }
    }

    /// Stops the pipeline without completing the package and says why it had stopped.
    pub(crate) async fn failure(self) -> PackageError {
        let Pipeline {
            steps,
            worker,
            writer,
            ..
        } = self;
        drop(steps);
        root_cause(worker.await, writer.await)
    }
}

/// The sink's error if it had one, since stage 2 then failed only because its output closed;
/// otherwise stage 2's own error.
fn root_cause<W>(
    worker: Result<io::Result<()>, tokio::task::JoinError>,
    writer: Result<Result<Written<W>, WriterStop>, tokio::task::JoinError>,
) -> PackageError {
    match (worker, writer) {
        (_, Ok(Err(WriterStop::Sink(e)))) => PackageError::Write(e),
        (Ok(Err(e)), _) => PackageError::Archive(e.to_string()),
        (Err(e), _) | (_, Err(e)) => PackageError::Archive(format!("internal error: {e}")),
        _ => PackageError::Archive("the package was stopped before it was complete".into()),
    }
}

fn output_closed() -> io::Error {
    io::Error::other("the package's output stopped")
}

fn run_worker(
    mut container: Box<dyn Container>,
    mut steps: mpsc::Receiver<Step>,
    pool: &Pool,
) -> io::Result<()> {
    while let Some(step) = steps.blocking_recv() {
        match step {
            Step::Begin { path, size } => container.begin(&path, size)?,
            Step::Data(bytes) => {
                container.data(&bytes)?;
                pool.give(bytes);
            }
            Step::End => container.end()?,
            Step::Finish => return container.finish(),
        }
    }
    Err(io::Error::other(
        "the package was abandoned before it was complete",
    ))
}

async fn write_out<W: AsyncWrite + Unpin>(
    mut sink: W,
    mut rx: mpsc::Receiver<Out>,
    pool: Pool,
) -> Result<Written<W>, WriterStop> {
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    while let Some(out) = rx.recv().await {
        match out {
            Out::Data(buf) => {
                hasher.update(&buf);
                sink.write_all(&buf).await.map_err(WriterStop::Sink)?;
                bytes += buf.len() as u64;
                pool.give(buf);
            }
            Out::Done => {
                sink.shutdown().await.map_err(WriterStop::Sink)?;
                return Ok(Written {
                    sink,
                    sha256: hasher.finalize().into(),
                    bytes,
                });
            }
        }
    }
    Err(WriterStop::Abandoned)
}

/// Stage 2's output: gathers the encrypted bytes into buffers of `chunk` bytes for stage 3.
struct OutputWriter {
    tx: mpsc::Sender<Out>,
    buf: Vec<u8>,
    pool: Pool,
    chunk: usize,
}

impl OutputWriter {
    fn send_buffer(&mut self) -> io::Result<()> {
        let full = std::mem::replace(&mut self.buf, self.pool.take());
        self.tx
            .blocking_send(Out::Data(full))
            .map_err(|_| output_closed())
    }
}

impl Write for OutputWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = self.chunk - self.buf.len();
        let n = data.len().min(room);
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() >= self.chunk {
            self.send_buffer()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.send_buffer()?;
        }
        Ok(())
    }
}

//! Three stages joined by bounded channels, so that reading, encryption and writing overlap on
//! different cores while memory stays at a few buffers:
//!
//! 1. the caller's task reads each record into buffers and hashes it (SHA-256)
//!    ([`crate::PackageBuilder`]);
//! 2. a blocking thread frames the archive, encrypts it ([`crate::container`]) and hashes the
//!    encrypted output (the package's SHA-256) while it is still in the cache;
//! 3. a task writes the output to the sink.
//!
//! Buffers travel between the stages and come back through one [`Pool`], so that a long
//! production neither allocates nor copies more than it must: a ZIP record's buffer is read
//! into, hashed, encrypted in place and written, the same buffer throughout.
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
/// zero) a fresh buffer for every chunk. Every buffer has the capacity of one chunk.
#[derive(Clone)]
pub(crate) struct Pool {
    free: Arc<Mutex<Vec<Vec<u8>>>>,
    chunk: usize,
    keep: usize,
}

impl Pool {
    /// A pool of buffers of `chunk` bytes that keeps at most `keep` of them.
    pub(crate) fn new(chunk: usize, keep: usize) -> Pool {
        Pool {
            free: Arc::new(Mutex::new(Vec::new())),
            chunk,
            keep,
        }
    }

    /// An empty buffer with room for a chunk.
    pub(crate) fn take(&self) -> Vec<u8> {
        let reused = self.free.lock().ok().and_then(|mut f| f.pop());
        reused.unwrap_or_else(|| Vec::with_capacity(self.chunk))
    }

    pub(crate) fn give(&self, mut buf: Vec<u8>) {
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
pub(crate) enum Out {
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
    /// Stage 1's buffers, returned by whichever stage is last to hold them.
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
        let depth = depth.max(1);
        let (steps, step_rx) = mpsc::channel(depth);
        let (out_tx, out_rx) = mpsc::channel(depth);
        let protection = protection.clone();
        // Enough for every buffer that can be in flight at once: waiting in the two channels,
        // two in stage 1's hands (one sent, one read ahead), two in stage 2's (a record's
        // and the output's), one in stage 3's.
        let pool = Pool::new(chunk, 2 * depth + 5);
        let output = Output::new(out_tx, pool.clone());
        let worker = runtime.spawn_blocking(move || {
            let mtime = u64::try_from(created_at.timestamp()).unwrap_or(0);
            let container: Box<dyn Container> = match &protection {
                Protection::Age(recipient) => Box::new(TarAge::new(recipient, output, mtime)?),
                Protection::ZipAes(passphrase) => {
                    Box::new(ZipAes::new(passphrase, output, created_at))
                }
            };
            run_worker(container, step_rx)?.close()
        });
        let writer = runtime.spawn(write_out(sink, out_rx, pool.clone()));
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
) -> io::Result<Output> {
    while let Some(step) = steps.blocking_recv() {
        match step {
            Step::Begin { path, size } => container.begin(&path, size)?,
            Step::Data(bytes) => container.data(bytes)?,
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
                bytes += buf.len() as u64;
                sink.write_all(&buf).await.map_err(WriterStop::Sink)?;
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

/// Records below this size are copied into the output's current buffer rather than sent on
/// their own, so that the sink sees few small writes.
const SMALL_SHARE: usize = 4;

/// Stage 2's output: hashes the package's bytes as they are made, gathers small pieces into
/// buffers of a chunk and passes them, and large encrypted buffers as they are, to stage 3.
pub(crate) struct Output {
    tx: mpsc::Sender<Out>,
    pool: Pool,
    pending: Vec<u8>,
    bytes: u64,
}

impl Output {
    pub(crate) fn new(tx: mpsc::Sender<Out>, pool: Pool) -> Output {
        Output {
            pending: pool.take(),
            tx,
            pool,
            bytes: 0,
        }
    }

    pub(crate) fn pool(&self) -> Pool {
        self.pool.clone()
    }

    /// Bytes of the package so far.
    pub(crate) fn position(&self) -> u64 {
        self.bytes
    }

    /// Appends a copy of `data`. A piece that fits in a buffer is not split between two, so
    /// that age's encrypted chunks (64 KiB and a 16-byte tag, one call each) reach the sink
    /// whole: 15 to a write of 983,280 bytes. Besides, Linux pays far more to fill the page
    /// cache from writes of exactly 1 MiB at 1 MiB boundaries (it allocates 1 MiB folios) than
    /// from writes of other sizes: 3-10 times the system time on the benchmark's machine.
    pub(crate) fn put(&mut self, mut data: &[u8]) -> io::Result<()> {
        self.bytes += data.len() as u64;
        if self.pending.len() + data.len() > self.pool.chunk && !self.pending.is_empty() {
            self.send_pending()?;
        }
        while !data.is_empty() {
            let room = self.pool.chunk - self.pending.len();
            let n = data.len().min(room);
            self.pending.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.pending.len() == self.pool.chunk {
                self.send_pending()?;
            }
        }
        Ok(())
    }

    /// Appends a buffer of the pool, passing it on without a copy unless it is small.
    pub(crate) fn put_owned(&mut self, buf: Vec<u8>) -> io::Result<()> {
        if buf.len() < self.pool.chunk / SMALL_SHARE {
            self.put(&buf)?;
            self.pool.give(buf);
            return Ok(());
        }
        self.bytes += buf.len() as u64;
        if !self.pending.is_empty() {
            self.send_pending()?;
        }
        self.send(buf)
    }

    /// Passes on what is left and the package's digest and size.
    pub(crate) fn close(mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            self.send_pending()?;
        }
        self.tx
            .blocking_send(Out::Done)
            .map_err(|_| output_closed())
    }

    fn send_pending(&mut self) -> io::Result<()> {
        let full = std::mem::replace(&mut self.pending, self.pool.take());
        self.send(full)
    }

    fn send(&mut self, buf: Vec<u8>) -> io::Result<()> {
        self.tx
            .blocking_send(Out::Data(buf))
            .map_err(|_| output_closed())
    }
}

/// The age writer's output.
impl Write for Output {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.put(data)?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(rx: &mut mpsc::Receiver<Out>) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Ok(msg) = rx.try_recv() {
            match msg {
                Out::Data(buf) => out.push(buf),
                Out::Done => out.push(b"<done>".to_vec()),
            }
        }
        out
    }

    #[test]
    fn pieces_that_fit_are_not_split_and_small_buffers_are_gathered() {
        let pool = Pool::new(100, 8);
        let (tx, mut rx) = mpsc::channel(64);
        let mut out = Output::new(tx, pool.clone());
        out.put(&[1; 60]).unwrap();
        out.put(&[2; 60]).unwrap(); // would straddle two buffers: the 60 before go alone
        out.put(&[3; 250]).unwrap(); // larger than a buffer: the 60 before go, then it is split
        let mut small = pool.take();
        small.extend_from_slice(&[4; 10]);
        out.put_owned(small).unwrap(); // a quarter of a buffer or less: copied
        let mut large = pool.take();
        large.extend_from_slice(&[5; 90]);
        out.put_owned(large).unwrap(); // passed on as it is
        assert_eq!(out.position(), 60 + 60 + 250 + 10 + 90);
        out.close().unwrap();
        let sizes: Vec<(usize, u8)> = sent(&mut rx)
            .iter()
            .map(|b| (b.len(), b.first().copied().unwrap_or(0)))
            .collect();
        assert_eq!(
            sizes,
            vec![
                (60, 1),
                (60, 2),
                (100, 3),
                (100, 3),
                (50 + 10, 3), // the rest of 3, then the small buffer's 4s
                (90, 5),
                (6, b'<'),
            ]
        );
    }

    #[test]
    fn a_closed_output_says_so() {
        let pool = Pool::new(100, 8);
        let (tx, rx) = mpsc::channel(1);
        drop(rx);
        let mut out = Output::new(tx, pool);
        out.put(&[0; 99]).unwrap();
        assert!(out.put(&[0; 99]).is_err());
    }
}

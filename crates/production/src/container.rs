//! The archive and its encryption, one per protection: a tar stream inside an age file, or a
//! ZIP with WinZip AES entries. Both write strictly forwards, so the output can go to a pipe,
//! a socket or a multipart upload.
//!
//! Tar is the natural container for a stream (each header states its size, then the bytes
//! follow) and `age -d | tar x` opens it anywhere. ZIP is what the AES option has to be,
//! since WinZip AES is a ZIP feature that 7-Zip, WinZip and bsdtar open; its framing is in
//! [`crate::zip_format`] and its encryption in [`crate::winzip_aes`].

use std::io::{self, Write};

use crate::pipeline::{Output, Pool};
use crate::protect::{AgeRecipient, Passphrase};
use crate::tar_format;
use crate::winzip_aes::{EntryCipher, EntryKeys};
use crate::zip_format::ZipFraming;

/// One archive being written: entries one after the other, each begun with its exact size.
pub(crate) trait Container: Send {
    /// Starts the entry at `path` of `size` bytes.
    fn begin(&mut self, path: &str, size: u64) -> io::Result<()>;
    /// Some of the current entry's bytes, in a buffer of the pipeline's pool.
    fn data(&mut self, bytes: Vec<u8>) -> io::Result<()>;
    /// Ends the current entry; its bytes must have added up to its size.
    fn end(&mut self) -> io::Result<()>;
    /// Ends the archive and the encryption, and gives the output back to be closed.
    fn finish(self: Box<Self>) -> io::Result<Output>;
}

/// The size and progress of the entry being written.
struct Current {
    path: String,
    size: u64,
    written: u64,
}

impl Current {
    fn new(path: &str, size: u64) -> Current {
        Current {
            path: path.to_string(),
            size,
            written: 0,
        }
    }

    fn add(&mut self, n: usize) -> io::Result<()> {
        self.written += n as u64;
        if self.written > self.size {
            return Err(io::Error::other(format!(
                "entry '{}' got more than its {} bytes",
                self.path, self.size
            )));
        }
        Ok(())
    }

    fn check_complete(&self) -> io::Result<()> {
        if self.written != self.size {
            return Err(io::Error::other(format!(
                "entry '{}' got {} of its {} bytes",
                self.path, self.written, self.size
            )));
        }
        Ok(())
    }
}

fn no_entry() -> io::Error {
    io::Error::other("data outside an entry")
}

fn entry_open() -> io::Error {
    io::Error::other("an entry began before the one before it ended")
}

/// A tar stream encrypted with age. The age crate's writer encrypts in 64 KiB chunks
/// (ChaCha20-Poly1305) and hands each to the output, which gathers them into large buffers.
pub(crate) struct TarAge {
    out: age::stream::StreamWriter<Output>,
    pool: Pool,
    mtime: u64,
    current: Option<Current>,
}

impl TarAge {
    pub(crate) fn new(recipient: &AgeRecipient, output: Output, mtime: u64) -> io::Result<Self> {
        let pool = output.pool();
        let encryptor =
            age::Encryptor::with_recipients(std::iter::once(&recipient.0 as &dyn age::Recipient))
                .map_err(|e| io::Error::other(format!("age: {e}")))?;
        Ok(TarAge {
            out: encryptor.wrap_output(output)?,
            pool,
            mtime,
            current: None,
        })
    }
}

impl Container for TarAge {
    fn begin(&mut self, path: &str, size: u64) -> io::Result<()> {
        if self.current.is_some() {
            return Err(entry_open());
        }
        self.out
            .write_all(&tar_format::header(path, size, self.mtime))?;
        self.current = Some(Current::new(path, size));
        Ok(())
    }

    fn data(&mut self, bytes: Vec<u8>) -> io::Result<()> {
        self.current
            .as_mut()
            .ok_or_else(no_entry)?
            .add(bytes.len())?;
        self.out.write_all(&bytes)?;
        self.pool.give(bytes);
        Ok(())
    }

    fn end(&mut self) -> io::Result<()> {
        let current = self.current.take().ok_or_else(no_entry)?;
        current.check_complete()?;
        let pad = tar_format::padding(current.size);
        self.out.write_all(&tar_format::END[..pad])
    }

    fn finish(self: Box<Self>) -> io::Result<Output> {
        let mut this = *self;
        this.out.write_all(&tar_format::END)?;
        this.out.finish()
    }
}

/// A ZIP of stored entries encrypted with WinZip AES-256 (AE-2). Each buffer of a record is
/// encrypted where it lies and passed on as it is.
pub(crate) struct ZipAes {
    out: Output,
    framing: ZipFraming,
    passphrase: Passphrase,
    current: Option<(Current, EntryCipher)>,
}

impl ZipAes {
    pub(crate) fn new(
        passphrase: &Passphrase,
        output: Output,
        created_at: chrono::DateTime<chrono::Utc>,
    ) -> ZipAes {
        ZipAes::with_framing(passphrase, output, ZipFraming::new(created_at))
    }

    pub(crate) fn with_framing(
        passphrase: &Passphrase,
        output: Output,
        framing: ZipFraming,
    ) -> ZipAes {
        ZipAes {
            out: output,
            framing,
            passphrase: passphrase.clone(),
            current: None,
        }
    }
}

impl Container for ZipAes {
    fn begin(&mut self, path: &str, size: u64) -> io::Result<()> {
        if self.current.is_some() {
            return Err(entry_open());
        }
        let keys = EntryKeys::derive(self.passphrase.expose().as_bytes())?;
        let header = self.framing.local_header(path, size, self.out.position());
        self.out.put(&header)?;
        self.out.put(&keys.preamble)?;
        self.current = Some((Current::new(path, size), EntryCipher::new(&keys)?));
        Ok(())
    }

    fn data(&mut self, mut bytes: Vec<u8>) -> io::Result<()> {
        let (current, cipher) = self.current.as_mut().ok_or_else(no_entry)?;
        current.add(bytes.len())?;
        cipher.encrypt(&mut bytes);
        self.out.put_owned(bytes)
    }

    fn end(&mut self) -> io::Result<()> {
        let (current, cipher) = self.current.take().ok_or_else(no_entry)?;
        current.check_complete()?;
        self.out.put(&cipher.finish())?;
        let descriptor = self.framing.data_descriptor();
        self.out.put(&descriptor)
    }

    fn finish(mut self: Box<Self>) -> io::Result<Output> {
        if self.current.is_some() {
            return Err(io::Error::other("the archive ended inside an entry"));
        }
        let directory = self.framing.central_directory(self.out.position());
        self.out.put(&directory)?;
        Ok(self.out)
    }
}

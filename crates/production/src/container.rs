//! The archive and its encryption, as one synchronous writer per protection: a tar stream
//! inside an age file, or a ZIP with WinZip AES entries. Both write strictly forwards, so the
//! output can go to a pipe, a socket or a multipart upload.
//!
//! Tar is the natural container for a stream (each header states its size, then the bytes
//! follow) and `age -d | tar x` opens it anywhere. ZIP is what the AES option has to be,
//! since WinZip AES is a ZIP feature that 7-Zip, WinZip and bsdtar open. The `zip` crate's
//! streaming writer never seeks: each entry's local header leaves sizes at zero and sets
//! general-purpose flag bit 3, and a data descriptor (ZIP64 for entries of 4 GiB or more)
//! follows the data; with AE-2 no CRC is stored, so nothing needs to be known in advance.

use std::io::{self, Write};

use zip::write::{SimpleFileOptions, StreamWriter};
use zip::{AesMode, CompressionMethod, ZipWriter};

use crate::protect::{AgeRecipient, Passphrase};
use crate::tar_format;

/// One archive being written: entries one after the other, each begun with its exact size.
pub(crate) trait Container: Send {
    /// Starts the entry at `path` of `size` bytes.
    fn begin(&mut self, path: &str, size: u64) -> io::Result<()>;
    /// Some of the current entry's bytes.
    fn data(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Ends the current entry; its bytes must have added up to its size.
    fn end(&mut self) -> io::Result<()>;
    /// Ends the archive and the encryption and flushes everything to the output.
    fn finish(self: Box<Self>) -> io::Result<()>;
}

/// The size and progress of the entry being written.
struct Current {
    path: String,
    size: u64,
    written: u64,
}

impl Current {
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

/// A tar stream encrypted with age.
pub(crate) struct TarAge<W: Write> {
    out: age::stream::StreamWriter<W>,
    mtime: u64,
    current: Option<Current>,
}

impl<W: Write> TarAge<W> {
    pub(crate) fn new(recipient: &AgeRecipient, output: W, mtime: u64) -> io::Result<Self> {
        let encryptor =
            age::Encryptor::with_recipients(std::iter::once(&recipient.0 as &dyn age::Recipient))
                .map_err(|e| io::Error::other(format!("age: {e}")))?;
        Ok(TarAge {
            out: encryptor.wrap_output(output)?,
            mtime,
            current: None,
        })
    }
}

impl<W: Write + Send> Container for TarAge<W> {
    fn begin(&mut self, path: &str, size: u64) -> io::Result<()> {
        self.out
            .write_all(&tar_format::header(path, size, self.mtime))?;
        self.current = Some(Current {
            path: path.to_string(),
            size,
            written: 0,
        });
        Ok(())
    }

    fn data(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.current
            .as_mut()
            .ok_or_else(no_entry)?
            .add(bytes.len())?;
        self.out.write_all(bytes)
    }

    fn end(&mut self) -> io::Result<()> {
        let current = self.current.take().ok_or_else(no_entry)?;
        current.check_complete()?;
        let pad = tar_format::padding(current.size);
        self.out.write_all(&tar_format::END[..pad])
    }

    fn finish(mut self: Box<Self>) -> io::Result<()> {
        self.out.write_all(&tar_format::END)?;
        self.out.finish()?.flush()
    }
}

/// A ZIP of stored entries encrypted with WinZip AES-256 (AE-2).
pub(crate) struct ZipAes<W: Write> {
    zip: ZipWriter<StreamWriter<W>>,
    passphrase: Passphrase,
    mtime: zip::DateTime,
    current: Option<Current>,
}

/// From this size on an entry needs ZIP64 sizes.
const ZIP64_FROM: u64 = 0xFFFF_FFFF;

impl<W: Write> ZipAes<W> {
    pub(crate) fn new(
        passphrase: &Passphrase,
        output: W,
        created_at: chrono::DateTime<chrono::Utc>,
    ) -> ZipAes<W> {
        use chrono::{Datelike, Timelike};
        // ZIP times have no zone and start in 1980; packages are made after that, in UTC.
        let mtime = zip::DateTime::from_date_and_time(
            created_at.year().clamp(1980, 2107) as u16,
            created_at.month() as u8,
            created_at.day() as u8,
            created_at.hour() as u8,
            created_at.minute() as u8,
            created_at.second().min(59) as u8,
        )
        .unwrap_or_default();
        ZipAes {
            zip: ZipWriter::new_stream(output),
            passphrase: passphrase.clone(),
            mtime,
            current: None,
        }
    }
}

fn zip_err(e: zip::result::ZipError) -> io::Error {
    match e {
        zip::result::ZipError::Io(e) => e,
        other => io::Error::other(format!("zip: {other}")),
    }
}

impl<W: Write + Send> Container for ZipAes<W> {
    fn begin(&mut self, path: &str, size: u64) -> io::Result<()> {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .last_modified_time(self.mtime)
            .unix_permissions(0o644)
            .large_file(size >= ZIP64_FROM)
            .with_aes_encryption(AesMode::Aes256, self.passphrase.expose());
        self.zip.start_file(path, options).map_err(zip_err)?;
        self.current = Some(Current {
            path: path.to_string(),
            size,
            written: 0,
        });
        Ok(())
    }

    fn data(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.current
            .as_mut()
            .ok_or_else(no_entry)?
            .add(bytes.len())?;
        self.zip.write_all(bytes)
    }

    fn end(&mut self) -> io::Result<()> {
        // The zip writer closes an entry when the next one starts or the archive ends.
        self.current.take().ok_or_else(no_entry)?.check_complete()
    }

    fn finish(self: Box<Self>) -> io::Result<()> {
        self.zip.finish().map_err(zip_err)?.into_inner().flush()
    }
}

//! The ZIP framing of a passphrase package (APPNOTE 6.3.10): every entry stored (method 99
//! with the WinZip AES extra field saying "stored" inside), encrypted by [`crate::winzip_aes`],
//! written strictly forwards. A local header leaves the sizes at zero and sets general-purpose
//! flag bit 3, so nothing but the name is needed before the data; a data descriptor follows
//! the data, and the central directory at the end holds every entry's sizes and offset.
//! ZIP64 fields are used where a size or an offset does not fit in 32 bits (an entry of 4 GiB,
//! a package past 4 GiB, 65535 entries or more).
//!
//! The central directory is kept in memory until the end: one [`CentralEntry`] per record.

use crate::winzip_aes::OVERHEAD;

const LOCAL_HEADER: u32 = 0x0403_4b50;
const DATA_DESCRIPTOR: u32 = 0x0807_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const ZIP64_END: u32 = 0x0606_4b50;
const ZIP64_LOCATOR: u32 = 0x0706_4b50;
const END: u32 = 0x0605_4b50;

/// Method 99: WinZip AES (the real method is in the AES extra field).
const METHOD_AES: u16 = 99;
/// 5.1: AES encryption (which is later than ZIP64's 4.5).
const VERSION: u16 = 51;
/// Made by Unix (so that the permissions are read), version 5.1.
const MADE_BY: u16 = (3 << 8) | VERSION;
/// Encrypted, sizes in a data descriptor.
const FLAGS: u16 = 0x0001 | 0x0008;
/// The name is UTF-8.
const FLAG_UTF8: u16 = 0x0800;
/// A regular file, rw-r--r--, in the upper half of the external attributes.
const UNIX_FILE_644: u32 = 0o100_644 << 16;
/// The WinZip AES extra field: AE-2, vendor "AE", AES-256, actual method 0 (stored).
const AES_EXTRA: [u8; 11] = [0x01, 0x99, 7, 0, 2, 0, b'A', b'E', 3, 0, 0];
/// A 32-bit field that says "see the ZIP64 extra field".
const MAX32: u64 = 0xFFFF_FFFF;
const MAX16: u64 = 0xFFFF;

/// What the central directory needs about an entry.
struct CentralEntry {
    name: String,
    /// Of the local header.
    offset: u64,
    /// Plaintext bytes.
    size: u64,
}

/// The framing of one streaming ZIP: hands out the bytes around each entry's encrypted data.
pub(crate) struct ZipFraming {
    time: u16,
    date: u16,
    entries: Vec<CentralEntry>,
    /// Sizes and offsets from this value on are written as ZIP64 (tests lower it).
    zip64_from: u64,
}

impl ZipFraming {
    pub(crate) fn new(created_at: chrono::DateTime<chrono::Utc>) -> ZipFraming {
        let (time, date) = dos_time(created_at);
        ZipFraming {
            time,
            date,
            entries: Vec::new(),
            zip64_from: MAX32,
        }
    }

    /// Writes every size and offset as ZIP64, to exercise those fields on small archives.
    #[cfg(test)]
    pub(crate) fn always_zip64(mut self) -> ZipFraming {
        self.zip64_from = 0;
        self
    }

    /// An entry is ZIP64 when its stored size (data plus encryption overhead) does not fit.
    fn entry_is_zip64(&self, size: u64) -> bool {
        size.saturating_add(OVERHEAD) >= self.zip64_from
    }

    /// The local header of an entry of `size` plaintext bytes that starts at `offset`.
    pub(crate) fn local_header(&mut self, name: &str, size: u64, offset: u64) -> Vec<u8> {
        let zip64 = self.entry_is_zip64(size);
        let extra_len = AES_EXTRA.len() + if zip64 { 20 } else { 0 };
        let mut h = Vec::with_capacity(30 + name.len() + extra_len);
        put32(&mut h, LOCAL_HEADER);
        put16(&mut h, VERSION);
        put16(&mut h, flags(name));
        put16(&mut h, METHOD_AES);
        put16(&mut h, self.time);
        put16(&mut h, self.date);
        put32(&mut h, 0); // no CRC with AE-2
                          // Sizes follow in the data descriptor; a ZIP64 entry says so with 0xFFFFFFFF and an
                          // extra field whose sizes are zero as well.
        let unknown = if zip64 { MAX32 as u32 } else { 0 };
        put32(&mut h, unknown);
        put32(&mut h, unknown);
        put16(&mut h, name.len() as u16);
        put16(&mut h, extra_len as u16);
        h.extend_from_slice(name.as_bytes());
        if zip64 {
            put16(&mut h, 0x0001);
            put16(&mut h, 16);
            put64(&mut h, 0);
            put64(&mut h, 0);
        }
        h.extend_from_slice(&AES_EXTRA);
        self.entries.push(CentralEntry {
            name: name.to_string(),
            offset,
            size,
        });
        h
    }

    /// The data descriptor after the last entry's data and authentication code.
    pub(crate) fn data_descriptor(&self) -> Vec<u8> {
        let size = self.entries.last().map_or(0, |e| e.size);
        let stored = size + OVERHEAD;
        let mut d = Vec::with_capacity(24);
        put32(&mut d, DATA_DESCRIPTOR);
        put32(&mut d, 0);
        if self.entry_is_zip64(size) {
            put64(&mut d, stored);
            put64(&mut d, size);
        } else {
            put32(&mut d, stored as u32);
            put32(&mut d, size as u32);
        }
        d
    }

    /// The central directory and the end records, for a directory that starts at `offset`.
    pub(crate) fn central_directory(&self, offset: u64) -> Vec<u8> {
        let mut cd = Vec::with_capacity(self.entries.len() * 100 + 100);
        for e in &self.entries {
            let stored = e.size + OVERHEAD;
            let big_sizes = self.entry_is_zip64(e.size);
            let big_offset = e.offset >= self.zip64_from;
            let mut zip64 = Vec::new();
            if big_sizes {
                put64(&mut zip64, e.size);
                put64(&mut zip64, stored);
            }
            if big_offset {
                put64(&mut zip64, e.offset);
            }
            let zip64_len = if zip64.is_empty() { 0 } else { 4 + zip64.len() };
            put32(&mut cd, CENTRAL_HEADER);
            put16(&mut cd, MADE_BY);
            put16(&mut cd, VERSION);
            put16(&mut cd, flags(&e.name));
            put16(&mut cd, METHOD_AES);
            put16(&mut cd, self.time);
            put16(&mut cd, self.date);
            put32(&mut cd, 0);
            put32(&mut cd, if big_sizes { MAX32 } else { stored } as u32);
            put32(&mut cd, if big_sizes { MAX32 } else { e.size } as u32);
            put16(&mut cd, e.name.len() as u16);
            put16(&mut cd, (zip64_len + AES_EXTRA.len()) as u16);
            put16(&mut cd, 0); // comment
            put16(&mut cd, 0); // disk
            put16(&mut cd, 0); // internal attributes
            put32(&mut cd, UNIX_FILE_644);
            put32(&mut cd, if big_offset { MAX32 } else { e.offset } as u32);
            cd.extend_from_slice(e.name.as_bytes());
            if !zip64.is_empty() {
                put16(&mut cd, 0x0001);
                put16(&mut cd, zip64.len() as u16);
                cd.extend_from_slice(&zip64);
            }
            cd.extend_from_slice(&AES_EXTRA);
        }
        let count = self.entries.len() as u64;
        let size = cd.len() as u64;
        let zip64_end = count >= MAX16 || size >= self.zip64_from || offset >= self.zip64_from;
        if zip64_end {
            let at = offset + size;
            put32(&mut cd, ZIP64_END);
            put64(&mut cd, 44); // the record's size after this field
            put16(&mut cd, MADE_BY);
            put16(&mut cd, VERSION);
            put32(&mut cd, 0); // this disk
            put32(&mut cd, 0); // the directory's disk
            put64(&mut cd, count);
            put64(&mut cd, count);
            put64(&mut cd, size);
            put64(&mut cd, offset);
            put32(&mut cd, ZIP64_LOCATOR);
            put32(&mut cd, 0);
            put64(&mut cd, at);
            put32(&mut cd, 1); // disks
        }
        put32(&mut cd, END);
        put16(&mut cd, 0);
        put16(&mut cd, 0);
        // Values that do not fit say "see the ZIP64 record" by being all ones.
        put16(&mut cd, count.min(MAX16) as u16);
        put16(&mut cd, count.min(MAX16) as u16);
        put32(&mut cd, size.min(MAX32) as u32);
        put32(&mut cd, offset.min(MAX32) as u32);
        put16(&mut cd, 0); // comment
        cd
    }
}

fn flags(name: &str) -> u16 {
    if name.is_ascii() {
        FLAGS
    } else {
        FLAGS | FLAG_UTF8
    }
}

/// MS-DOS time and date (two-second resolution, no zone, from 1980; packages are made after
/// that, in UTC).
fn dos_time(t: chrono::DateTime<chrono::Utc>) -> (u16, u16) {
    use chrono::{Datelike, Timelike};
    let year = t.year().clamp(1980, 2107) as u16;
    let time = ((t.hour() as u16) << 11) | ((t.minute() as u16) << 5) | (t.second() as u16 / 2);
    let date = ((year - 1980) << 9) | ((t.month() as u16) << 5) | t.day() as u16;
    (time, date)
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::process::Command;

    use tokio::sync::mpsc;

    use super::*;
    use crate::container::{Container, ZipAes};
    use crate::pipeline::{Out, Output, Pool};
    use crate::Passphrase;

    fn entries() -> Vec<(String, Vec<u8>)> {
        let data = |len: usize, seed: u8| -> Vec<u8> {
            (0..len)
                .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
                .collect()
        };
        vec![
            ("records/content/a.bin".into(), data(10_000, 1)),
            ("records/content/empty.txt".into(), Vec::new()),
            ("records/content/Übersicht ünïcödé.pdf".into(), data(77, 2)),
            ("records/content/tiny".into(), b"x".to_vec()),
            (
                format!("records/content/{}/long", "d".repeat(200)),
                data(4097, 3),
            ),
            ("MANIFEST.sha256".into(), data(3000, 4)),
        ]
    }

    /// A ZIP made by the container through a pipeline output with small buffers, as bytes;
    /// checks the digest and size the output reports.
    fn build(framing: ZipFraming, passphrase: &Passphrase) -> Vec<u8> {
        let pool = Pool::new(4096, 16);
        let (tx, mut rx) = mpsc::channel(10_000);
        let mut zip: Box<dyn Container> = Box::new(ZipAes::with_framing(
            passphrase,
            Output::new(tx, pool.clone()),
            framing,
        ));
        for (path, data) in entries() {
            zip.begin(&path, data.len() as u64).unwrap();
            for piece in data.chunks(1500) {
                let mut buf = pool.take();
                buf.extend_from_slice(piece);
                zip.data(buf).unwrap();
            }
            zip.end().unwrap();
        }
        zip.finish().unwrap().close().unwrap();
        let mut bytes = Vec::new();
        while let Ok(out) = rx.try_recv() {
            match out {
                Out::Data(buf) => bytes.extend_from_slice(&buf),
                Out::Done => return bytes,
            }
        }
        panic!("the output was not closed");
    }

    fn read_back(bytes: &[u8], passphrase: &Passphrase) {
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let expected = entries();
        assert_eq!(archive.len(), expected.len());
        for (i, (path, data)) in expected.iter().enumerate() {
            let mut entry = archive
                .by_index_decrypt(i, passphrase.expose().as_bytes())
                .unwrap();
            assert_eq!(entry.name(), path);
            assert!(entry.encrypted());
            assert_eq!(entry.compression(), zip::CompressionMethod::Stored);
            assert_eq!(entry.size(), data.len() as u64);
            assert_eq!(entry.compressed_size(), data.len() as u64 + OVERHEAD);
            assert_eq!(entry.unix_mode(), Some(0o100_644));
            let mut read = Vec::new();
            entry.read_to_end(&mut read).unwrap();
            assert_eq!(&read, data, "{path}");
        }
        assert!(matches!(
            archive.by_index_decrypt(0, b"WRONG"),
            Err(zip::result::ZipError::InvalidPassword)
        ));
    }

    /// 7-Zip, if installed (required when CUSTODIAN_REQUIRE_7ZIP is set), extracts the same.
    fn seven_zip_extracts(bytes: &[u8], passphrase: &Passphrase) {
        let found = ["7zz", "7z", "7za"].into_iter().find(|name| {
            Command::new("sh")
                .args(["-c", &format!("command -v {name}")])
                .output()
                .is_ok_and(|o| o.status.success())
        });
        let Some(seven) = found else {
            if std::env::var_os("CUSTODIAN_REQUIRE_7ZIP").is_some_and(|v| !v.is_empty() && v != "0")
            {
                panic!("CUSTODIAN_REQUIRE_7ZIP is set but 7-Zip is not installed");
            }
            eprintln!("SKIPPED 7-Zip check of the ZIP framing: 7-Zip is not installed");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let zip_path = dir.path().join("p.zip");
        std::fs::write(&zip_path, bytes).unwrap();
        let out_dir = dir.path().join("x");
        let out = Command::new(seven)
            .arg("x")
            .arg(format!("-p{}", passphrase.expose()))
            .arg(format!("-o{}", out_dir.display()))
            .arg("-y")
            .arg(&zip_path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "7-Zip: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        for (path, data) in entries() {
            assert_eq!(
                &std::fs::read(out_dir.join(&path)).unwrap(),
                &data,
                "{path}"
            );
        }
    }

    fn created_at() -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap()
    }

    #[test]
    fn a_streamed_zip_reads_back_here_and_in_7zip() {
        let passphrase = Passphrase::generate();
        let bytes = build(ZipFraming::new(created_at()), &passphrase);
        assert!(bytes.starts_with(b"PK\x03\x04"));
        read_back(&bytes, &passphrase);
        seven_zip_extracts(&bytes, &passphrase);
    }

    #[test]
    fn zip64_sizes_offsets_and_directory_read_back_here_and_in_7zip() {
        // The fields a package past 4 GiB needs, written for every entry of a small one.
        let passphrase = Passphrase::generate();
        let bytes = build(ZipFraming::new(created_at()).always_zip64(), &passphrase);
        let at = |sig: u32| {
            bytes
                .windows(4)
                .position(|w| w == sig.to_le_bytes())
                .unwrap_or_else(|| panic!("no {sig:#x} record"))
        };
        assert!(at(ZIP64_END) < at(ZIP64_LOCATOR));
        assert!(at(ZIP64_LOCATOR) < at(END));
        read_back(&bytes, &passphrase);
        seven_zip_extracts(&bytes, &passphrase);
    }

    #[test]
    fn times_are_dos_times() {
        // 2026-11-24 10:00:04 UTC.
        let t = chrono::DateTime::from_timestamp(1_795_514_404, 0).unwrap();
        let (time, date) = dos_time(t);
        assert_eq!(time, (10 << 11) | 2);
        assert_eq!(date, (46 << 9) | (11 << 5) | 24);
    }
}

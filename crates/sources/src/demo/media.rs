//! The demo's files in real formats, written straight to disk in bounded pieces: PNG photos
//! (real pixels, stored deflate blocks), WAV voice recordings (PCM), MP4 videos (a valid ISO
//! base media container around a pseudo-random payload) and small text PDFs.

use std::io::{self, Write};

use rand::RngCore;
use rand_chacha::ChaCha8Rng;

/// What a generated file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    Document,
    Photo,
    Voice,
    Video,
}

impl Media {
    pub fn media_type(self) -> &'static str {
        match self {
            Media::Document => "application/pdf",
            Media::Photo => "image/png",
            Media::Voice => "audio/wav",
            Media::Video => "video/mp4",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Media::Document => "pdf",
            Media::Photo => "png",
            Media::Voice => "wav",
            Media::Video => "mp4",
        }
    }
}

const PNG_CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
/// The most a stored deflate block holds.
const STORED_BLOCK: usize = 65_535;

fn png_chunk(w: &mut impl Write, kind: &[u8; 4], data: &[u8]) -> io::Result<()> {
    w.write_all(&(data.len() as u32).to_be_bytes())?;
    w.write_all(kind)?;
    w.write_all(data)?;
    let mut digest = PNG_CRC.digest();
    digest.update(kind);
    digest.update(data);
    w.write_all(&digest.finalize().to_be_bytes())
}

struct Adler32 {
    a: u32,
    b: u32,
}

impl Adler32 {
    fn new() -> Self {
        Adler32 { a: 1, b: 0 }
    }

    fn update(&mut self, data: &[u8]) {
        // 5552 bytes is the most that can be summed before the 32-bit b may overflow.
        for chunk in data.chunks(5552) {
            for &x in chunk {
                self.a += u32::from(x);
                self.b += self.a;
            }
            self.a %= 65_521;
            self.b %= 65_521;
        }
    }

    fn finish(&self) -> u32 {
        (self.b << 16) | self.a
    }
}

/// The width and height of a 4:3 RGB photo of about `bytes` bytes.
pub fn photo_dimensions(bytes: u64) -> (u32, u32) {
    let pixels = (bytes / 3).max(192) as f64;
    let width = ((pixels * 4.0 / 3.0).sqrt() as u32).max(16);
    (width, (width * 3 / 4).max(12))
}

/// A PNG photo: a sky-to-ground gradient with sensor noise, uncompressed (stored blocks), so
/// its size is known in advance and it is written one row batch at a time.
pub fn write_png(
    w: &mut impl Write,
    width: u32,
    height: u32,
    rng: &mut ChaCha8Rng,
) -> io::Result<()> {
    w.write_all(b"\x89PNG\r\n\x1a\n")?;
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8 bits, truecolour, deflate, no filter set, no interlace
    png_chunk(w, b"IHDR", &ihdr)?;

    let row_len = 1 + 3 * width as usize;
    let total = row_len * height as usize;
    let horizon = height / 2 + (rng.next_u32() % (height / 4 + 1));
    let sky = [
        90 + (rng.next_u32() % 60) as i32,
        140,
        200 + (rng.next_u32() % 50) as i32,
    ];
    let ground = [
        70 + (rng.next_u32() % 60) as i32,
        90 + (rng.next_u32() % 50) as i32,
        50,
    ];

    // The zlib stream (header, stored blocks, Adler-32) is cut into IDAT chunks of one block.
    let mut adler = Adler32::new();
    let mut raw = Vec::with_capacity(STORED_BLOCK);
    let mut idat = Vec::with_capacity(STORED_BLOCK + 8);
    idat.extend_from_slice(&[0x78, 0x01]);
    let mut noise = vec![0u8; row_len];
    let mut written = 0usize;
    let mut flush = |raw: &mut Vec<u8>, idat: &mut Vec<u8>, last: bool| -> io::Result<()> {
        idat.push(u8::from(last));
        let n = raw.len() as u16;
        idat.extend_from_slice(&n.to_le_bytes());
        idat.extend_from_slice(&(!n).to_le_bytes());
        idat.extend_from_slice(raw);
        raw.clear();
        png_chunk(w, b"IDAT", idat)?;
        idat.clear();
        Ok(())
    };
    for y in 0..height {
        rng.fill_bytes(&mut noise);
        let (from, to, t) = if y < horizon {
            (sky, [230, 230, 235], y * 255 / horizon.max(1))
        } else {
            (
                ground,
                [40, 50, 30],
                (y - horizon) * 255 / (height - horizon).max(1),
            )
        };
        let base: Vec<i32> = (0..3)
            .map(|c| from[c] + (to[c] - from[c]) * t as i32 / 255)
            .collect();
        let mut row = Vec::with_capacity(row_len);
        row.push(0u8); // filter: none
        for (i, n) in noise[1..].iter().enumerate() {
            let v = base[i % 3] + i32::from(n & 0x1f) - 16;
            row.push(v.clamp(0, 255) as u8);
        }
        adler.update(&row);
        let mut rest = &row[..];
        while !rest.is_empty() {
            let take = rest.len().min(STORED_BLOCK - raw.len());
            raw.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            written += take;
            if raw.len() == STORED_BLOCK && written < total {
                flush(&mut raw, &mut idat, false)?;
            }
        }
    }
    flush(&mut raw, &mut idat, true)?;
    png_chunk(w, b"IDAT", &adler.finish().to_be_bytes())?;
    png_chunk(w, b"IEND", &[])
}

/// A mono 16 kHz, 16-bit PCM WAV file of exactly `bytes` bytes (at least the 44-byte header):
/// a murmur of noise with bursts of tone, like speech heard through a wall.
pub fn write_wav(w: &mut impl Write, bytes: u64, rng: &mut ChaCha8Rng) -> io::Result<()> {
    const RATE: u32 = 16_000;
    let data_len = (bytes.saturating_sub(44) & !1) as u32;
    w.write_all(b"RIFF")?;
    w.write_all(&(36 + data_len).to_le_bytes())?;
    w.write_all(b"WAVEfmt ")?;
    w.write_all(&16u32.to_le_bytes())?;
    w.write_all(&1u16.to_le_bytes())?; // PCM
    w.write_all(&1u16.to_le_bytes())?; // mono
    w.write_all(&RATE.to_le_bytes())?;
    w.write_all(&(RATE * 2).to_le_bytes())?;
    w.write_all(&2u16.to_le_bytes())?;
    w.write_all(&16u16.to_le_bytes())?;
    w.write_all(b"data")?;
    w.write_all(&data_len.to_le_bytes())?;
    let samples = data_len as usize / 2;
    let mut noise = vec![0u8; 8192];
    let mut out = Vec::with_capacity(noise.len());
    let mut pitch = 120 + (rng.next_u32() % 100) as usize;
    let mut syllable = usize::MAX;
    let mut i = 0usize;
    while i < samples {
        rng.fill_bytes(&mut noise);
        out.clear();
        for pair in noise.chunks_exact(2) {
            if i >= samples {
                break;
            }
            // Syllables of about a fifth of a second, each at its own pitch.
            if i / 3200 != syllable {
                syllable = i / 3200;
                pitch = 100 + (usize::from(pair[0]) * 150) / 255;
            }
            let voiced = syllable % 3 != 2;
            let phase = (i * pitch * 2 / RATE as usize) % 2;
            let tone: i32 = if voiced {
                if phase == 0 {
                    2400
                } else {
                    -2400
                }
            } else {
                0
            };
            let n = i32::from(i16::from_le_bytes([pair[0], pair[1]])) / 24;
            out.extend_from_slice(&((tone + n) as i16).to_le_bytes());
            i += 1;
        }
        w.write_all(&out)?;
    }
    Ok(())
}

fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(8 + body.len());
    b.extend_from_slice(&((8 + body.len()) as u32).to_be_bytes());
    b.extend_from_slice(kind);
    b.extend_from_slice(body);
    b
}

/// An MP4 file of exactly `bytes` bytes: `ftyp`, a `moov` with the movie header (duration
/// from the size at about 4 Mbit/s), and an `mdat` of pseudo-random payload written in chunks.
pub fn write_mp4(
    w: &mut impl Write,
    bytes: u64,
    created_unix: i64,
    rng: &mut ChaCha8Rng,
) -> io::Result<()> {
    let mut ftyp = Vec::new();
    ftyp.extend_from_slice(b"isom");
    ftyp.extend_from_slice(&512u32.to_be_bytes());
    ftyp.extend_from_slice(b"isomiso2avc1mp41");
    let ftyp = mp4_box(b"ftyp", &ftyp);

    // Seconds since 1904-01-01, the epoch of ISO base media times.
    let created = (created_unix + 2_082_844_800).clamp(0, i64::from(u32::MAX)) as u32;
    let duration_ms = (bytes / 500).min(u64::from(u32::MAX)) as u32;
    let mut mvhd = vec![0u8; 4]; // version 0, no flags
    mvhd.extend_from_slice(&created.to_be_bytes());
    mvhd.extend_from_slice(&created.to_be_bytes());
    mvhd.extend_from_slice(&1000u32.to_be_bytes()); // timescale: milliseconds
    mvhd.extend_from_slice(&duration_ms.to_be_bytes());
    mvhd.extend_from_slice(&0x0001_0000u32.to_be_bytes()); // rate 1.0
    mvhd.extend_from_slice(&0x0100u16.to_be_bytes()); // volume 1.0
    mvhd.extend_from_slice(&[0u8; 10]);
    for m in [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] {
        mvhd.extend_from_slice(&m.to_be_bytes()); // identity matrix
    }
    mvhd.extend_from_slice(&[0u8; 24]);
    mvhd.extend_from_slice(&1u32.to_be_bytes()); // next track id
    let moov = mp4_box(b"moov", &mp4_box(b"mvhd", &mvhd));

    let head = (ftyp.len() + moov.len() + 8) as u64;
    let payload = bytes.saturating_sub(head);
    w.write_all(&ftyp)?;
    w.write_all(&moov)?;
    w.write_all(&((payload + 8).min(u64::from(u32::MAX)) as u32).to_be_bytes())?;
    w.write_all(b"mdat")?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut left = payload;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        rng.fill_bytes(&mut buf[..n]);
        w.write_all(&buf[..n])?;
        left -= n as u64;
    }
    Ok(())
}

/// The smallest file of each kind that is still a valid one.
pub fn minimum_size(media: Media) -> u64 {
    match media {
        Media::Document => 0,
        Media::Photo => 2_000,
        Media::Voice => 1_044,
        Media::Video => 4_096,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn png_has_a_valid_structure_and_checksums() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let (w, h) = photo_dimensions(70_000);
        let mut png = Vec::new();
        write_png(&mut png, w, h, &mut rng).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        // Walk the chunks: every CRC matches, and the zlib data inflates to the pixel rows.
        let mut at = 8;
        let mut zlib = Vec::new();
        let mut kinds = Vec::new();
        while at < png.len() {
            let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
            let kind = &png[at + 4..at + 8];
            let data = &png[at + 8..at + 8 + len];
            let crc = u32::from_be_bytes(png[at + 8 + len..at + 12 + len].try_into().unwrap());
            let mut d = PNG_CRC.digest();
            d.update(kind);
            d.update(data);
            assert_eq!(d.finalize(), crc);
            if kind == b"IDAT" {
                zlib.extend_from_slice(data);
            }
            kinds.push(String::from_utf8(kind.to_vec()).unwrap());
            at += 12 + len;
        }
        assert_eq!(kinds.first().map(String::as_str), Some("IHDR"));
        assert_eq!(kinds.last().map(String::as_str), Some("IEND"));
        // Inflate the stored blocks by hand.
        let mut raw = Vec::new();
        let mut p = 2;
        loop {
            let last = zlib[p] & 1 == 1;
            let n = u16::from_le_bytes([zlib[p + 1], zlib[p + 2]]) as usize;
            let nn = u16::from_le_bytes([zlib[p + 3], zlib[p + 4]]);
            assert_eq!(!(n as u16), nn);
            raw.extend_from_slice(&zlib[p + 5..p + 5 + n]);
            p += 5 + n;
            if last {
                break;
            }
        }
        assert_eq!(raw.len(), (1 + 3 * w as usize) * h as usize);
        let mut adler = Adler32::new();
        adler.update(&raw);
        assert_eq!(zlib[p..p + 4], adler.finish().to_be_bytes());
        assert_eq!(p + 4, zlib.len());
    }

    #[test]
    fn wav_and_mp4_have_the_size_asked_for_and_valid_headers() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut wav = Vec::new();
        write_wav(&mut wav, 10_044, &mut rng).unwrap();
        assert_eq!(wav.len(), 10_044);
        assert_eq!(&wav[0..4], b"RIFF");
        assert_eq!(
            u32::from_le_bytes(wav[4..8].try_into().unwrap()) as usize,
            wav.len() - 8
        );
        assert_eq!(&wav[8..16], b"WAVEfmt ");
        assert_eq!(u32::from_le_bytes(wav[40..44].try_into().unwrap()), 10_000);

        let mut mp4 = Vec::new();
        write_mp4(&mut mp4, 300_000, 1_700_000_000, &mut rng).unwrap();
        assert_eq!(mp4.len(), 300_000);
        // The top-level boxes tile the file exactly.
        let mut at = 0;
        let mut kinds = Vec::new();
        while at < mp4.len() {
            let size = u32::from_be_bytes(mp4[at..at + 4].try_into().unwrap()) as usize;
            kinds.push(String::from_utf8(mp4[at + 4..at + 8].to_vec()).unwrap());
            at += size;
        }
        assert_eq!(at, mp4.len());
        assert_eq!(kinds, ["ftyp", "moov", "mdat"]);
    }
}

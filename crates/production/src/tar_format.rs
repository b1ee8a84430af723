//! The tar framing of an age package: POSIX ustar headers, with a PAX extended header for a
//! path that ustar cannot hold verbatim (over 100 bytes, or not ASCII) or a size of 8 GiB or
//! more. GNU tar, bsdtar, 7-Zip and the `tar` crate all read this.

use sha2::{Digest as _, Sha256};

/// Blocks are 512 bytes; every entry's data is padded to a whole block.
pub(crate) const BLOCK: u64 = 512;

/// The largest size an ustar header states in octal (11 digits).
const USTAR_MAX_SIZE: u64 = 0o77777777777;

/// The header block(s) that precede an entry's data.
pub(crate) fn header(path: &str, size: u64, mtime: u64) -> Vec<u8> {
    let mut pax = Vec::new();
    let fits_ustar = path.is_ascii() && path.len() <= 100;
    if !fits_ustar {
        pax_record(&mut pax, "path", path);
    }
    if size > USTAR_MAX_SIZE {
        pax_record(&mut pax, "size", &size.to_string());
    }
    // A reader that ignores PAX headers extracts under this name instead of the real one.
    let fallback = format!(
        "records/pax-{}",
        &hex::encode(Sha256::digest(path.as_bytes()))[..16]
    );
    let name = if fits_ustar { path } else { fallback.as_str() };
    let mut out = Vec::with_capacity(3 * BLOCK as usize + pax.len());
    if !pax.is_empty() {
        let pax_name = format!("PaxHeaders/{}", &fallback["records/".len()..]);
        out.extend_from_slice(&block(
            &pax_name,
            pax.len() as u64,
            mtime,
            tar::EntryType::XHeader,
        ));
        out.extend_from_slice(&pax);
        out.resize(out.len() + padding(pax.len() as u64), 0);
    }
    out.extend_from_slice(&block(name, size, mtime, tar::EntryType::Regular));
    out
}

/// Zero bytes after `size` bytes of data to reach the next block.
pub(crate) fn padding(size: u64) -> usize {
    ((BLOCK - size % BLOCK) % BLOCK) as usize
}

/// Two zero blocks end an archive.
pub(crate) const END: [u8; 2 * BLOCK as usize] = [0; 2 * BLOCK as usize];

fn block(name: &str, size: u64, mtime: u64, kind: tar::EntryType) -> [u8; 512] {
    let mut h = tar::Header::new_ustar();
    // `name` is ASCII and at most 100 bytes here, and has no `..` (package paths never do),
    // which is all `set_path` can refuse; the name field is then left as it is.
    let _ = h.set_path(name);
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(mtime);
    h.set_cksum();
    *h.as_bytes()
}

/// One PAX record: `"<length> <key>=<value>\n"`, where the length counts the whole record,
/// its own digits included.
fn pax_record(out: &mut Vec<u8>, key: &str, value: &str) {
    let rest = key.len() + value.len() + 3;
    let mut len = rest + 1;
    while len != rest + len.to_string().len() {
        len = rest + len.to_string().len();
    }
    out.extend_from_slice(format!("{len} {key}={value}\n").as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn archive(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (path, data) in entries {
            out.extend(header(path, data.len() as u64, 1_700_000_000));
            out.extend_from_slice(data);
            out.resize(out.len() + padding(data.len() as u64), 0);
        }
        out.extend_from_slice(&END);
        out
    }

    #[test]
    fn pax_record_lengths_count_themselves() {
        for value_len in [1, 5, 90, 94, 95, 96, 995, 996, 997] {
            let mut out = Vec::new();
            pax_record(&mut out, "path", &"x".repeat(value_len));
            let text = String::from_utf8(out).unwrap();
            let (len, _) = text.split_once(' ').unwrap();
            assert_eq!(len.parse::<usize>().unwrap(), text.len(), "{text}");
        }
    }

    #[test]
    fn short_long_and_unicode_paths_read_back() {
        let long = format!("records/content/{}/file.bin", "d".repeat(150));
        let entries: Vec<(&str, &[u8])> = vec![
            ("records/a.txt", b"hello"),
            (long.as_str(), &[7u8; 600]),
            ("records/Übersicht.pdf", b""),
        ];
        let bytes = archive(&entries);
        let mut ar = tar::Archive::new(bytes.as_slice());
        let mut seen = Vec::new();
        for e in ar.entries().unwrap() {
            let mut e = e.unwrap();
            let path = e.path().unwrap().to_string_lossy().to_string();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            seen.push((path, data));
        }
        let expected: Vec<(String, Vec<u8>)> = entries
            .iter()
            .map(|(p, d)| (p.to_string(), d.to_vec()))
            .collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn sizes_past_ustar_go_in_pax() {
        let h = header("records/big", 10 << 30, 0);
        assert_eq!(h.len(), 3 * 512);
        assert!(String::from_utf8_lossy(&h[512..1024]).contains("size=10737418240\n"));
    }
}

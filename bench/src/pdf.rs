//! Synthetic PDFs: a valid header and trailer around a pseudo-random stream, with a stamp that
//! makes every submission's bytes unique (Custodian stores documents by content, so identical
//! bytes would be written once and deduplicated, flattering it).

/// SplitMix64: a small, fast, deterministic generator; good enough for filler bytes.
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

const HEADER: &[u8] = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n";
/// `%bench run=<16 hex> client=<8 dec> seq=<12 dec> mix=<16 hex>\n`, rewritten per document.
const STAMP_LEN: usize = 7 + 4 + 16 + 8 + 8 + 5 + 12 + 5 + 16 + 1;
const TRAILER: &[u8] = b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";

/// A document of a fixed size; [`Template::render`] makes each copy unique.
pub struct Template {
    bytes: Vec<u8>,
    stamp_at: usize,
    run: u64,
}

impl Template {
    /// A PDF of exactly `size` bytes (at least 512) whose body is pseudo-random from `run`.
    pub fn new(size: usize, run: u64) -> Template {
        let size = size.max(512);
        let mut bytes = Vec::with_capacity(size);
        bytes.extend_from_slice(HEADER);
        let stamp_at = bytes.len();
        bytes.resize(stamp_at + STAMP_LEN, b' ');
        let head_len = format!("1 0 obj\n<< /Length {:>10} >>\nstream\n", 0).len();
        let body_len = size - bytes.len() - head_len - TRAILER.len();
        let head = format!("1 0 obj\n<< /Length {body_len:>10} >>\nstream\n");
        bytes.extend_from_slice(head.as_bytes());
        let mut rng = SplitMix64::new(run ^ 0x5EED);
        let mut filled = 0;
        while filled < body_len {
            let word = rng.next_u64().to_le_bytes();
            let n = (body_len - filled).min(8);
            bytes.extend_from_slice(&word[..n]);
            filled += n;
        }
        bytes.extend_from_slice(TRAILER);
        debug_assert_eq!(bytes.len(), size);
        Template {
            bytes,
            stamp_at,
            run,
        }
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// A copy stamped with the client and its sequence number: no two (client, seq) pairs of a
    /// run give the same bytes, and runs differ by their `run` value.
    pub fn render(&self, client: u32, seq: u64) -> Vec<u8> {
        let mut out = self.bytes.clone();
        let mix = SplitMix64::new(self.run ^ (u64::from(client) << 40) ^ seq).next_u64();
        let stamp = format!(
            "%bench run={:016x} client={client:08} seq={seq:012} mix={mix:016x}\n",
            self.run
        );
        debug_assert_eq!(stamp.len(), STAMP_LEN);
        out[self.stamp_at..self.stamp_at + STAMP_LEN].copy_from_slice(stamp.as_bytes());
        // Scatter the mix through the body too, so the documents differ beyond their first line.
        let body = self.stamp_at + STAMP_LEN..out.len() - TRAILER.len();
        let step = (body.len() / 8).max(1);
        let mut at = body.start + 64;
        while at + 8 <= body.end {
            out[at..at + 8].copy_from_slice(&mix.to_le_bytes());
            at += step;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_pdfs_of_the_asked_size() {
        for size in [512, 4096, 200 * 1024] {
            let t = Template::new(size, 7);
            assert_eq!(t.len(), size);
            let doc = t.render(3, 42);
            assert_eq!(doc.len(), size);
            assert!(custodian_core::document::is_pdf(&doc), "size {size}");
            assert!(doc.starts_with(b"%PDF-1.7\n"));
        }
    }

    #[test]
    fn every_submission_differs() {
        let t = Template::new(200 * 1024, 1);
        let a = t.render(0, 0);
        let b = t.render(0, 1);
        let c = t.render(1, 0);
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_ne!(b, c);
        assert_eq!(a, t.render(0, 0));
        assert_ne!(a, Template::new(200 * 1024, 2).render(0, 0));
    }
}

//! Row commitments. Each counter cell keeps, beside its count, the sum (mod 2^256) of the
//! audit-log leaf hashes of the entries counted in it. The sum is order-free and can be
//! updated in both directions when a request's facts change, so it is maintained with the
//! counters and a report still costs only its number of cells. A row's commitment is
//! SHA-256 over the row's cells' sums in a fixed order; `verify-report` recomputes the sums
//! from the log and compares.

use sha2::{Digest, Sha256};

/// A 256-bit accumulator: a multiset of leaf hashes, added as big-endian integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Acc(pub [u8; 32]);

impl Acc {
    pub const ZERO: Acc = Acc([0; 32]);

    pub fn from_slice(bytes: &[u8]) -> Acc {
        let mut a = [0u8; 32];
        if bytes.len() == 32 {
            a.copy_from_slice(bytes);
        }
        Acc(a)
    }

    pub fn add(&mut self, leaf: &[u8; 32]) {
        let mut carry = 0u16;
        for i in (0..32).rev() {
            let s = u16::from(self.0[i]) + u16::from(leaf[i]) + carry;
            self.0[i] = (s & 0xff) as u8;
            carry = s >> 8;
        }
    }

    pub fn sub(&mut self, leaf: &[u8; 32]) {
        let mut borrow = 0i16;
        for i in (0..32).rev() {
            let mut d = i16::from(self.0[i]) - i16::from(leaf[i]) - borrow;
            if d < 0 {
                d += 256;
                borrow = 1;
            } else {
                borrow = 0;
            }
            self.0[i] = d as u8;
        }
    }

    /// Adds (n > 0) or removes (n < 0) the leaf; n = 0 leaves it unchanged.
    pub fn apply(&mut self, leaf: &[u8; 32], sign: i8) {
        match sign.cmp(&0) {
            std::cmp::Ordering::Greater => self.add(leaf),
            std::cmp::Ordering::Less => self.sub(leaf),
            std::cmp::Ordering::Equal => {}
        }
    }

    /// The accumulator as four 64-bit limbs, most significant first.
    pub fn limbs(&self) -> [u64; 4] {
        let mut out = [0u64; 4];
        for (limb, bytes) in out.iter_mut().zip(self.0.chunks_exact(8)) {
            let mut w = [0u8; 8];
            w.copy_from_slice(bytes);
            *limb = u64::from_be_bytes(w);
        }
        out
    }

    pub fn from_limbs(limbs: &[u64; 4]) -> Acc {
        let mut a = [0u8; 32];
        for (bytes, limb) in a.chunks_exact_mut(8).zip(limbs) {
            bytes.copy_from_slice(&limb.to_be_bytes());
        }
        Acc(a)
    }

    pub fn merge(&mut self, other: &Acc) {
        self.add(&other.0);
    }

    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// `acc += x` modulo 2^256, in limbs (most significant first).
pub fn add_limbs(acc: &mut [u64; 4], x: &[u64; 4]) {
    let mut carry = false;
    for i in (0..4).rev() {
        let (s, c1) = acc[i].overflowing_add(x[i]);
        let (s, c2) = s.overflowing_add(u64::from(carry));
        acc[i] = s;
        carry = c1 || c2;
    }
}

/// The commitment of a report row: SHA-256 of a domain tag, the row's name and the
/// accumulators of its cells in the order given.
pub fn row_commitment(row: &str, accs: &[(&str, Acc)]) -> String {
    let mut h = Sha256::new();
    h.update(b"custodian-report-row-v1\n");
    h.update(row.as_bytes());
    h.update(b"\n");
    for (metric, acc) in accs {
        h.update(metric.as_bytes());
        h.update(b"=");
        h.update(acc.0);
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_then_sub_is_identity_and_order_free() {
        let a = [0xffu8; 32];
        let mut b = [0u8; 32];
        b[31] = 1;
        let mut x = Acc::ZERO;
        x.add(&a);
        x.add(&b);
        let mut y = Acc::ZERO;
        y.add(&b);
        y.add(&a);
        assert_eq!(x, y);
        assert_eq!(x, Acc::ZERO, "wraps mod 2^256");
        x.sub(&a);
        assert_eq!(x.0, b);
        x.sub(&b);
        assert_eq!(x, Acc::ZERO);
    }

    #[test]
    fn limbs_add_as_bytes_do() {
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        for i in 0..32 {
            a[i] = (i as u8).wrapping_mul(37) | 0x80;
            b[i] = 0xff - i as u8;
        }
        let mut bytes = Acc(a);
        bytes.add(&b);
        let mut limbs = Acc(a).limbs();
        add_limbs(&mut limbs, &Acc(b).limbs());
        assert_eq!(Acc::from_limbs(&limbs), bytes);
        assert_eq!(Acc::from_limbs(&Acc(a).limbs()), Acc(a));
    }
}

//! Human request numbers: `LE-2026-000123`. UUIDs identify rows; people quote these.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestNumber {
    pub year: i32,
    pub sequence: u32,
}

impl RequestNumber {
    pub fn new(year: i32, sequence: u32) -> Self {
        Self { year, sequence }
    }

    pub fn parse(s: &str) -> Option<RequestNumber> {
        let rest = s.strip_prefix("LE-")?;
        let (year, seq) = rest.split_once('-')?;
        if year.len() != 4 || seq.len() < 6 || !seq.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        Some(RequestNumber {
            year: year.parse().ok()?,
            sequence: seq.parse().ok()?,
        })
    }
}

impl fmt::Display for RequestNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LE-{:04}-{:06}", self.year, self.sequence)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        let n = RequestNumber::new(2026, 123);
        assert_eq!(n.to_string(), "LE-2026-000123");
        assert_eq!(RequestNumber::parse("LE-2026-000123"), Some(n));
        assert_eq!(RequestNumber::parse("LE-26-000123"), None);
        assert_eq!(RequestNumber::parse("XX-2026-000123"), None);
    }
}

//! Parsing the import file: a CSV of historical requests, one per row, with a header row.
//! Every row is checked completely before anything is stored; a bad row is reported with its
//! line number and reason and the rest of the file goes on. Reading is written for files of
//! millions of rows: fields are read into reused strings; rows are hashed when they are made
//! into a batch ([`crate::ImportBatch`]), on a thread of their own.

use std::collections::HashMap;
use std::io::BufRead;

use chrono::{DateTime, NaiveDate, Utc};
use custodian_core::{Country, LegalProcess};

use crate::batch::import_object;
use crate::facts::{check_category, Disclosed, Facts, NoneReason, Outcome};

/// The columns an import file may have; all but `responded_at`, `none_reason` and `category`
/// are required.
pub const COLUMNS: &[&str] = &[
    "reference",
    "received_at",
    "country",
    "process",
    "emergency",
    "accounts",
    "outcome",
    "disclosed",
    "none_reason",
    "ndo",
    "notified",
    "responded_at",
    "category",
];

const OPTIONAL: &[&str] = &["responded_at", "none_reason", "category"];

/// One good row.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRow {
    pub line: u64,
    pub reference: String,
    pub facts: Facts,
    /// An earlier line of the file that may have used the same reference (the reader keeps
    /// only a 64-bit hash of each reference). If the store then finds the reference taken,
    /// the row is a duplicate within the file and is rejected against that line.
    pub earlier: Option<u64>,
}

impl ImportRow {
    /// The audit object of the request this row imports.
    pub fn object(&self) -> String {
        import_object(&self.reference)
    }
}

/// A bad row, or a file-level problem (line 1 is the header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub line: u64,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("line 1: {0}")]
    Header(String),
    #[error("reading the file: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads one physical line, its end included, into `line`; false at the end of the input.
fn read_line<R: BufRead>(
    input: &mut R,
    line: &mut Vec<u8>,
    lines: &mut u64,
) -> std::io::Result<bool> {
    line.clear();
    if input.read_until(b'\n', line)? == 0 {
        return Ok(false);
    }
    *lines += 1;
    Ok(true)
}

/// Reads one CSV record (RFC 4180: quoted fields may hold commas, quotes and newlines) into
/// `fields`, reusing its strings, when `record` holds its first line: a quoted field may span
/// lines, so lines are added while the quotes are unbalanced. Returns the number of fields,
/// or None when the record is not UTF-8 text. `lines` counts the physical lines consumed.
fn read_quoted<R: BufRead>(
    input: &mut R,
    record: &mut Vec<u8>,
    fields: &mut Vec<String>,
    lines: &mut u64,
) -> std::io::Result<Option<usize>> {
    let mut quotes = record.iter().filter(|&&b| b == b'"').count();
    while quotes % 2 == 1 {
        let from = record.len();
        if input.read_until(b'\n', record)? == 0 {
            break;
        }
        *lines += 1;
        quotes += record[from..].iter().filter(|&&b| b == b'"').count();
    }
    let Ok(text) = std::str::from_utf8(record) else {
        return Ok(None);
    };
    let text = text.trim_end_matches(['\n', '\r']);
    let mut n = 0;
    let mut next = |fields: &mut Vec<String>| -> usize {
        if fields.len() <= n {
            fields.push(String::new());
        }
        fields[n].clear();
        n += 1;
        n - 1
    };
    let mut i = next(fields);
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                fields[i].push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if fields[i].is_empty() => quoted = true,
            (',', false) => i = next(fields),
            (c, _) => fields[i].push(c),
        }
    }
    Ok(Some(n))
}

/// Splits a line without quotes (the common case) into `fields` without copying, in one
/// pass over its bytes; returns the number of fields, which may exceed the room in `fields`.
fn split_plain<'t>(text: &'t str, fields: &mut [&'t str]) -> usize {
    let mut n = 0;
    let mut start = 0;
    for (i, &b) in text.as_bytes().iter().enumerate() {
        if b == b',' {
            if let Some(f) = fields.get_mut(n) {
                *f = text.get(start..i).unwrap_or_default();
            }
            n += 1;
            start = i + 1;
        }
    }
    if let Some(f) = fields.get_mut(n) {
        *f = text.get(start..).unwrap_or_default();
    }
    n + 1
}

/// What a line that is not UTF-8 is rejected with.
const NOT_TEXT: &str = "the line is not UTF-8 text";

/// Where each column is in the file's rows.
#[derive(Debug, Clone)]
pub struct Header {
    /// By the column's index in [`COLUMNS`].
    pos: Vec<Option<usize>>,
    width: usize,
}

/// Maps header names to positions; an unknown, duplicated or missing column is an error.
fn parse_header(fields: &[String]) -> Result<Header, String> {
    let mut pos = vec![None; COLUMNS.len()];
    for (i, raw) in fields.iter().enumerate() {
        let name = raw.trim().trim_start_matches('\u{feff}');
        let Some(known) = COLUMNS.iter().position(|c| *c == name) else {
            return Err(format!(
                "unknown column '{name}'; the columns are: {}",
                COLUMNS.join(", ")
            ));
        };
        if pos[known].replace(i).is_some() {
            return Err(format!("column '{name}' appears twice"));
        }
    }
    let missing: Vec<&str> = COLUMNS
        .iter()
        .zip(&pos)
        .filter(|(c, p)| !OPTIONAL.contains(c) && p.is_none())
        .map(|(c, _)| *c)
        .collect();
    if !missing.is_empty() {
        return Err(format!("missing column(s): {}", missing.join(", ")));
    }
    Ok(Header {
        pos,
        width: fields.len(),
    })
}

fn parse_time(column: &str, s: &str) -> Result<DateTime<Utc>, String> {
    let b = s.as_bytes();
    // The common case, YYYY-MM-DD, without the general parsers.
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            b[r].iter().try_fold(0u32, |acc, d| {
                d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
            })
        };
        if let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) {
            return NaiveDate::from_ymd_opt(y as i32, m, d)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
                .ok_or_else(|| format!("{column}: '{s}' is not a date"));
        }
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(custodian_audit::AuditEntry::truncate_time(
            t.with_timezone(&Utc),
        ));
    }
    Err(format!(
        "{column}: '{s}' is neither RFC 3339 nor YYYY-MM-DD"
    ))
}

fn parse_bool(column: &str, s: &str) -> Result<bool, String> {
    match s {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(format!("{column}: '{other}' is not true or false")),
    }
}

fn with_column<T>(column: &str, r: Result<T, String>) -> Result<T, String> {
    r.map_err(|e| {
        if e.starts_with(column) {
            e
        } else {
            format!("{column}: {e}")
        }
    })
}

fn opt(s: &str) -> Option<&str> {
    Some(s).filter(|s| !s.is_empty())
}

/// A value without its surrounding spaces; most values have none, and are returned without
/// the search for Unicode white space.
fn trim(s: &str) -> &str {
    let plain = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_graphic());
    if plain(s.as_bytes().first()) && plain(s.as_bytes().last()) {
        s
    } else {
        s.trim()
    }
}

/// Checks one record (its `count` fields, of which `fields` holds the first ones) against the
/// header. Values are trimmed of surrounding spaces.
fn parse_row<S: AsRef<str>>(
    header: &Header,
    fields: &[S],
    count: usize,
    line: u64,
) -> Result<ImportRow, String> {
    if count != header.width {
        return Err(format!(
            "{count} field(s) where the header has {}",
            header.width
        ));
    }
    let get = |c: usize| -> &str {
        header.pos[c]
            .and_then(|i| fields.get(i))
            .map(|s| trim(s.as_ref()))
            .unwrap_or("")
    };
    let [reference, received_at, country, process, emergency, accounts, outcome, disclosed, none_reason, ndo, notified, responded_at, category] = [
        get(0),
        get(1),
        get(2),
        get(3),
        get(4),
        get(5),
        get(6),
        get(7),
        get(8),
        get(9),
        get(10),
        get(11),
        get(12),
    ];
    if reference.is_empty() {
        return Err("reference: empty".into());
    }
    if reference.len() > 200 || reference.chars().any(|c| c.is_control()) {
        return Err("reference: longer than 200 characters or holds control characters".into());
    }
    let received_at = parse_time("received_at", received_at)?;
    let country = with_column("country", Country::parse(country))?;
    let process: LegalProcess = with_column("process", process.parse())?;
    let category = opt(category)
        .map(|c| with_column("category", check_category(c)).map(|()| c.to_string()))
        .transpose()?;
    let emergency = parse_bool("emergency", emergency)?;
    let accounts: u64 = accounts
        .parse()
        .map_err(|_| format!("accounts: '{accounts}' is not an integer >= 0"))?;
    let outcome: Outcome = with_column("outcome", outcome.parse())?;
    let disclosed: Disclosed = with_column("disclosed", disclosed.parse())?;
    let none_reason: Option<NoneReason> = opt(none_reason)
        .map(|s| with_column("none_reason", s.parse()))
        .transpose()?;
    let ndo = parse_bool("ndo", ndo)?;
    let notified = parse_bool("notified", notified)?;
    let responded_at = opt(responded_at)
        .map(|s| parse_time("responded_at", s))
        .transpose()?;
    match (disclosed, none_reason, outcome) {
        (Disclosed::None, None, _) => {
            return Err("none_reason: required when disclosed is none".into())
        }
        (Disclosed::Content | Disclosed::NonContent, Some(r), _) => {
            return Err(format!(
                "none_reason: '{r}' given although data was disclosed ({disclosed})"
            ))
        }
        (Disclosed::None, _, Outcome::Full | Outcome::Partial) => {
            return Err(format!("outcome: '{outcome}' although disclosed is none"))
        }
        (Disclosed::Content | Disclosed::NonContent, _, Outcome::None) => {
            return Err(format!("outcome: 'none' although disclosed is {disclosed}"))
        }
        _ => {}
    }
    if let Some(r) = responded_at {
        if r < received_at {
            return Err("responded_at: before received_at".into());
        }
    }
    let facts = Facts {
        received_at,
        country,
        process,
        category,
        emergency,
        accounts,
        outcome: Some(outcome),
        disclosed: Some(disclosed),
        none_reason,
        ndo,
        notified,
        responded_at,
    };
    Ok(ImportRow {
        line,
        reference: reference.to_string(),
        facts,
        earlier: None,
    })
}

/// Reads a whole import file in chunks: returns up to `chunk` good rows at a time (and the
/// rows rejected while reading them). A reference seen earlier in the file is marked
/// ([`ImportRow::earlier`]) for the store to confirm.
pub struct ImportReader<R> {
    input: R,
    header: Header,
    /// The line being read, as bytes: a line without quotes, the common case, is split and
    /// checked where it lies, without copying its fields.
    line: Vec<u8>,
    /// The fields of a record with quotes.
    fields: Vec<String>,
    lines: u64,
    /// A 64-bit hash of each reference read so far ([`reference_hash`]) and its line: 16
    /// bytes a row where the references themselves would cost several times that on a file
    /// of millions of rows.
    seen: HashMap<u64, u64, crate::FxBuild>,
    /// The file's size, if known, and the bytes read so far: the set above is made as large
    /// as the whole file needs once the first rows have shown how long a line is, rather
    /// than grown (and copied) a dozen times.
    size: Option<u64>,
    consumed: u64,
}

/// A reference's 64-bit key: SipHash with fixed keys. The sets built from it are never
/// stored, and two references with one key only cost a look in the store.
pub fn reference_hash(reference: &str) -> u64 {
    use std::hash::Hasher;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    h.write(reference.as_bytes());
    h.finish()
}

/// Visits the entry of each of `keys` in `set`, in order. A set of references is far larger
/// than the processor's caches on a large import, so nearly every look is a trip to memory;
/// done in one tight pass with the set looked up a few keys ahead, the processor makes those
/// trips side by side instead of one after another.
pub fn visit_entries<V>(
    set: &mut HashMap<u64, V, crate::FxBuild>,
    keys: &[u64],
    mut visit: impl FnMut(usize, std::collections::hash_map::Entry<'_, u64, V>),
) {
    const AHEAD: usize = 8;
    for (i, key) in keys.iter().enumerate() {
        if let Some(ahead) = keys.get(i + AHEAD) {
            std::hint::black_box(set.get(ahead));
        }
        visit(i, set.entry(*key));
    }
}

/// Rows read before the set of references is sized for the whole file.
const SAMPLE_ROWS: usize = 10_000;

impl<R: BufRead> ImportReader<R> {
    pub fn new(mut input: R) -> Result<ImportReader<R>, ImportError> {
        let mut line = Vec::new();
        let mut fields = Vec::new();
        let mut lines = 0;
        if !read_line(&mut input, &mut line, &mut lines)? {
            return Err(ImportError::Header("the file is empty".into()));
        }
        let n = read_quoted(&mut input, &mut line, &mut fields, &mut lines)?
            .ok_or_else(|| ImportError::Header(NOT_TEXT.into()))?;
        let header = parse_header(&fields[..n]).map_err(ImportError::Header)?;
        Ok(ImportReader {
            consumed: line.len() as u64,
            input,
            header,
            line,
            fields,
            lines,
            seen: HashMap::default(),
            size: None,
        })
    }

    /// The size of the whole file in bytes, for sizing what the reader keeps per row.
    pub fn with_size(mut self, bytes: u64) -> ImportReader<R> {
        self.size = Some(bytes);
        self
    }

    /// Up to `max` good rows, with the bad ones met on the way; empty at end of file.
    pub fn next_chunk(
        &mut self,
        max: usize,
    ) -> Result<(Vec<ImportRow>, Vec<Rejected>), ImportError> {
        let mut good = Vec::with_capacity(max.min(1 << 20));
        let mut bad = Vec::new();
        while good.len() < max {
            let line = self.lines + 1;
            if !read_line(&mut self.input, &mut self.line, &mut self.lines)? {
                break;
            }
            let parsed = if !self.line.contains(&b'"') {
                self.consumed += self.line.len() as u64;
                let Ok(text) = std::str::from_utf8(&self.line) else {
                    bad.push(Rejected {
                        line,
                        reason: NOT_TEXT.into(),
                    });
                    continue;
                };
                let text = text.trim_end_matches(['\n', '\r']);
                if text.trim().is_empty() {
                    continue; // blank line
                }
                let mut fields = [""; COLUMNS.len()];
                let n = split_plain(text, &mut fields);
                parse_row(&self.header, &fields, n, line)
            } else {
                let Some(n) = read_quoted(
                    &mut self.input,
                    &mut self.line,
                    &mut self.fields,
                    &mut self.lines,
                )?
                else {
                    bad.push(Rejected {
                        line,
                        reason: NOT_TEXT.into(),
                    });
                    continue;
                };
                self.consumed += self.line.len() as u64;
                parse_row(&self.header, &self.fields[..n], n, line)
            };
            match parsed {
                Ok(row) => good.push(row),
                Err(reason) => bad.push(Rejected { line, reason }),
            }
        }
        self.mark_earlier(&mut good);
        Ok((good, bad))
    }

    /// Marks each row whose reference an earlier line used, and remembers the new ones, in one
    /// pass over the chunk ([`visit_entries`]).
    fn mark_earlier(&mut self, rows: &mut [ImportRow]) {
        if self.seen.len() < SAMPLE_ROWS && self.seen.len() + rows.len() >= SAMPLE_ROWS {
            self.size_seen(rows);
        }
        let keys: Vec<u64> = rows.iter().map(|r| reference_hash(&r.reference)).collect();
        visit_entries(&mut self.seen, &keys, |i, entry| match entry {
            std::collections::hash_map::Entry::Occupied(first) => {
                rows[i].earlier = Some(*first.get())
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(rows[i].line);
            }
        });
    }

    /// Once, after the first rows: room in the set of references for as many rows as the
    /// rest of the file holds at the length of a line so far.
    fn size_seen(&mut self, rows: &[ImportRow]) {
        if let Some(size) = self.size {
            let read = (self.seen.len() + rows.len()) as u64;
            let per_row = (self.consumed / read.max(1)).max(1);
            let rest = size.saturating_sub(self.consumed) / per_row;
            // At most 128 million rows' worth (about 2 GB, mostly untouched until used) is
            // asked for ahead; beyond that the set grows as it must.
            self.seen
                .reserve(usize::try_from(rest.min(1 << 27)).unwrap_or(0));
        }
    }

    /// Physical lines read so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "reference,received_at,country,process,emergency,accounts,outcome,disclosed,none_reason,ndo,notified,responded_at\n";

    fn read_all(text: &str) -> Result<(Vec<ImportRow>, Vec<Rejected>), ImportError> {
        let mut r = ImportReader::new(std::io::Cursor::new(text.to_string()))?;
        let mut good = Vec::new();
        let mut bad = Vec::new();
        loop {
            let (g, b) = r.next_chunk(2)?;
            if g.is_empty() && b.is_empty() {
                break;
            }
            good.extend(g);
            bad.extend(b);
        }
        Ok((good, bad))
    }

    #[test]
    fn good_and_bad_rows_with_line_numbers() {
        let text = format!(
            "{HEAD}A1,2025-01-02,US,subpoena,false,1,full,non_content,,false,false,2025-01-09\n\
             A2,2025-01-02,XX,subpoena,false,1,full,non_content,,false,false,\n\
             A3,2025-02-30,US,subpoena,false,1,full,non_content,,false,false,\n\
             \"A4, quoted\",2025-03-01T10:00:00Z,de,epoc,false,2,none,none,rejected,false,false,\n\
             A5,2025-03-01,US,search_warrant,false,1,none,none,,false,false,\n\
             A1,2025-03-01,US,subpoena,false,1,full,content,,false,false,\n"
        );
        let (good, bad) = read_all(&text).unwrap();
        assert_eq!(
            good.iter()
                .map(|r| (r.reference.as_str(), r.line, r.earlier))
                .collect::<Vec<_>>(),
            [("A1", 2, None), ("A4, quoted", 5, None), ("A1", 7, Some(2))],
            "the second A1 is marked for the store to confirm"
        );
        assert_eq!(good[1].facts.country.code(), "DE");
        assert_eq!(
            crate::ImportBatch::new(good.clone()).leaves()[0],
            crate::row_leaf("import:A1", &good[0].facts),
            "rows are hashed as they are batched"
        );
        let lines: Vec<u64> = bad.iter().map(|r| r.line).collect();
        assert_eq!(lines, [3, 4, 6]);
        assert!(bad[0].reason.starts_with("country:"), "{}", bad[0].reason);
        assert!(
            bad[1].reason.starts_with("received_at:"),
            "{}",
            bad[1].reason
        );
        assert!(
            bad[2].reason.contains("none_reason: required"),
            "{}",
            bad[2].reason
        );
    }

    #[test]
    fn categories_quotes_spaces_and_dates() {
        let text = "reference,received_at,country,process,emergency,accounts,outcome,disclosed,none_reason,ndo,notified,category\n\
                    C1, 2025-01-01 ,gb,cloud_act_order,false,0,none,none,no_data,false,false,ipa_cdr\n\
                    C2,2025-01-01,GB,cloud_act_order,false,0,none,none,no_data,false,false,IPA CDR\n\
                    \"C3, \"\"quoted\"\"\",2025-06-30T23:59:59.1234567+02:00,GB,wiretap,false,1,full,content,,false,false,\n\
                    \"C4\nsecond line\",2025-01-01,GB,wiretap,false,1,full,content,,false,false,\n\
                    C5,2025-13-01,GB,wiretap,false,1,full,content,,false,false,\n\
                    C6,2025-01-01,GB,wiretap,false,1,full,content,,false,false\n";
        let (good, bad) = read_all(text).unwrap();
        assert_eq!(good.len(), 2, "{bad:?}");
        assert_eq!(good[0].facts.category.as_deref(), Some("ipa_cdr"));
        assert_eq!(good[0].facts.country.code(), "GB");
        assert_eq!(good[1].reference, "C3, \"quoted\"");
        assert_eq!(good[1].facts.category, None);
        assert_eq!(
            good[1].facts.received_at.to_rfc3339(),
            "2025-06-30T21:59:59.123456+00:00",
            "RFC 3339 times are cut to microseconds in UTC"
        );
        let reasons: Vec<(u64, &str)> = bad.iter().map(|r| (r.line, r.reason.as_str())).collect();
        assert_eq!(reasons.len(), 4, "{reasons:?}");
        assert_eq!(reasons[0].0, 3);
        assert!(reasons[0].1.starts_with("category:"), "{reasons:?}");
        assert_eq!(reasons[1].0, 5);
        assert!(reasons[1].1.contains("control characters"), "{reasons:?}");
        assert_eq!(reasons[2].0, 7, "the quoted newline took a line");
        assert!(reasons[2].1.starts_with("received_at:"), "{reasons:?}");
        assert_eq!(reasons[3].0, 8);
        assert!(
            reasons[3].1.contains("11 field(s) where the header has 12"),
            "{reasons:?}"
        );
    }

    #[test]
    fn a_line_that_is_not_text_is_rejected_and_the_file_goes_on() {
        let mut bytes = HEAD.as_bytes().to_vec();
        bytes.extend_from_slice(
            b"A1,2025-01-02,US,subpoena,false,1,full,non_content,,false,false,\n",
        );
        bytes.extend_from_slice(
            b"A\xff2,2025-01-02,US,subpoena,false,1,full,non_content,,false,false,\n",
        );
        bytes.extend_from_slice(
            b"\"A\xfe3\",2025-01-02,US,subpoena,false,1,full,non_content,,false,false,\n",
        );
        bytes.extend_from_slice(
            b"A4,2025-01-02,US,subpoena,false,1,full,non_content,,false,false,\n",
        );
        let mut r = ImportReader::new(std::io::Cursor::new(bytes)).unwrap();
        let (good, bad) = r.next_chunk(10).unwrap();
        let refs: Vec<&str> = good.iter().map(|r| r.reference.as_str()).collect();
        assert_eq!(refs, ["A1", "A4"]);
        assert_eq!(
            bad,
            [
                Rejected {
                    line: 3,
                    reason: NOT_TEXT.into()
                },
                Rejected {
                    line: 4,
                    reason: NOT_TEXT.into()
                },
            ]
        );
    }

    #[test]
    fn unknown_and_missing_columns_are_errors() {
        let err = read_all("reference,colour\n").err().unwrap().to_string();
        assert!(err.contains("unknown column 'colour'"), "{err}");
        let err = read_all("reference,country\n").err().unwrap().to_string();
        assert!(err.contains("missing column"), "{err}");
        // Any order, optional responded_at left out.
        let text = "process,reference,country,received_at,emergency,accounts,outcome,disclosed,none_reason,ndo,notified\n\
                    subpoena,B1,US,2025-01-01,false,0,none,none,no_data,false,false\n";
        let (good, bad) = read_all(text).unwrap();
        assert_eq!((good.len(), bad.len()), (1, 0));
    }
}

//! Parsing the import file: a CSV of historical requests, one per row, with a header row.
//! Every row is checked completely before anything is stored; a bad row is reported with its
//! line number and reason and the rest of the file goes on.

use std::collections::HashMap;
use std::io::BufRead;

use chrono::{DateTime, NaiveDate, Utc};
use custodian_core::{Country, LegalProcess};

use crate::facts::{Disclosed, Facts, NoneReason, Outcome};

/// The columns an import file may have; all but `responded_at` are required.
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
];

const OPTIONAL: &[&str] = &["responded_at", "none_reason"];

/// One good row.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRow {
    pub line: u64,
    pub reference: String,
    pub facts: Facts,
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

/// Reads one CSV record (RFC 4180: quoted fields may hold commas, quotes and newlines).
/// Returns None at end of input; `lines` counts the physical lines consumed.
pub fn read_record<R: BufRead>(
    input: &mut R,
    buf: &mut String,
    lines: &mut u64,
) -> std::io::Result<Option<Vec<String>>> {
    buf.clear();
    if input.read_line(buf)? == 0 {
        return Ok(None);
    }
    *lines += 1;
    // A quoted field may span lines: read on while the quotes are unbalanced.
    while buf.matches('"').count() % 2 == 1 {
        if input.read_line(buf)? == 0 {
            break;
        }
        *lines += 1;
    }
    let text = buf.trim_end_matches(['\n', '\r']);
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    fields.push(field);
    Ok(Some(fields))
}

/// Maps header names to positions; an unknown, duplicated or missing column is an error.
pub fn parse_header(fields: &[String]) -> Result<HashMap<&'static str, usize>, String> {
    let mut map = HashMap::new();
    for (i, raw) in fields.iter().enumerate() {
        let name = raw.trim().trim_start_matches('\u{feff}');
        let Some(known) = COLUMNS.iter().find(|c| **c == name) else {
            return Err(format!(
                "unknown column '{name}'; the columns are: {}",
                COLUMNS.join(", ")
            ));
        };
        if map.insert(*known, i).is_some() {
            return Err(format!("column '{name}' appears twice"));
        }
    }
    let missing: Vec<&str> = COLUMNS
        .iter()
        .filter(|c| !OPTIONAL.contains(c) && !map.contains_key(*c))
        .copied()
        .collect();
    if !missing.is_empty() {
        return Err(format!("missing column(s): {}", missing.join(", ")));
    }
    Ok(map)
}

fn parse_time(column: &str, s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(custodian_audit::AuditEntry::truncate_time(
            t.with_timezone(&Utc),
        ));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| format!("{column}: '{s}' is neither RFC 3339 nor YYYY-MM-DD"))
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

/// Checks one record against the header. Values are trimmed of surrounding spaces.
pub fn parse_row(
    header: &HashMap<&'static str, usize>,
    fields: &[String],
    line: u64,
) -> Result<ImportRow, String> {
    if fields.len() != header.len() {
        return Err(format!(
            "{} field(s) where the header has {}",
            fields.len(),
            header.len()
        ));
    }
    let get = |c: &str| -> &str {
        header
            .get(c)
            .and_then(|i| fields.get(*i))
            .map(|s| s.trim())
            .unwrap_or("")
    };
    let opt = |c: &str| Some(get(c)).filter(|s| !s.is_empty());
    let reference = get("reference");
    if reference.is_empty() {
        return Err("reference: empty".into());
    }
    if reference.len() > 200 || reference.chars().any(|c| c.is_control()) {
        return Err("reference: longer than 200 characters or holds control characters".into());
    }
    let received_at = parse_time("received_at", get("received_at"))?;
    let country = with_column("country", Country::parse(get("country")))?;
    let process: LegalProcess = with_column("process", get("process").parse())?;
    let emergency = parse_bool("emergency", get("emergency"))?;
    let accounts: u64 = get("accounts")
        .parse()
        .map_err(|_| format!("accounts: '{}' is not an integer >= 0", get("accounts")))?;
    let outcome: Outcome = with_column("outcome", get("outcome").parse())?;
    let disclosed: Disclosed = with_column("disclosed", get("disclosed").parse())?;
    let none_reason: Option<NoneReason> = opt("none_reason")
        .map(|s| with_column("none_reason", s.parse()))
        .transpose()?;
    let ndo = parse_bool("ndo", get("ndo"))?;
    let notified = parse_bool("notified", get("notified"))?;
    let responded_at = opt("responded_at")
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
    Ok(ImportRow {
        line,
        reference: reference.to_string(),
        facts: Facts {
            received_at,
            country,
            process,
            emergency,
            accounts,
            outcome: Some(outcome),
            disclosed: Some(disclosed),
            none_reason,
            ndo,
            notified,
            responded_at,
        },
    })
}

/// Reads a whole import file in chunks: calls `each` with every `chunk` good rows (and the
/// rows rejected while reading them). Duplicate references inside the file are rejected
/// against the first line that used them.
pub struct ImportReader<R> {
    input: R,
    header: HashMap<&'static str, usize>,
    buf: String,
    lines: u64,
    seen: HashMap<String, u64>,
}

impl<R: BufRead> ImportReader<R> {
    pub fn new(mut input: R) -> Result<ImportReader<R>, ImportError> {
        let mut buf = String::new();
        let mut lines = 0;
        let fields = read_record(&mut input, &mut buf, &mut lines)?
            .ok_or_else(|| ImportError::Header("the file is empty".into()))?;
        let header = parse_header(&fields).map_err(ImportError::Header)?;
        Ok(ImportReader {
            input,
            header,
            buf,
            lines,
            seen: HashMap::new(),
        })
    }

    /// Up to `max` good rows, with the bad ones met on the way; empty at end of file.
    pub fn next_chunk(
        &mut self,
        max: usize,
    ) -> Result<(Vec<ImportRow>, Vec<Rejected>), ImportError> {
        let mut good = Vec::with_capacity(max);
        let mut bad = Vec::new();
        while good.len() < max {
            let line = self.lines + 1;
            let Some(fields) = read_record(&mut self.input, &mut self.buf, &mut self.lines)? else {
                break;
            };
            if fields.len() == 1 && fields[0].trim().is_empty() {
                continue; // blank line
            }
            match parse_row(&self.header, &fields, line) {
                Ok(row) => {
                    if let Some(first) = self.seen.get(&row.reference) {
                        bad.push(Rejected {
                            line,
                            reason: format!(
                                "reference '{}' already used on line {first}",
                                row.reference
                            ),
                        });
                    } else {
                        self.seen.insert(row.reference.clone(), line);
                        good.push(row);
                    }
                }
                Err(reason) => bad.push(Rejected { line, reason }),
            }
        }
        Ok((good, bad))
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
                .map(|r| r.reference.as_str())
                .collect::<Vec<_>>(),
            ["A1", "A4, quoted"]
        );
        assert_eq!(good[1].facts.country.code(), "DE");
        let lines: Vec<u64> = bad.iter().map(|r| r.line).collect();
        assert_eq!(lines, [3, 4, 6, 7]);
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
        assert!(
            bad[3].reason.contains("already used on line 2"),
            "{}",
            bad[3].reason
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

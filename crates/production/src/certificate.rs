//! The business-records certificate: the custodian's declaration under Federal Rules of
//! Evidence 803(6) and 902(11) that the produced records were made at or near the time by (or
//! from information transmitted by) someone with knowledge, kept in the course of a regularly
//! conducted activity, and made as a regular practice of it. With the declaration, the
//! records are self-authenticating: no custodian has to testify to lay the foundation.
//!
//! The certificate names the records by the SHA-256 of `MANIFEST.sha256`, which lists every
//! record's SHA-256, so the declaration covers exactly these bytes. It is rendered with the
//! project's PDF writer ([`custodian_report::pdf::text_pdf`]).

use crate::{Digest, RequestFacts, SignOff};

/// Courier 9 pt on US Letter with the writer's margins holds 93 characters; keep a little room.
const WIDTH: usize = 90;

/// The label of the line that states the manifest's digest; [`stated_manifest_digest`]
/// finds it again.
const DIGEST_LABEL: &str = "MANIFEST.sha256 SHA-256: ";

/// What the certificate says about the production besides the request and the sign-off.
pub(crate) struct Production<'a> {
    pub facts: &'a RequestFacts,
    pub sign_off: &'a SignOff,
    pub file_count: u64,
    pub total_bytes: u64,
    pub manifest_sha256: &'a Digest,
}

/// The certificate as a PDF.
pub(crate) fn certificate_pdf(p: &Production<'_>) -> Vec<u8> {
    custodian_report::pdf::text_pdf(&certificate_lines(p))
}

fn certificate_lines(p: &Production<'_>) -> Vec<String> {
    let f = p.facts;
    let s = p.sign_off;
    let provider = s.provider.as_str();
    let categories: Vec<&str> = f.categories.iter().map(|c| c.as_str()).collect();
    let range = match f.date_range {
        Some(r) => format!("{} to {}", r.from, r.to),
        None => "as stated in the legal process".to_string(),
    };
    let mut lines = vec![
        "CERTIFICATE OF AUTHENTICITY OF DOMESTIC RECORDS".to_string(),
        "OF A REGULARLY CONDUCTED ACTIVITY".to_string(),
        "(Federal Rules of Evidence 803(6) and 902(11))".to_string(),
        String::new(),
    ];
    lines.extend(field("Request number:", &f.number.to_string()));
    lines.extend(field("Legal process:", f.process.as_str()));
    lines.extend(field("Requesting agency:", &f.agency));
    if let Some(reference) = &f.case_reference {
        lines.extend(field("Agency reference:", reference));
    }
    lines.extend(field("Records produced:", &categories.join(", ")));
    lines.extend(field("Period:", &range));
    lines.push(String::new());
    let paragraphs = [
        format!("I, {}, declare as follows:", s.name),
        format!(
            "1. I am employed by {provider} as {}. I am a custodian of records of {provider}, \
             or I am otherwise qualified by my familiarity with its record-keeping practices \
             to make this certification.",
            s.title
        ),
        format!(
            "2. The records produced with this certificate are true duplicates of original \
             records in the custody of {provider}. They were:"
        ),
        "   (a) made at or near the time of the occurrence of the matters set forth in them, \
         by, or from information transmitted by, a person with knowledge of those matters;"
            .to_string(),
        format!("   (b) kept in the course of the regularly conducted activity of {provider}; and"),
        "   (c) made as a regular practice of that activity.".to_string(),
        format!(
            "3. The records are the {} file(s), {} bytes in all, listed with the SHA-256 digest \
             of each in the file MANIFEST.sha256 delivered with this certificate. The SHA-256 \
             digest of MANIFEST.sha256 is stated below; a file whose digest differs from the \
             one listed is not a record certified here.",
            p.file_count, p.total_bytes
        ),
    ];
    for paragraph in &paragraphs {
        lines.extend(wrap(paragraph));
        lines.push(String::new());
    }
    lines.push(format!("{DIGEST_LABEL}{}", hex::encode(p.manifest_sha256)));
    lines.push(String::new());
    lines.extend(wrap(
        "I declare under penalty of perjury under the laws of the United States of America \
         that the foregoing is true and correct (28 U.S.C. 1746).",
    ));
    lines.push(String::new());
    match &s.place {
        Some(place) => lines.push(format!("Executed on {} at {place}.", s.date)),
        None => lines.push(format!("Executed on {}.", s.date)),
    }
    lines.push(String::new());
    lines.push(format!("/s/ {}", s.name));
    lines.push(format!("{}, {provider}", s.title));
    lines
}

/// Greedy word wrap; a continuation keeps the paragraph's leading indentation plus the width
/// of its enumerator (`(a) `), so that lists stay readable.
fn wrap(text: &str) -> Vec<String> {
    let indent = &text[..text.len() - text.trim_start().len()];
    let first_word = text.split_whitespace().next().unwrap_or("");
    let hang = if first_word.ends_with(')') || first_word.ends_with('.') {
        first_word.len() + 1
    } else {
        0
    };
    wrap_with(indent, &" ".repeat(indent.len() + hang), text)
}

/// A labelled field (`Requesting agency:   ...`) whose value wraps under itself.
fn field(label: &str, value: &str) -> Vec<String> {
    let prefix = format!("{label:<21}");
    let continuation = " ".repeat(prefix.len());
    wrap_with(&prefix, &continuation, value)
}

fn wrap_with(first: &str, continuation: &str, text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
            lines.push(std::mem::replace(&mut line, continuation.to_string()));
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    if !empty {
        lines.push(line);
    }
    lines
}

/// The manifest digest a certificate made here states, read back from the PDF. None when the
/// PDF does not state one (it was not made here, or it was altered).
pub fn stated_manifest_digest(pdf: &[u8]) -> Option<Digest> {
    // The PDF writer puts each line in an uncompressed content stream as `(text) '`; the label
    // and the hex digits need no escaping, so the line appears verbatim.
    let needle = format!("({DIGEST_LABEL}");
    let needle = needle.as_bytes();
    let at = pdf.windows(needle.len()).position(|w| w == needle)? + needle.len();
    let hex_digits = pdf.get(at..at + 64)?;
    if pdf.get(at + 64) != Some(&b')') {
        return None;
    }
    let mut digest = [0u8; 32];
    hex::decode_to_slice(hex_digits, &mut digest).ok()?;
    Some(digest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use custodian_core::{DataCategory, LegalProcess, RequestNumber, Target, TargetKind};

    fn facts() -> RequestFacts {
        RequestFacts {
            number: RequestNumber::new(2026, 42),
            process: LegalProcess::SearchWarrant,
            agency: "Springfield Police Department".into(),
            case_reference: Some("SPD-2026-0099".into()),
            categories: vec![DataCategory::Content, DataCategory::Subscriber],
            targets: vec![Target::parse(TargetKind::Email, "jane@example.com").unwrap()],
            date_range: None,
            decided_by: "Rita Reviewer".into(),
            approved_by: Some("Arno Approver".into()),
        }
    }

    fn sign_off() -> SignOff {
        SignOff {
            name: "José García".into(),
            title: "Custodian of Records".into(),
            provider: "Example Cloud, Inc.".into(),
            date: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
            place: Some("Seattle, Washington".into()),
        }
    }

    #[test]
    fn states_the_declaration_and_the_digest_and_reads_it_back() {
        let facts = facts();
        let sign_off = sign_off();
        let digest = [0xab; 32];
        let p = Production {
            facts: &facts,
            sign_off: &sign_off,
            file_count: 3,
            total_bytes: 1234,
            manifest_sha256: &digest,
        };
        let lines = certificate_lines(&p);
        let text = lines.join("\n");
        for needle in [
            "902(11)",
            "LE-2026-000042",
            "search_warrant",
            "content, subscriber",
            "I, José García, declare",
            "at or near the time",
            "person with knowledge",
            "regularly conducted activity",
            "regular practice",
            "3 file(s), 1234 bytes",
            "penalty of perjury",
            "Executed on 2026-11-24 at Seattle, Washington.",
            "/s/ José García",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
        assert!(lines.iter().all(|l| l.chars().count() <= WIDTH), "{text}");
        let pdf = certificate_pdf(&p);
        assert_eq!(stated_manifest_digest(&pdf), Some(digest));
        let mut altered = pdf.clone();
        let at = altered.windows(4).position(|w| w == b"abab").unwrap();
        altered[at] = b'c';
        assert_ne!(stated_manifest_digest(&altered), Some(digest));
        assert_eq!(stated_manifest_digest(b"%PDF-1.4 nothing"), None);
    }

    #[test]
    fn wrapping_keeps_words_and_hangs_enumerated_paragraphs() {
        let text = "   (a) made at or near the time of the occurrence of the matters set forth in \
                    them, by, or from information transmitted by, a person with knowledge.";
        let lines = wrap(text);
        assert!(lines.len() > 1);
        assert!(lines[0].starts_with("   (a) made"));
        assert!(lines[1].starts_with("       ") && !lines[1].starts_with("        "));
        let words: Vec<&str> = lines.iter().flat_map(|l| l.split_whitespace()).collect();
        assert_eq!(words, text.split_whitespace().collect::<Vec<_>>());
    }
}

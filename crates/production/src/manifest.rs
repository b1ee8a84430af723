//! The manifest, twice: `manifest.json` for people and programs (the request, every file with
//! its size and SHA-256, the package's metadata), and `MANIFEST.sha256` in the exact format of
//! `sha256sum` (`<64 lowercase hex>  <path>`, two spaces, one line per file) so that the agency
//! can check the files with `sha256sum -c MANIFEST.sha256` and nothing else.
//!
//! `MANIFEST.sha256` lists every record and `manifest.json`; the certificate states its
//! SHA-256, and the audit log's production event records it. It cannot list the certificate or
//! the audit files, which are made after it and refer to it.

use chrono::{DateTime, Utc};
use custodian_core::request::DateRange;
use custodian_core::{DataCategory, LegalProcess, Target};
use serde::{Deserialize, Serialize};

use crate::layout;
use crate::protect::ProtectionKind;
use crate::{Digest, RequestFacts};

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`layout::FORMAT`].
    pub format: String,
    /// The request the package answers.
    pub request: ManifestRequest,
    /// The package itself.
    pub package: PackageMeta,
    /// Every record, in the order they were added.
    pub files: Vec<ManifestFile>,
}

/// The request as the manifest states it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestRequest {
    /// `LE-2026-000123`.
    pub number: String,
    /// The legal process served.
    pub process: LegalProcess,
    /// The requesting agency.
    pub agency: String,
    /// The agency's reference.
    pub case_reference: Option<String>,
    /// The categories produced: exactly those decided 'disclose'.
    pub categories: Vec<DataCategory>,
    /// The targets as the demand named them.
    pub targets: Vec<Target>,
    /// The period of records asked for.
    pub date_range: Option<DateRange>,
    /// Who decided.
    pub decided_by: String,
    /// Who approved, where the two-person rule asked.
    pub approved_by: Option<String>,
}

/// Facts about the package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageMeta {
    /// When the builder started.
    pub created_at: DateTime<Utc>,
    /// The program that built it (`custodian 0.1.0`).
    pub producer: String,
    /// How the package is protected.
    pub protection: ProtectionKind,
    /// Number of records.
    pub file_count: u64,
    /// Sum of the records' sizes.
    pub total_bytes: u64,
}

/// One record in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    /// Its path in the package (`records/content/...`).
    pub path: String,
    /// Its category.
    pub category: DataCategory,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256, lowercase hex.
    pub sha256: String,
}

impl ManifestRequest {
    pub(crate) fn from_facts(facts: &RequestFacts) -> ManifestRequest {
        ManifestRequest {
            number: facts.number.to_string(),
            process: facts.process,
            agency: facts.agency.clone(),
            case_reference: facts.case_reference.clone(),
            categories: facts.categories.clone(),
            targets: facts.targets.clone(),
            date_range: facts.date_range,
            decided_by: facts.decided_by.clone(),
            approved_by: facts.approved_by.clone(),
        }
    }
}

/// One `sha256sum` line.
pub(crate) fn sha256sum_line(digest: &Digest, path: &str) -> String {
    format!("{}  {path}\n", hex::encode(digest))
}

/// `MANIFEST.sha256` for the given records and the bytes of `manifest.json`.
pub(crate) fn sha256sums(files: &[ManifestFile], manifest_json_sha256: &Digest) -> String {
    let mut out = String::with_capacity(files.len() * 100 + 100);
    for f in files {
        out.push_str(&f.sha256);
        out.push_str("  ");
        out.push_str(&f.path);
        out.push('\n');
    }
    out.push_str(&sha256sum_line(manifest_json_sha256, layout::MANIFEST_JSON));
    out
}

/// Parses `MANIFEST.sha256` as written here: the listed paths and digests, in order. The
/// reason names the line at fault.
pub(crate) fn parse_sha256sums(text: &str) -> Result<Vec<(String, Digest)>, String> {
    let mut out = Vec::new();
    for (n, line) in text.split_terminator('\n').enumerate() {
        let bad = |what: &str| Err(format!("line {}: {what}", n + 1));
        let Some((hex_digest, path)) = line.split_once("  ") else {
            return bad("not '<sha256>  <path>'");
        };
        if hex_digest.len() != 64
            || hex_digest
                .bytes()
                .any(|b| !matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return bad("the digest is not 64 lowercase hex digits");
        }
        let mut digest = [0u8; 32];
        if hex::decode_to_slice(hex_digest, &mut digest).is_err() {
            return bad("the digest is not hex");
        }
        if crate::path::check(path).is_err() {
            return bad("the path is not a package path");
        }
        out.push((path.to_string(), digest));
    }
    if !text.is_empty() && !text.ends_with('\n') {
        return Err("the last line has no newline".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256sum_format_round_trips() {
        let files = vec![ManifestFile {
            path: "records/content/a b.jpg".into(),
            category: DataCategory::Content,
            size: 3,
            sha256: hex::encode([1u8; 32]),
        }];
        let text = sha256sums(&files, &[2u8; 32]);
        assert_eq!(
            text,
            format!(
                "{}  records/content/a b.jpg\n{}  manifest.json\n",
                hex::encode([1u8; 32]),
                hex::encode([2u8; 32])
            )
        );
        let parsed = parse_sha256sums(&text).unwrap();
        assert_eq!(parsed[0], ("records/content/a b.jpg".into(), [1u8; 32]));
        assert_eq!(parsed[1], ("manifest.json".into(), [2u8; 32]));
    }

    #[test]
    fn malformed_lines_are_named() {
        let good = format!("{}  a\n", hex::encode([1u8; 32]));
        for (text, line) in [
            (format!("{good}{} a\n", hex::encode([1u8; 32])), 2),
            (format!("{}  a\n", hex::encode([1u8; 31])), 1),
            (format!("{good}{}  ../a\n", hex::encode([1u8; 32])), 2),
            (
                format!("{}  a\n", hex::encode([0xab; 32])).to_uppercase(),
                1,
            ),
        ] {
            let err = parse_sha256sums(&text).unwrap_err();
            assert!(err.starts_with(&format!("line {line}:")), "{err}");
        }
        assert!(parse_sha256sums(good.trim_end()).is_err());
    }
}

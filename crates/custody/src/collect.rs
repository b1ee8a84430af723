//! Collection: the records of the accounts a demand names, per category and date range, from
//! the data source or from a legal hold's snapshot, and the files they become. Whatever their
//! origin, the same records give the same files with the same bytes:
//!
//! ```text
//! <account>/subscriber.json      the subscriber record        (+ subscriber.csv, addresses.csv,
//!                                                                payment_methods.csv, services.csv)
//! <account>/transactional.json   orders, devices, sign-ins    (+ orders.csv, order_items.csv,
//!                                                                devices.csv, sign_ins.csv)
//! <account>/files.csv            the listing of stored files
//! <account>/files/<path>         each file, as the customer sees it in the account
//! ```
//!
//! (under `records/<category>/` in a package).

use std::io;

use bytes::Bytes;
use custodian_core::request::DateRange;
use custodian_core::{DataCategory, Target};
use custodian_sources::records::content_table;
use custodian_sources::{
    AccountId, ContentFile, DataSource, SourceError, SubscriberRecord, TransactionalRecords,
};
use custodian_store::Blobs;
use futures::TryStreamExt;
use serde::Serialize;
use tokio::io::AsyncRead;
use tokio_util::io::StreamReader;

use crate::{CustodyError, CustodyResult};

/// Where a file's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Body {
    /// Made here (JSON, CSV): small.
    Bytes(Bytes),
    /// A stored file, read from the source as a stream.
    SourceFile { account: AccountId, file_id: String },
    /// A file of a hold's snapshot, by its object key and digest.
    Held { key: String, sha256: String },
}

/// One file of a collection.
#[derive(Debug, Clone)]
pub(crate) struct Piece {
    pub category: DataCategory,
    /// Below the category: `<account>/...`.
    pub path: String,
    pub size: u64,
    pub body: Body,
}

/// Where a stored file comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FileOrigin {
    Source,
    Held { key: String, sha256: String },
}

/// One account's records in the categories collected.
#[derive(Debug, Clone)]
pub(crate) struct AccountRecords {
    pub account: AccountId,
    pub subscriber: Option<SubscriberRecord>,
    pub transactional: Option<TransactionalRecords>,
    pub files: Option<Vec<(ContentFile, FileOrigin)>>,
}

/// A record as the files hold it: indented JSON with a final newline.
pub(crate) fn json_bytes<T: Serialize>(value: &T) -> CustodyResult<Bytes> {
    let mut v = serde_json::to_vec_pretty(value)
        .map_err(|e| CustodyError::Conflict(format!("a record cannot be written: {e}")))?;
    v.push(b'\n');
    Ok(Bytes::from(v))
}

fn bytes_piece(category: DataCategory, path: String, bytes: Bytes) -> Piece {
    Piece {
        category,
        path,
        size: bytes.len() as u64,
        body: Body::Bytes(bytes),
    }
}

impl AccountRecords {
    pub fn new(account: AccountId) -> AccountRecords {
        AccountRecords {
            account,
            subscriber: None,
            transactional: None,
            files: None,
        }
    }

    /// The files these records become, in a stable order.
    pub fn pieces(&self) -> CustodyResult<Vec<Piece>> {
        let a = self.account.as_str();
        let mut out = Vec::new();
        if let Some(s) = &self.subscriber {
            let c = DataCategory::Subscriber;
            out.push(bytes_piece(
                c,
                format!("{a}/subscriber.json"),
                json_bytes(s)?,
            ));
            for t in s.tables() {
                out.push(bytes_piece(
                    c,
                    format!("{a}/{}", t.file_name()),
                    Bytes::from(t.to_csv()),
                ));
            }
        }
        if let Some(t) = &self.transactional {
            let c = DataCategory::Transactional;
            out.push(bytes_piece(
                c,
                format!("{a}/transactional.json"),
                json_bytes(t)?,
            ));
            for table in t.tables() {
                out.push(bytes_piece(
                    c,
                    format!("{a}/{}", table.file_name()),
                    Bytes::from(table.to_csv()),
                ));
            }
        }
        if let Some(files) = &self.files {
            let c = DataCategory::Content;
            let listing: Vec<ContentFile> = files.iter().map(|(f, _)| f.clone()).collect();
            out.push(bytes_piece(
                c,
                format!("{a}/files.csv"),
                Bytes::from(content_table(&self.account, &listing).to_csv()),
            ));
            for (f, origin) in files {
                out.push(Piece {
                    category: c,
                    path: format!("{a}/files/{}", f.path),
                    size: f.size,
                    body: match origin {
                        FileOrigin::Source => Body::SourceFile {
                            account: self.account.clone(),
                            file_id: f.id.clone(),
                        },
                        FileOrigin::Held { key, sha256 } => Body::Held {
                            key: key.clone(),
                            sha256: sha256.clone(),
                        },
                    },
                });
            }
        }
        Ok(out)
    }
}

/// The accounts the targets name at the source, each once, in order of first mention, with the
/// targets that named it. A kind the source cannot search by is noted, not fatal: the other
/// targets are still answered.
pub(crate) async fn find_accounts(
    source: &dyn DataSource,
    targets: &[Target],
    notes: &mut Vec<String>,
) -> CustodyResult<Vec<(AccountId, Vec<Target>)>> {
    let mut out: Vec<(AccountId, Vec<Target>)> = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        let found = match source.find_accounts(t).await {
            Ok(f) => f,
            Err(SourceError::Unsupported { kind, .. }) => {
                notes.push(format!(
                    "targets[{i}] ({kind}): the source cannot find accounts by this kind of \
                     identifier"
                ));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if found.is_empty() {
            notes.push(format!(
                "targets[{i}] ({}): no account at the source",
                t.kind
            ));
        }
        for account in found {
            match out.iter_mut().find(|(a, _)| *a == account) {
                Some((_, named)) => named.push(t.clone()),
                None => out.push((account, vec![t.clone()])),
            }
        }
    }
    Ok(out)
}

/// Whether records kept for `held` can answer a demand for `wanted` (None: the whole history).
pub(crate) fn covers(held: Option<DateRange>, wanted: Option<DateRange>) -> bool {
    match (held, wanted) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(h), Some(w)) => h.from <= w.from && w.to <= h.to,
    }
}

/// A reader over a piece's bytes.
pub(crate) async fn open(
    body: &Body,
    source: Option<&dyn DataSource>,
    blobs: &Blobs,
) -> CustodyResult<Box<dyn AsyncRead + Unpin + Send>> {
    Ok(match body {
        Body::Bytes(b) => Box::new(io::Cursor::new(b.clone())),
        Body::SourceFile { account, file_id } => {
            let source = source.ok_or_else(|| {
                CustodyError::Unavailable("no source of customer data is configured".into())
            })?;
            let stream = source
                .open_file(account, file_id)
                .await?
                .map_err(io::Error::other);
            Box::new(StreamReader::new(stream))
        }
        Body::Held { key, .. } => {
            let read = blobs.open_key(key).await?;
            Box::new(StreamReader::new(read.stream))
        }
    })
}

/// The whole of a small held object (a record's JSON), checked against its digest.
pub(crate) async fn read_held(blobs: &Blobs, key: &str, sha256: &str) -> CustodyResult<Bytes> {
    let read = blobs.open_key(key).await?;
    let chunks: Vec<Bytes> = read
        .stream
        .try_collect()
        .await
        .map_err(|e| CustodyError::Store(custodian_store::StoreError::Blob(e.to_string())))?;
    let bytes = Bytes::from(chunks.concat());
    if custodian_store::sha256_hex(&bytes) != sha256 {
        return Err(CustodyError::Store(custodian_store::StoreError::Corrupt(
            format!("held object {key} does not match its digest"),
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(from: &str, to: &str) -> Option<DateRange> {
        Some(DateRange {
            from: from.parse().unwrap(),
            to: to.parse().unwrap(),
        })
    }

    #[test]
    fn a_hold_answers_only_a_range_it_covers() {
        assert!(covers(None, None));
        assert!(covers(None, range("2025-01-01", "2025-02-01")));
        assert!(!covers(range("2025-01-01", "2025-12-31"), None));
        assert!(covers(
            range("2025-01-01", "2025-12-31"),
            range("2025-03-01", "2025-03-31")
        ));
        assert!(!covers(
            range("2025-02-01", "2025-12-31"),
            range("2025-01-15", "2025-03-31")
        ));
    }
}

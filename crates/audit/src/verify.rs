//! Re-verification of a stored audit log.
//!
//! Three kinds of tampering are caught, each reported at the first entry
//! where it shows:
//!
//! - an entry edited without updating its stored leaf hash;
//! - an entry deleted, inserted or moved (its `idx` is out of sequence);
//! - an entry edited together with its stored leaf hash, or entries
//!   removed from the end, which only a signed checkpoint can reveal: the
//!   recomputed root at the checkpoint's size differs, or the log is
//!   shorter than the checkpoint.
//!
//! Entries after the newest checkpoint are protected only by their leaf
//! hashes, which whoever can write the database can recompute; sign
//! checkpoints often.

use crate::checkpoint::Checkpoint;
use crate::entry::AuditEntry;
use crate::merkle::{Hash, TreeBuilder};

/// What was wrong with the log, naming the first entry concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Tampered {
    /// The stored leaf hash differs from the hash of the entry's fields.
    #[error("entry {idx}: leaf hash does not match the entry's contents")]
    LeafHash {
        /// The entry's index.
        idx: u64,
    },
    /// An entry is missing: the next index is larger than expected.
    #[error("entry {expected}: index gap: expected {expected}, found {found}")]
    IndexGap {
        /// The index the next entry should have had.
        expected: u64,
        /// The index it had.
        found: u64,
    },
    /// The next index is smaller than expected: a duplicate or a reordering.
    #[error("entry {expected}: index out of sequence: expected {expected}, found {found}")]
    IndexOutOfSequence {
        /// The index the next entry should have had.
        expected: u64,
        /// The index it had.
        found: u64,
    },
    /// The recomputed root differs from a signed checkpoint: an entry in
    /// `from..size` was rewritten together with its stored leaf hash.
    #[error(
        "entries {from}..{size}: the tree root at size {size} does not match the signed \
         checkpoint, so an entry in that range was rewritten along with its stored leaf hash"
    )]
    CheckpointMismatch {
        /// The size of the newest checkpoint that still matched (0 if none),
        /// the first entry that may have been rewritten.
        from: u64,
        /// The size of the checkpoint that does not match.
        size: u64,
    },
    /// A signed checkpoint covers more entries than the log holds.
    #[error(
        "entry {log_size}: a signed checkpoint covers {checkpoint_size} entries but the log \
         ends after {log_size}, so entries were removed from its end"
    )]
    Truncated {
        /// Number of entries in the log.
        log_size: u64,
        /// Size of the largest checkpoint.
        checkpoint_size: u64,
    },
}

impl Tampered {
    /// The index of the first entry that is wrong, missing or possibly
    /// rewritten.
    pub fn first_bad_idx(&self) -> u64 {
        match *self {
            Tampered::LeafHash { idx } => idx,
            Tampered::IndexGap { expected, .. } => expected,
            Tampered::IndexOutOfSequence { expected, .. } => expected,
            Tampered::CheckpointMismatch { from, .. } => from,
            Tampered::Truncated { log_size, .. } => log_size,
        }
    }
}

/// The result of verifying a whole log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedLog {
    /// Number of entries.
    pub size: u64,
    /// RFC 6962 root over all entries; sign it as the next checkpoint.
    pub root: Hash,
    /// Size of the largest checkpoint that was checked (0 if none): entries
    /// from here on are not yet covered by a signature.
    pub signed_size: u64,
}

/// Verifies entries pushed one at a time, in `idx` order, in O(log n)
/// memory; suited to an async database cursor, where an iterator won't do.
///
/// Stop at the first error: the verifier's state is meaningless after it.
#[derive(Debug, Clone)]
pub struct LogVerifier {
    tree: TreeBuilder,
    /// Checkpoints not yet reached, largest size first.
    pending: Vec<(u64, Hash)>,
    signed_size: u64,
}

impl LogVerifier {
    /// A verifier that also checks the recomputed root against each
    /// checkpoint when the stream reaches its size.
    ///
    /// The checkpoints' signatures must already have been verified (see
    /// [`Checkpoint::verify_note`]); their origins are not looked at.
    pub fn new(checkpoints: &[Checkpoint]) -> Self {
        let mut pending: Vec<(u64, Hash)> = checkpoints.iter().map(|c| (c.size, c.root)).collect();
        pending.sort_by_key(|&(size, _)| std::cmp::Reverse(size));
        LogVerifier {
            tree: TreeBuilder::new(),
            pending,
            signed_size: 0,
        }
    }

    /// Number of entries verified so far.
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// Checks the next entry against its stored leaf hash (given as bytes,
    /// so a stored value of the wrong length is reported like any other
    /// mismatch) and against any checkpoint at the new size.
    pub fn push(&mut self, entry: &AuditEntry, stored_leaf_hash: &[u8]) -> Result<(), Tampered> {
        // A checkpoint of size 0 is due before the first entry.
        self.check_due()?;
        let expected = self.tree.size();
        if entry.idx > expected {
            return Err(Tampered::IndexGap {
                expected,
                found: entry.idx,
            });
        }
        if entry.idx < expected {
            return Err(Tampered::IndexOutOfSequence {
                expected,
                found: entry.idx,
            });
        }
        let leaf = entry.leaf_hash();
        if stored_leaf_hash != leaf.as_slice() {
            return Err(Tampered::LeafHash { idx: entry.idx });
        }
        self.tree.push(leaf);
        self.check_due()
    }

    /// Ends the stream: fails if a checkpoint is larger than the log.
    pub fn finish(mut self) -> Result<VerifiedLog, Tampered> {
        self.check_due()?;
        if let Some(&(checkpoint_size, _)) = self.pending.first() {
            return Err(Tampered::Truncated {
                log_size: self.tree.size(),
                checkpoint_size,
            });
        }
        Ok(VerifiedLog {
            size: self.tree.size(),
            root: self.tree.root(),
            signed_size: self.signed_size,
        })
    }

    fn check_due(&mut self) -> Result<(), Tampered> {
        let size = self.tree.size();
        while let Some(&(due, root)) = self.pending.last() {
            if due != size {
                // Sizes below the current one were checked on the way, since
                // this runs at every size; larger ones are not due yet.
                break;
            }
            self.pending.pop();
            if root != self.tree.root() {
                return Err(Tampered::CheckpointMismatch {
                    from: self.signed_size,
                    size,
                });
            }
            self.signed_size = size;
        }
        Ok(())
    }
}

/// Verifies a whole log given as (entry, stored leaf hash) pairs in `idx`
/// order, against the given signature-verified checkpoints (possibly none).
///
/// Returns the size and root on success, or the first problem found.
pub fn verify_entries<I, H>(entries: I, checkpoints: &[Checkpoint]) -> Result<VerifiedLog, Tampered>
where
    I: IntoIterator<Item = (AuditEntry, H)>,
    H: AsRef<[u8]>,
{
    let mut verifier = LogVerifier::new(checkpoints);
    for (entry, stored) in entries {
        verifier.push(&entry, stored.as_ref())?;
    }
    verifier.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle;
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    fn entries(n: u64) -> Vec<(AuditEntry, Hash)> {
        let start = Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap();
        (0..n)
            .map(|idx| {
                let e = AuditEntry {
                    idx,
                    actor: format!("user{}", idx % 3),
                    action: "document.read".into(),
                    object: format!("REQ-{idx}"),
                    at: start + chrono::Duration::microseconds(idx as i64 * 1_500_001),
                    details: json!({"n": idx, "note": "ok"}),
                };
                let h = e.leaf_hash();
                (e, h)
            })
            .collect()
    }

    fn checkpoint(log: &[(AuditEntry, Hash)], size: usize) -> Checkpoint {
        let leaves: Vec<Hash> = log[..size].iter().map(|(_, h)| *h).collect();
        Checkpoint {
            origin: "test.example/log".into(),
            size: size as u64,
            root: merkle::root(&leaves),
        }
    }

    #[test]
    fn an_intact_log_verifies() {
        let log = entries(50);
        let leaves: Vec<Hash> = log.iter().map(|(_, h)| *h).collect();
        let cps = [
            checkpoint(&log, 0),
            checkpoint(&log, 17),
            checkpoint(&log, 50),
        ];
        let v = verify_entries(log.clone(), &cps).unwrap();
        assert_eq!(
            v,
            VerifiedLog {
                size: 50,
                root: merkle::root(&leaves),
                signed_size: 50
            }
        );
        let v = verify_entries(log, &cps[..2]).unwrap();
        assert_eq!(v.signed_size, 17);
        let empty = verify_entries(Vec::<(AuditEntry, Hash)>::new(), &[]).unwrap();
        assert_eq!(empty.root, merkle::EMPTY_ROOT);
        assert_eq!(empty.size, 0);
    }

    #[test]
    fn a_changed_byte_of_details_is_named() {
        let mut log = entries(20);
        log[13].0.details = json!({"n": 13, "note": "oK"});
        let err = verify_entries(log, &[]).unwrap_err();
        assert_eq!(err, Tampered::LeafHash { idx: 13 });
        assert_eq!(
            err.to_string(),
            "entry 13: leaf hash does not match the entry's contents"
        );
        assert_eq!(err.first_bad_idx(), 13);
    }

    #[test]
    fn a_changed_stored_hash_is_named() {
        let mut log = entries(20);
        log[4].1[0] ^= 1;
        assert_eq!(
            verify_entries(log.clone(), &[]),
            Err(Tampered::LeafHash { idx: 4 })
        );
        // A stored hash of the wrong length is a mismatch, not a panic.
        let pairs = log.into_iter().map(|(e, h)| (e, h[..31].to_vec()));
        assert_eq!(
            verify_entries(pairs, &[]),
            Err(Tampered::LeafHash { idx: 0 })
        );
    }

    #[test]
    fn an_index_gap_is_named() {
        let mut log = entries(10);
        log.remove(5);
        log.remove(5);
        let err = verify_entries(log, &[]).unwrap_err();
        assert_eq!(
            err,
            Tampered::IndexGap {
                expected: 5,
                found: 7
            }
        );
        assert_eq!(err.to_string(), "entry 5: index gap: expected 5, found 7");
        let mut log = entries(10);
        log.remove(0);
        assert_eq!(verify_entries(log, &[]).unwrap_err().first_bad_idx(), 0);
    }

    #[test]
    fn a_duplicated_or_reordered_entry_is_named() {
        let mut log = entries(10);
        log.swap(3, 4);
        assert_eq!(
            verify_entries(log, &[]),
            Err(Tampered::IndexGap {
                expected: 3,
                found: 4
            })
        );
        let mut log = entries(10);
        let dup = log[6].clone();
        log.insert(7, dup);
        assert_eq!(
            verify_entries(log, &[]),
            Err(Tampered::IndexOutOfSequence {
                expected: 7,
                found: 6
            })
        );
    }

    #[test]
    fn a_consistent_rewrite_is_caught_by_a_checkpoint() {
        let log = entries(30);
        let cps = [checkpoint(&log, 10), checkpoint(&log, 25)];
        let mut forged = log.clone();
        forged[12].0.actor = "mallory".into();
        forged[12].1 = forged[12].0.leaf_hash();
        // Without checkpoints the rewrite is invisible.
        assert!(verify_entries(forged.clone(), &[]).is_ok());
        let err = verify_entries(forged.clone(), &cps).unwrap_err();
        assert_eq!(err, Tampered::CheckpointMismatch { from: 10, size: 25 });
        assert_eq!(err.first_bad_idx(), 10);
        // A rewrite after the newest checkpoint is not covered yet.
        let mut late = log.clone();
        late[27].0.actor = "mallory".into();
        late[27].1 = late[27].0.leaf_hash();
        assert_eq!(verify_entries(late, &cps).unwrap().signed_size, 25);
    }

    #[test]
    fn removing_entries_from_the_end_is_caught_by_a_checkpoint() {
        let log = entries(30);
        let cps = [checkpoint(&log, 30)];
        let err = verify_entries(log[..28].to_vec(), &cps).unwrap_err();
        assert_eq!(
            err,
            Tampered::Truncated {
                log_size: 28,
                checkpoint_size: 30
            }
        );
        assert_eq!(err.first_bad_idx(), 28);
    }

    #[test]
    fn a_wrong_empty_checkpoint_is_caught() {
        let log = entries(3);
        let bad = Checkpoint {
            origin: "x".into(),
            size: 0,
            root: [0; 32],
        };
        assert_eq!(
            verify_entries(log, std::slice::from_ref(&bad)),
            Err(Tampered::CheckpointMismatch { from: 0, size: 0 })
        );
        assert_eq!(
            verify_entries(Vec::<(AuditEntry, Hash)>::new(), &[bad]),
            Err(Tampered::CheckpointMismatch { from: 0, size: 0 })
        );
    }

    #[test]
    fn push_api_streams() {
        let log = entries(100);
        let mut v = LogVerifier::new(&[checkpoint(&log, 64)]);
        for (e, h) in &log {
            v.push(e, h).unwrap();
        }
        assert_eq!(v.size(), 100);
        let done = v.finish().unwrap();
        assert_eq!(done.signed_size, 64);
        assert_eq!(done.size, 100);
    }
}

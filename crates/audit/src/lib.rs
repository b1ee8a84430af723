//! Custodian's append-only audit log: pure logic, no SQL.
//!
//! Every state-changing action and every read of a document or customer data
//! appends an [`AuditEntry`] in the same database transaction as the action.
//! The entries are the leaves of an RFC 6962 (Certificate Transparency)
//! Merkle tree, so that:
//!
//! - the storage layer keeps each entry's [`AuditEntry::leaf_hash`] next to
//!   it, and [`verify_entries`] (or [`LogVerifier`] for async cursors)
//!   recomputes them, naming the first entry that was edited, removed or
//!   reordered;
//! - the log periodically signs a [`Checkpoint`] (tree size and root) with
//!   an Ed25519 key from [`load_or_create_signing_key`]; a checkpoint
//!   catches a rewrite that also recomputed the stored leaf hashes, and once
//!   published it binds the log to its history;
//! - anyone holding a checkpoint can be shown, with [`inclusion_proof`] and
//!   [`consistency_proof`], that an entry is in the log and that a later log
//!   extends the earlier one, without seeing the other entries.
//!
//! Formats follow public specifications so that an auditor can check them
//! with independent tools: RFC 6962 / RFC 9162 for the tree, C2SP
//! `tlog-checkpoint` and `signed-note` for checkpoints and public keys, and
//! RFC 8785 (JSON Canonicalization Scheme) for the entry encoding, described
//! on [`AuditEntry`].
//!
//! ```
//! use custodian_audit::{verify_entries, AuditEntry, Checkpoint, SigningKey, TreeBuilder};
//!
//! // Appending: the store saves the entry and its leaf hash in one transaction.
//! let entry = AuditEntry {
//!     idx: 0,
//!     actor: "alice".into(),
//!     action: "document.read".into(),
//!     object: "REQ-2025-0001".into(),
//!     at: AuditEntry::truncate_time(chrono::Utc::now()),
//!     details: serde_json::json!({"document": 3}),
//! };
//! let leaf = entry.leaf_hash();
//! let mut tree = TreeBuilder::new();
//! tree.push(leaf);
//!
//! // Signing a checkpoint of the tree as it stands.
//! let key = SigningKey::from_bytes(&[7; 32]);
//! let checkpoint = Checkpoint {
//!     origin: "custodian.example.org/audit".into(),
//!     size: tree.size(),
//!     root: tree.root(),
//! };
//! let note = checkpoint.sign(&key)?;
//!
//! // Auditing: check the note, then every stored entry against it.
//! let signed = Checkpoint::verify_note(&note, &key.verifying_key())?;
//! let log = verify_entries([(entry, leaf)], &[signed])?;
//! assert_eq!((log.size, log.signed_size), (1, 1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo)
)]

mod canonical;
pub mod checkpoint;
pub mod entry;
pub mod keyfile;
pub mod merkle;
pub mod verify;

/// The canonical JSON writers of the entry encoding, for records that are hashed the same
/// way outside an entry (the rows of an import batch, see `custodian-report`).
pub use canonical::{write_string as write_canonical_string, write_value as write_canonical_value};
pub use checkpoint::{key_id, parse_public_key_text, public_key_text, Checkpoint, NoteError};
pub use entry::AuditEntry;
pub use keyfile::{load_or_create_signing_key, load_signing_key, KeyFileError};
pub use merkle::{
    consistency_proof, inclusion_proof, node_hash, root, verify_consistency, verify_inclusion,
    Hash, ProofError, TreeBuilder, EMPTY_ROOT,
};
pub use verify::{verify_entries, LogVerifier, Tampered, VerifiedLog};

/// Re-exported so callers name the same key types as this crate.
pub use ed25519_dalek::{SigningKey, VerifyingKey};

//! The production package (issue 5): what a provider hands an agency for a decided request.
//!
//! A [`PackageBuilder`] takes the request's facts, then the records decided for disclosure one
//! at a time as byte streams, and writes one encrypted archive to any [`tokio::io::AsyncWrite`]
//! (a file, an object-store multipart upload) in a single pass. Every record is hashed
//! (SHA-256) as it streams through, so memory stays flat whatever the size of the production:
//! it holds a few buffers and one manifest line per file, never a record.
//!
//! ```text
//! records/<category>/...      the records, streamed first
//! MANIFEST.sha256             `sha256sum -c` format: every record and manifest.json
//! manifest.json               the request, every file with size and SHA-256, package metadata
//! certificate.pdf             FRE 902(11) declaration stating MANIFEST.sha256's SHA-256
//! audit/inclusion-proof.json  the production event's audit entry and its Merkle audit path
//! audit/checkpoint.txt        the signed tree head the path leads to (C2SP signed note)
//! audit/public-key.txt        the audit log's public key, for convenience
//! ```
//!
//! The manifest and certificate can only be written once every record has been hashed, so they
//! come after the records; the audit entry records the manifest's and certificate's digests,
//! so the proof comes last. Building is therefore three calls: [`PackageBuilder::add_record`]
//! per record, [`PackageBuilder::seal`] (manifest and certificate; returns the digests for the
//! audit entry, see [`SealedPackage::audit_details`]) and [`SealedPackage::finish`] with the
//! proof and checkpoint of that entry. `docs/production-package.md` describes the format.
//!
//! Protection is per agency ([`Protection`]): an age file (X25519) around a tar archive, or a
//! WinZip AES-256 (AE-2) ZIP whose passphrase travels separately. [`verify()`] opens either (or
//! a plain tar, or an extracted directory), and checks the chain from the signed checkpoint to
//! every byte, naming the first discrepancy.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo)
)]

mod builder;
mod certificate;
mod container;
mod error;
mod facts;
mod manifest;
mod path;
mod pipeline;
mod proof;
mod protect;
mod tar_format;
pub mod verify;
mod winzip_aes;
mod zip_format;

pub use builder::{Finished, Options, PackageBuilder, SealedPackage};
pub use certificate::stated_manifest_digest;
pub use error::PackageError;
pub use facts::{Record, RequestFacts, SignOff};
pub use manifest::{Manifest, ManifestFile, ManifestRequest, PackageMeta};
pub use proof::{AuditCheck, AuditMaterial, InclusionProof, PRODUCTION_EVENT_ACTION};
pub use protect::{AgeRecipient, Passphrase, Protection, ProtectionKind, Unlock};
pub use verify::{verify, Discrepancy, PackageForm, Verified, VerifyError, VerifyOptions};

/// The names of the package's own files, at the root of the archive.
pub mod layout {
    /// Every record lives under this directory, then under its category.
    pub const RECORDS_DIR: &str = "records";
    /// The manifest in `sha256sum` format.
    pub const SHA256SUMS: &str = "MANIFEST.sha256";
    /// The manifest as JSON.
    pub const MANIFEST_JSON: &str = "manifest.json";
    /// The business-records certificate.
    pub const CERTIFICATE: &str = "certificate.pdf";
    /// The production event's inclusion proof.
    pub const INCLUSION_PROOF: &str = "audit/inclusion-proof.json";
    /// The signed checkpoint the proof leads to.
    pub const CHECKPOINT: &str = "audit/checkpoint.txt";
    /// The audit log's public key.
    pub const PUBLIC_KEY: &str = "audit/public-key.txt";
    /// The format named in manifest.json.
    pub const FORMAT: &str = "custodian-production/1";
}

/// A SHA-256 digest.
pub type Digest = [u8; 32];

//! The audit material in a package: the production event's audit entry with its RFC 6962
//! audit path (`audit/inclusion-proof.json`), the signed checkpoint the path leads to
//! (`audit/checkpoint.txt`, a C2SP signed note) and the log's public key
//! (`audit/public-key.txt`, C2SP vkey text).
//!
//! The entry's details record the SHA-256 of `MANIFEST.sha256` and of `certificate.pdf`, so a
//! checkpoint signed by the provider's audit key vouches, through the path, for the manifest
//! and so for every record. Hashes are standard base64 as in the C2SP formats; together the
//! index, the path and the checkpoint are what a C2SP `tlog-proof` carries.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use custodian_audit::{inclusion_proof, verify_inclusion, AuditEntry, Checkpoint, Hash};
use custodian_audit::{ProofError, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::verify::Discrepancy;
use crate::Digest;

/// The audit action of the production event whose proof a package carries.
pub const PRODUCTION_EVENT_ACTION: &str = "production.packaged";

/// `audit/inclusion-proof.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    /// The production event, as the audit log holds it (ids and digests, no customer data).
    pub entry: AuditEntry,
    /// The entry's 0-based index in the log (equal to `entry.idx`).
    pub index: u64,
    /// The size of the tree the path leads through; the checkpoint's size.
    pub tree_size: u64,
    /// `SHA-256(0x00 || canonical entry)`, base64.
    pub leaf_hash: String,
    /// The RFC 6962 audit path from the leaf's sibling up to the root's child, base64.
    pub audit_path: Vec<String>,
}

impl InclusionProof {
    /// The proof of `entry` in the tree made of `leaves` (every leaf hash of the log, up to the
    /// size of the checkpoint it is to be checked against).
    pub fn new(entry: AuditEntry, leaves: &[Hash]) -> Result<InclusionProof, ProofError> {
        let path = inclusion_proof(leaves, entry.idx)?;
        Ok(InclusionProof {
            index: entry.idx,
            tree_size: leaves.len() as u64,
            leaf_hash: B64.encode(entry.leaf_hash()),
            audit_path: path.iter().map(|h| B64.encode(h)).collect(),
            entry,
        })
    }
}

/// What [`crate::SealedPackage::finish`] needs from the audit log.
#[derive(Debug, Clone)]
pub struct AuditMaterial {
    /// The production event's proof.
    pub proof: InclusionProof,
    /// A checkpoint note that covers the event, signed with the audit key.
    pub checkpoint_note: String,
    /// The audit log's public key (`custodian audit public-key`).
    pub public_key_text: String,
}

/// The details the production event's audit entry must carry.
pub(crate) fn event_details(
    manifest: &Digest,
    certificate: &Digest,
    files: u64,
    bytes: u64,
) -> serde_json::Value {
    serde_json::json!({
        "manifest_sha256": hex::encode(manifest),
        "certificate_sha256": hex::encode(certificate),
        "files": files,
        "bytes": bytes,
    })
}

/// What a checked proof established.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditCheck {
    /// The event's index in the log.
    pub index: u64,
    /// The checkpoint's origin and size.
    pub origin: String,
    /// The number of entries the checkpoint covers.
    pub tree_size: u64,
    /// Who recorded the event.
    pub actor: String,
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Checks the chain checkpoint -> path -> entry -> digests, in that order, and names the
/// first link that does not hold.
pub(crate) fn check(
    proof_json: &[u8],
    checkpoint_note: &str,
    key: &VerifyingKey,
    manifest: &Digest,
    certificate: &Digest,
) -> Result<AuditCheck, Discrepancy> {
    use Discrepancy::*;
    let checkpoint = Checkpoint::verify_note(checkpoint_note, key)
        .map_err(|e| CheckpointNotSigned(e.to_string()))?;
    let proof: InclusionProof = serde_json::from_slice(proof_json)
        .map_err(|e| ProofMalformed(format!("not an inclusion proof: {e}")))?;
    let decode = |text: &str| -> Result<Hash, Discrepancy> {
        B64.decode(text)
            .ok()
            .and_then(|b| <Hash>::try_from(b.as_slice()).ok())
            .ok_or_else(|| ProofMalformed(format!("'{text}' is not a base64 SHA-256 hash")))
    };
    let path = proof
        .audit_path
        .iter()
        .map(|h| decode(h))
        .collect::<Result<Vec<Hash>, _>>()?;
    let leaf = decode(&proof.leaf_hash)?;
    if proof.index != proof.entry.idx {
        return Err(ProofMalformed(format!(
            "the proof is for index {} but the entry is at {}",
            proof.index, proof.entry.idx
        )));
    }
    if proof.tree_size != checkpoint.size {
        return Err(ProofNotForCheckpoint(format!(
            "the proof is for a tree of {} entries, the checkpoint covers {}",
            proof.tree_size, checkpoint.size
        )));
    }
    if proof.entry.leaf_hash() != leaf {
        return Err(ProofMalformed(
            "the entry does not hash to the proof's leaf hash".into(),
        ));
    }
    if !verify_inclusion(&leaf, proof.index, checkpoint.size, &path, &checkpoint.root) {
        return Err(ProofNotForCheckpoint(
            "the audit path does not lead from the entry to the checkpoint's root".into(),
        ));
    }
    let entry = &proof.entry;
    if entry.action != PRODUCTION_EVENT_ACTION {
        return Err(EventNotForPackage(format!(
            "the entry records '{}', not '{PRODUCTION_EVENT_ACTION}'",
            entry.action
        )));
    }
    for (name, digest, file) in [
        ("manifest_sha256", manifest, crate::layout::SHA256SUMS),
        (
            "certificate_sha256",
            certificate,
            crate::layout::CERTIFICATE,
        ),
    ] {
        let Some(recorded) = entry.details.get(name).and_then(|v| v.as_str()) else {
            return Err(EventNotForPackage(format!("the entry records no '{name}'")));
        };
        let actual = hex::encode(digest);
        if recorded != actual {
            return Err(RecordedDigestDiffers {
                file: file.to_string(),
                recorded: recorded.to_string(),
                actual,
            });
        }
    }
    Ok(AuditCheck {
        index: proof.index,
        origin: checkpoint.origin,
        tree_size: checkpoint.size,
        actor: entry.actor.clone(),
        at: entry.at,
    })
}

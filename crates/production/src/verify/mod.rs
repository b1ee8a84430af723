//! Verifying a package as the agency (or a court) receives it.
//!
//! The checks run from the trust anchor down, so that the first discrepancy named is the link
//! that broke rather than a consequence of it:
//!
//! 1. the checkpoint is signed by the audit key (the one given, or else the package's own);
//! 2. the audit path leads from the production event's entry to the checkpoint's root;
//! 3. the entry records the SHA-256 of this `MANIFEST.sha256` and this `certificate.pdf`;
//! 4. the certificate states the same manifest digest;
//! 5. every file `MANIFEST.sha256` lists has that digest, and the package holds no other file
//!    besides the certificate and the audit files;
//! 6. `manifest.json` agrees with `MANIFEST.sha256` and with the files' sizes.

mod source;

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use custodian_audit::{parse_public_key_text, VerifyingKey};
use sha2::{Digest as _, Sha256};

pub use source::PackageForm;
use source::Stop;

use crate::manifest::{parse_sha256sums, Manifest};
use crate::proof::{self, AuditCheck};
use crate::{layout, path, Digest, Unlock};

/// How to verify.
#[derive(Debug, Default)]
pub struct VerifyOptions {
    /// What opens the package.
    pub unlock: Unlock,
    /// The provider's audit public key (`custodian audit public-key`), obtained independently
    /// of the package. Without it the package's own `audit/public-key.txt` is used, which shows
    /// only that the package is consistent with itself.
    pub audit_key: Option<String>,
    /// Extract the files into this directory (which must not exist, or be empty) while
    /// verifying.
    pub extract_to: Option<PathBuf>,
}

/// A verified package.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The form it was read in.
    pub form: PackageForm,
    /// Its manifest.
    pub manifest: Manifest,
    /// SHA-256 of `MANIFEST.sha256`.
    pub manifest_sha256: Digest,
    /// The production event's proof, as checked.
    pub audit: AuditCheck,
    /// Whether the audit key came from the caller (true) or from the package itself.
    pub audit_key_given: bool,
}

/// Why a package could not be checked, or what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The package file or directory cannot be read.
    #[error("cannot read the package: {0}")]
    Open(io::Error),
    /// The file is not a package in any form this reads.
    #[error("not a production package: {0}")]
    NotAPackage(String),
    /// An age package needs the agency's identity.
    #[error("{0}")]
    NeedIdentity(String),
    /// A ZIP package needs its passphrase.
    #[error("{0}")]
    NeedPassphrase(String),
    /// The identity or passphrase does not open the package.
    #[error("{0}")]
    WrongKey(String),
    /// Decryption or the archive structure failed: the bytes were altered or damaged.
    #[error("the package is damaged or was altered: {0}")]
    Damaged(String),
    /// The audit key given cannot be used.
    #[error("the audit key given is not a public key text: {0}")]
    AuditKey(String),
    /// Extracting failed.
    #[error("extracting: {0}")]
    Extract(io::Error),
    /// The package opened, and something in it does not hold.
    #[error("{0}")]
    Discrepancy(#[from] Discrepancy),
}

/// The first thing found wrong in a package that opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Discrepancy {
    /// A file the package must hold is missing.
    #[error("{0} is missing")]
    Missing(String),
    /// A file is in the package but not listed in MANIFEST.sha256.
    #[error("{0} is in the package but not listed in MANIFEST.sha256")]
    Unlisted(String),
    /// A file's digest differs from the one listed.
    #[error("{path} has been altered: its SHA-256 is {actual}, MANIFEST.sha256 lists {listed}")]
    Altered {
        /// The file.
        path: String,
        /// The digest MANIFEST.sha256 lists.
        listed: String,
        /// The file's digest.
        actual: String,
    },
    /// A file's size differs from manifest.json's.
    #[error("{path} is {actual} bytes, manifest.json says {listed}")]
    SizeDiffers {
        /// The file.
        path: String,
        /// The size manifest.json lists.
        listed: u64,
        /// The file's size.
        actual: u64,
    },
    /// Two entries have the same path (ignoring case).
    #[error("{0} appears twice")]
    Duplicate(String),
    /// An entry's path is not a safe package path.
    #[error("'{path}' is not a package path: {reason}")]
    UnsafePath {
        /// The path as stored.
        path: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// One of the package's own files is larger than any this program writes.
    #[error("{0} is larger than a package's own file can be")]
    TooLarge(String),
    /// MANIFEST.sha256 or manifest.json cannot be read.
    #[error("{file} is malformed: {reason}")]
    ManifestMalformed {
        /// The file.
        file: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// manifest.json and MANIFEST.sha256 or the files disagree.
    #[error("manifest.json disagrees: {0}")]
    ManifestsDisagree(String),
    /// A record's category was not one of the request's disclosed categories.
    #[error("{path} is filed under category '{category}', which manifest.json does not list as disclosed")]
    CategoryNotDisclosed {
        /// The record.
        path: String,
        /// Its category.
        category: String,
    },
    /// The certificate does not state a manifest digest.
    #[error("certificate.pdf does not state the SHA-256 of MANIFEST.sha256")]
    CertificateNoDigest,
    /// The certificate states another manifest digest.
    #[error("certificate.pdf certifies MANIFEST.sha256 with SHA-256 {stated}, but this MANIFEST.sha256 has {actual}")]
    CertificateMismatch {
        /// The digest the certificate states.
        stated: String,
        /// MANIFEST.sha256's digest.
        actual: String,
    },
    /// The package's public key text cannot be read.
    #[error("audit/public-key.txt is malformed: {0}")]
    PublicKeyMalformed(String),
    /// The package's public key is not the one given.
    #[error("audit/public-key.txt is not the audit key given for verification")]
    PublicKeyDiffers,
    /// The checkpoint is not signed by the audit key.
    #[error("audit/checkpoint.txt is not a checkpoint signed by the audit key: {0}")]
    CheckpointNotSigned(String),
    /// The inclusion proof cannot be read.
    #[error("audit/inclusion-proof.json is malformed: {0}")]
    ProofMalformed(String),
    /// The inclusion proof does not lead to the checkpoint.
    #[error("audit/inclusion-proof.json does not prove the entry in the checkpoint: {0}")]
    ProofNotForCheckpoint(String),
    /// The proven entry is not this package's production event.
    #[error(
        "the audit entry in audit/inclusion-proof.json is not this package's production event: {0}"
    )]
    EventNotForPackage(String),
    /// A file differs from the one the audit log recorded.
    #[error("{file} differs from the one recorded in the audit log: the log recorded SHA-256 {recorded}, the package's has {actual}")]
    RecordedDigestDiffers {
        /// The file.
        file: String,
        /// The digest in the audit entry.
        recorded: String,
        /// The file's digest.
        actual: String,
    },
}

/// The package's own files and the most this reads of each.
const OWN_FILES: &[(&str, u64)] = &[
    (layout::SHA256SUMS, 256 << 20),
    (layout::MANIFEST_JSON, 256 << 20),
    (layout::CERTIFICATE, 16 << 20),
    (layout::INCLUSION_PROOF, 1 << 20),
    (layout::CHECKPOINT, 64 << 10),
    (layout::PUBLIC_KEY, 64 << 10),
];

/// What reading the entries gathered.
#[derive(Default)]
struct Gathered {
    /// Every file's size and digest, by path.
    files: HashMap<String, (u64, Digest)>,
    /// Paths in archive order.
    order: Vec<String>,
    /// The package's own files' bytes.
    own: HashMap<&'static str, Vec<u8>>,
    taken: HashSet<String>,
}

/// Opens the package at `path` (an age file, a ZIP, a tar or a directory), checks it as the
/// module documentation describes, and names the first discrepancy.
pub fn verify(package: &Path, options: &VerifyOptions) -> Result<Verified, VerifyError> {
    let trusted_key = options
        .audit_key
        .as_deref()
        .map(parse_public_key_text)
        .transpose()
        .map_err(|e| VerifyError::AuditKey(e.to_string()))?;
    let extract = options
        .extract_to
        .as_deref()
        .map(prepare_extraction)
        .transpose()?;
    let mut gathered = Gathered::default();
    let mut visitor = |p: &str, r: &mut dyn Read| gather(&mut gathered, extract.as_deref(), p, r);
    let form = source::visit(package, &options.unlock, &mut visitor)?;
    let (manifest, manifest_sha256, audit) = check(&gathered, trusted_key.as_ref())?;
    Ok(Verified {
        form,
        manifest,
        manifest_sha256,
        audit,
        audit_key_given: trusted_key.is_some(),
    })
}

fn prepare_extraction(dir: &Path) -> Result<PathBuf, VerifyError> {
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(VerifyError::Extract)?;
        if entries.next().is_some() {
            return Err(VerifyError::Extract(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} is not empty", dir.display()),
            )));
        }
    } else {
        std::fs::create_dir_all(dir).map_err(VerifyError::Extract)?;
    }
    Ok(dir.to_path_buf())
}

/// Hashes one entry (keeping it in memory if it is one of the package's own files, writing it
/// out if extracting).
fn gather(
    g: &mut Gathered,
    extract: Option<&Path>,
    path: &str,
    reader: &mut dyn Read,
) -> Result<(), Stop> {
    if let Err(reason) = path::check(path) {
        return Err(VerifyError::from(Discrepancy::UnsafePath {
            path: path.to_string(),
            reason,
        })
        .into());
    }
    if !g.taken.insert(path::collision_key(path)) {
        return Err(VerifyError::from(Discrepancy::Duplicate(path.to_string())).into());
    }
    let own = OWN_FILES.iter().find(|(name, _)| *name == path);
    let mut out = match extract {
        Some(root) => Some(
            create_file(&root.join(path)).map_err(|e| Stop::Verdict(VerifyError::Extract(e)))?,
        ),
        None => None,
    };
    let mut kept = own.map(|_| Vec::new());
    let limit = own.map_or(u64::MAX, |(_, max)| *max);
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Stop::Read(e)),
        };
        size += n as u64;
        if size > limit {
            return Err(VerifyError::from(Discrepancy::TooLarge(path.to_string())).into());
        }
        hasher.update(&buf[..n]);
        if let Some(k) = kept.as_mut() {
            k.extend_from_slice(&buf[..n]);
        }
        if let Some(o) = out.as_mut() {
            o.write_all(&buf[..n])
                .map_err(|e| Stop::Verdict(VerifyError::Extract(e)))?;
        }
    }
    if let Some(o) = out {
        o.sync_all()
            .map_err(|e| Stop::Verdict(VerifyError::Extract(e)))?;
    }
    if let (Some((name, _)), Some(bytes)) = (own, kept) {
        g.own.insert(name, bytes);
    }
    g.files
        .insert(path.to_string(), (size, hasher.finalize().into()));
    g.order.push(path.to_string());
    Ok(())
}

fn create_file(path: &Path) -> io::Result<File> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    File::options().write(true).create_new(true).open(path)
}

fn check(
    g: &Gathered,
    trusted_key: Option<&(String, VerifyingKey)>,
) -> Result<(Manifest, Digest, AuditCheck), Discrepancy> {
    use Discrepancy::*;
    let own = |name: &'static str| g.own.get(name).ok_or_else(|| Missing(name.to_string()));
    let sums = own(layout::SHA256SUMS)?;
    let json = own(layout::MANIFEST_JSON)?;
    let certificate = own(layout::CERTIFICATE)?;
    let proof_json = own(layout::INCLUSION_PROOF)?;
    let checkpoint = own(layout::CHECKPOINT)?;
    let key_text = own(layout::PUBLIC_KEY)?;

    // 1-3: the audit chain.
    let packaged_key = std::str::from_utf8(key_text)
        .map_err(|_| PublicKeyMalformed("not UTF-8".into()))
        .and_then(|t| parse_public_key_text(t).map_err(|e| PublicKeyMalformed(e.to_string())))?;
    let key = match trusted_key {
        Some(trusted) if *trusted != packaged_key => return Err(PublicKeyDiffers),
        Some(trusted) => trusted.1,
        None => packaged_key.1,
    };
    let checkpoint =
        std::str::from_utf8(checkpoint).map_err(|_| CheckpointNotSigned("not UTF-8".into()))?;
    let manifest_sha256: Digest = Sha256::digest(sums).into();
    let certificate_sha256: Digest = Sha256::digest(certificate).into();
    let audit = proof::check(
        proof_json,
        checkpoint,
        &key,
        &manifest_sha256,
        &certificate_sha256,
    )?;

    // 4: the certificate.
    let stated = crate::stated_manifest_digest(certificate).ok_or(CertificateNoDigest)?;
    if stated != manifest_sha256 {
        return Err(CertificateMismatch {
            stated: hex::encode(stated),
            actual: hex::encode(manifest_sha256),
        });
    }

    // 5: every file against MANIFEST.sha256.
    let malformed = |file, reason| ManifestMalformed { file, reason };
    let sums_text =
        std::str::from_utf8(sums).map_err(|_| malformed(layout::SHA256SUMS, "not UTF-8".into()))?;
    let listed = parse_sha256sums(sums_text).map_err(|r| malformed(layout::SHA256SUMS, r))?;
    let mut listed_paths = HashSet::new();
    for (path, digest) in &listed {
        if !listed_paths.insert(path.as_str()) {
            return Err(malformed(
                layout::SHA256SUMS,
                format!("{path} is listed twice"),
            ));
        }
        let (_, actual) = g.files.get(path).ok_or_else(|| Missing(path.clone()))?;
        if actual != digest {
            return Err(Altered {
                path: path.clone(),
                listed: hex::encode(digest),
                actual: hex::encode(actual),
            });
        }
    }
    let unlisted_allowed = [
        layout::SHA256SUMS,
        layout::CERTIFICATE,
        layout::INCLUSION_PROOF,
        layout::CHECKPOINT,
        layout::PUBLIC_KEY,
    ];
    if let Some(extra) = g
        .order
        .iter()
        .find(|p| !listed_paths.contains(p.as_str()) && !unlisted_allowed.contains(&p.as_str()))
    {
        return Err(Unlisted(extra.clone()));
    }
    if !listed_paths.contains(layout::MANIFEST_JSON) {
        return Err(malformed(
            layout::SHA256SUMS,
            "it does not list manifest.json".into(),
        ));
    }

    // 6: manifest.json.
    let manifest: Manifest = serde_json::from_slice(json)
        .map_err(|e| malformed(layout::MANIFEST_JSON, e.to_string()))?;
    check_manifest(&manifest, &listed, g)?;
    Ok((manifest, manifest_sha256, audit))
}

fn check_manifest(
    manifest: &Manifest,
    listed: &[(String, Digest)],
    g: &Gathered,
) -> Result<(), Discrepancy> {
    use Discrepancy::*;
    if manifest.format != layout::FORMAT {
        return Err(ManifestMalformed {
            file: layout::MANIFEST_JSON,
            reason: format!("format '{}' is not {}", manifest.format, layout::FORMAT),
        });
    }
    let records: Vec<&(String, Digest)> = listed
        .iter()
        .filter(|(p, _)| p != layout::MANIFEST_JSON)
        .collect();
    if records.len() != manifest.files.len() {
        return Err(ManifestsDisagree(format!(
            "it lists {} files, MANIFEST.sha256 lists {}",
            manifest.files.len(),
            records.len()
        )));
    }
    let mut total = 0u64;
    for (file, (path, digest)) in manifest.files.iter().zip(records) {
        if &file.path != path || file.sha256 != hex::encode(digest) {
            return Err(ManifestsDisagree(format!(
                "it lists {} with SHA-256 {} where MANIFEST.sha256 lists {path} with {}",
                file.path,
                file.sha256,
                hex::encode(digest)
            )));
        }
        let prefix = format!("{}/{}/", layout::RECORDS_DIR, file.category);
        if !file.path.starts_with(&prefix) || !manifest.request.categories.contains(&file.category)
        {
            return Err(CategoryNotDisclosed {
                path: file.path.clone(),
                category: file.category.to_string(),
            });
        }
        let actual = g.files.get(path).map_or(0, |(size, _)| *size);
        if actual != file.size {
            return Err(SizeDiffers {
                path: path.clone(),
                listed: file.size,
                actual,
            });
        }
        total += file.size;
    }
    let meta = &manifest.package;
    if meta.file_count != manifest.files.len() as u64 || meta.total_bytes != total {
        return Err(ManifestsDisagree(format!(
            "it states {} files of {} bytes in all, but lists {} files of {} bytes",
            meta.file_count,
            meta.total_bytes,
            manifest.files.len(),
            total
        )));
    }
    Ok(())
}

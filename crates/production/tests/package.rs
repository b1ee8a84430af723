//! Production packages built from generated records, opened the way an agency opens them
//! (with this crate's verify, with `sha256sum -c`, and with independent tools: GNU tar, the
//! reference age implementation, 7-Zip), and tampered with in every part.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use custodian_core::DataCategory;
use custodian_production::{
    verify, AgeRecipient, Discrepancy, Options, PackageBuilder, PackageError, PackageForm,
    Passphrase, Protection, ProtectionKind, Record, Unlock, VerifyError, VerifyOptions,
};
use sha2::{Digest, Sha256};

fn age_unlock(identity: &Path) -> Unlock {
    Unlock::age_identity_file(&std::fs::read_to_string(identity).unwrap()).unwrap()
}

fn options(unlock: Unlock) -> VerifyOptions {
    VerifyOptions {
        unlock,
        ..VerifyOptions::default()
    }
}

fn discrepancy(result: Result<custodian_production::Verified, VerifyError>) -> Discrepancy {
    match result {
        Err(VerifyError::Discrepancy(d)) => d,
        other => panic!("expected a discrepancy, got {other:?}"),
    }
}

/// Builds the standard age package and extracts it (verified) into `dir/x`.
async fn extracted_age_package(dir: &Path) -> std::path::PathBuf {
    let (identity, recipient) = agency_key(dir, "agency.key");
    let pkg = dir.join("p.age");
    build_few(
        &pkg,
        Protection::Age(AgeRecipient::parse(&recipient).unwrap()),
        &mut Log::new(1),
    )
    .await;
    let x = dir.join("x");
    verify(
        &pkg,
        &VerifyOptions {
            unlock: age_unlock(&identity),
            extract_to: Some(x.clone()),
            ..VerifyOptions::default()
        },
    )
    .unwrap();
    x
}

#[tokio::test]
async fn an_age_package_verifies_and_its_manifest_checks_with_sha256sum() {
    let dir = tempfile::tempdir().unwrap();
    let (identity, recipient) = agency_key(dir.path(), "agency.key");
    let pkg = dir.path().join("LE-2026-000123.tar.age");
    let mut log = Log::new(1);
    let finished = build(
        &pkg,
        Protection::Age(AgeRecipient::parse(&recipient).unwrap()),
        &mut log,
    )
    .await;

    let on_disk = std::fs::read(&pkg).unwrap();
    assert!(on_disk.starts_with(b"age-encryption.org/v1\n"));
    assert_eq!(finished.package_bytes, on_disk.len() as u64);
    assert_eq!(
        finished.package_sha256,
        <[u8; 32]>::from(Sha256::digest(&on_disk))
    );
    let expected_files = records().len() as u64;
    let expected_bytes: u64 = records().iter().map(|(r, _)| stream_len(r)).sum();
    assert_eq!(
        (finished.file_count, finished.total_bytes),
        (expected_files, expected_bytes)
    );
    assert_eq!(finished.protection, ProtectionKind::AgeX25519);

    let x = dir.path().join("extracted");
    let verified = verify(
        &pkg,
        &VerifyOptions {
            unlock: age_unlock(&identity),
            audit_key: Some(log.public_key_text()),
            extract_to: Some(x.clone()),
        },
    )
    .unwrap();
    assert_eq!(verified.form, PackageForm::Age);
    assert!(verified.audit_key_given);
    assert_eq!(verified.manifest_sha256, finished.manifest_sha256);
    assert_eq!(verified.audit.index, 37);
    assert_eq!(verified.audit.tree_size, 43);
    let m = &verified.manifest;
    assert_eq!(m.request.number, "LE-2026-000123");
    assert_eq!(
        m.request.categories,
        vec![DataCategory::Subscriber, DataCategory::Content]
    );
    assert_eq!(m.request.targets[0].value, "jane.doe@example.com");
    assert_eq!(m.request.date_range.unwrap().to.to_string(), "2025-12-31");
    assert_eq!(m.files.len() as u64, expected_files);
    // The record of unknown size was spooled and measured.
    let mbox = m
        .files
        .iter()
        .find(|f| f.path.ends_with("export.mbox"))
        .unwrap();
    assert_eq!(mbox.size, (3 << 20) + 5);
    // Every record extracted as generated.
    for (record, seed) in records() {
        let path = x.join(format!("records/{}/{}", record.category, record.path));
        let bytes = std::fs::read(&path).unwrap();
        let expected = Generated::bytes(seed, stream_len(&record) as usize);
        assert!(bytes == expected, "{} differs", path.display());
    }
    for own in [
        "MANIFEST.sha256",
        "manifest.json",
        "certificate.pdf",
        "audit/inclusion-proof.json",
        "audit/checkpoint.txt",
        "audit/public-key.txt",
    ] {
        assert!(x.join(own).is_file(), "{own}");
    }
    assert!(std::fs::read(x.join("certificate.pdf"))
        .unwrap()
        .starts_with(b"%PDF-1.4"));

    // The agency's own check: sha256sum -c in the extracted directory.
    if program(
        &["sha256sum"],
        "CUSTODIAN_REQUIRE_SHA256SUM",
        "sha256sum -c of an age package",
    )
    .is_some()
    {
        let (ok, out) = sha256sum_check(&x);
        assert!(ok, "{out}");
        assert_eq!(
            out.matches(": OK").count() as u64,
            expected_files + 1,
            "{out}"
        );
        // The certificate names this very manifest.
        let sums = std::fs::read(x.join("MANIFEST.sha256")).unwrap();
        let stated = custodian_production::stated_manifest_digest(
            &std::fs::read(x.join("certificate.pdf")).unwrap(),
        );
        assert_eq!(stated, Some(Sha256::digest(&sums).into()));
    }

    // The extracted directory verifies as well.
    let again = verify(
        &x,
        &VerifyOptions {
            audit_key: Some(log.public_key_text()),
            ..VerifyOptions::default()
        },
    )
    .unwrap();
    assert_eq!(again.form, PackageForm::Directory);
}

#[tokio::test]
async fn the_reference_age_and_gnu_tar_open_an_age_package() {
    let Some(age_cli) = program(
        &["age"],
        "CUSTODIAN_REQUIRE_AGE",
        "age CLI interoperability",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (identity, recipient) = agency_key(dir.path(), "agency.key");
    let pkg = dir.path().join("p.tar.age");
    build(
        &pkg,
        Protection::Age(AgeRecipient::parse(&recipient).unwrap()),
        &mut Log::new(1),
    )
    .await;
    let tar_path = dir.path().join("p.tar");
    let status = Command::new(&age_cli)
        .args(["-d", "-i"])
        .arg(&identity)
        .arg("-o")
        .arg(&tar_path)
        .arg(&pkg)
        .status()
        .unwrap();
    assert!(status.success(), "age -d failed");
    // The decrypted tar verifies with this crate...
    let verified = verify(&tar_path, &VerifyOptions::default()).unwrap();
    assert_eq!(verified.form, PackageForm::Tar);
    // ...and GNU tar extracts it (PAX long and non-ASCII names included) for sha256sum.
    let x = dir.path().join("x");
    std::fs::create_dir(&x).unwrap();
    let status = Command::new("tar")
        .arg("-xf")
        .arg(&tar_path)
        .arg("-C")
        .arg(&x)
        .status()
        .unwrap();
    assert!(status.success(), "tar -x failed");
    assert!(x
        .join(format!(
            "records/content/documents/{}/Übersicht 2025 (final).pdf",
            "long-folder-name".repeat(8)
        ))
        .is_file());
    if program(
        &["sha256sum"],
        "CUSTODIAN_REQUIRE_SHA256SUM",
        "sha256sum -c after tar -x",
    )
    .is_some()
    {
        let (ok, out) = sha256sum_check(&x);
        assert!(ok, "{out}");
    }
}

#[tokio::test]
async fn a_zip_package_opens_with_its_passphrase_here_and_in_7zip() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("p.zip");
    let passphrase = Passphrase::generate();
    let mut log = Log::new(2);
    let finished = build(&pkg, Protection::ZipAes(passphrase.clone()), &mut log).await;
    assert_eq!(finished.protection, ProtectionKind::ZipAes256);
    assert!(std::fs::read(&pkg).unwrap().starts_with(b"PK\x03\x04"));

    let x = dir.path().join("x");
    let verified = verify(
        &pkg,
        &VerifyOptions {
            unlock: Unlock::Passphrase(passphrase.clone()),
            audit_key: Some(log.public_key_text()),
            extract_to: Some(x.clone()),
        },
    )
    .unwrap();
    assert_eq!(verified.form, PackageForm::ZipAes);
    assert_eq!(
        verified.manifest.package.protection,
        ProtectionKind::ZipAes256
    );
    if program(
        &["sha256sum"],
        "CUSTODIAN_REQUIRE_SHA256SUM",
        "sha256sum -c of a ZIP package",
    )
    .is_some()
    {
        let (ok, out) = sha256sum_check(&x);
        assert!(ok, "{out}");
    }

    // Every entry is AES-256 encrypted (AE-2) and stored, as the zip crate reads it back.
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&pkg).unwrap()).unwrap();
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).unwrap();
        assert!(entry.encrypted(), "{}", entry.name());
    }

    // An independent implementation of WinZip AES: 7-Zip.
    if let Some(seven) = program(
        &["7zz", "7z", "7za"],
        "CUSTODIAN_REQUIRE_7ZIP",
        "7-Zip interoperability",
    ) {
        let y = dir.path().join("y");
        let out = Command::new(&seven)
            .arg("x")
            .arg(format!("-p{}", passphrase.expose()))
            .arg(format!("-o{}", y.display()))
            .arg("-y")
            .arg(&pkg)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "7-Zip failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let (ok, out) = sha256sum_check(&y);
        assert!(ok, "{out}");
        let out = Command::new(&seven)
            .args(["t", "-pWRONG-PASSPHRASE"])
            .arg(&pkg)
            .output()
            .unwrap();
        assert!(!out.status.success(), "7-Zip accepted a wrong passphrase");
    }
}

#[tokio::test]
async fn a_tampered_record_fails_sha256sum_and_verify_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let x = extracted_age_package(dir.path()).await;
    let victim = x.join("records/content/photos/IMG_0005.jpg");
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes[12_345] ^= 0x01;
    std::fs::write(&victim, bytes).unwrap();

    if program(
        &["sha256sum"],
        "CUSTODIAN_REQUIRE_SHA256SUM",
        "sha256sum -c of a tampered package",
    )
    .is_some()
    {
        let (ok, out) = sha256sum_check(&x);
        assert!(!ok, "{out}");
        assert!(
            out.contains("records/content/photos/IMG_0005.jpg: FAILED"),
            "{out}"
        );
        assert_eq!(out.matches("FAILED\n").count(), 1, "{out}");
    }
    match discrepancy(verify(&x, &VerifyOptions::default())) {
        Discrepancy::Altered { path, .. } => {
            assert_eq!(path, "records/content/photos/IMG_0005.jpg")
        }
        other => panic!("{other}"),
    }
}

/// Changes one byte of `file` (in the extracted package `x`) at the first occurrence of
/// `from`, to `to`.
fn tamper(x: &Path, file: &str, from: &[u8], to: &[u8]) {
    let path = x.join(file);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .unwrap_or_else(|| panic!("{file} has no {from:?}"));
    bytes[at..at + from.len()].copy_from_slice(to);
    std::fs::write(&path, bytes).unwrap();
}

#[tokio::test]
async fn tampering_with_the_manifests_the_certificate_or_the_audit_files_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let x = extracted_age_package(dir.path()).await;
    let pristine = dir.path().join("pristine");
    copy_dir(&x, &pristine);
    let fresh = |name: &str| {
        let d = dir.path().join(name);
        copy_dir(&pristine, &d);
        d
    };

    // MANIFEST.sha256: one hex digit of a listed digest.
    let d = fresh("sums");
    let sums = std::fs::read_to_string(d.join("MANIFEST.sha256")).unwrap();
    let first = sums.as_bytes()[0];
    let swapped = if first == b'a' { b'b' } else { b'a' };
    tamper(&d, "MANIFEST.sha256", &[first], &[swapped]);
    match discrepancy(verify(&d, &VerifyOptions::default())) {
        Discrepancy::RecordedDigestDiffers { file, .. } => assert_eq!(file, "MANIFEST.sha256"),
        other => panic!("{other}"),
    }

    // manifest.json: one letter of the agency's name.
    let d = fresh("json");
    tamper(&d, "manifest.json", b"Springfield", b"Springfielt");
    match discrepancy(verify(&d, &VerifyOptions::default())) {
        Discrepancy::Altered { path, .. } => assert_eq!(path, "manifest.json"),
        other => panic!("{other}"),
    }

    // certificate.pdf: the custodian's name.
    let d = fresh("cert");
    tamper(&d, "certificate.pdf", b"Casey", b"Kasey");
    match discrepancy(verify(&d, &VerifyOptions::default())) {
        Discrepancy::RecordedDigestDiffers { file, .. } => assert_eq!(file, "certificate.pdf"),
        other => panic!("{other}"),
    }

    // audit/inclusion-proof.json: one character of a hash on the audit path.
    let d = fresh("proof");
    let proof: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("audit/inclusion-proof.json")).unwrap())
            .unwrap();
    let hash = proof["audit_path"][1].as_str().unwrap().to_string();
    let mut altered = hash.clone().into_bytes();
    altered[3] = if altered[3] == b'A' { b'B' } else { b'A' };
    tamper(&d, "audit/inclusion-proof.json", hash.as_bytes(), &altered);
    assert!(matches!(
        discrepancy(verify(&d, &VerifyOptions::default())),
        Discrepancy::ProofNotForCheckpoint(_)
    ));

    // audit/inclusion-proof.json: the entry's details (say, a claim of more files).
    let d = fresh("entry");
    tamper(
        &d,
        "audit/inclusion-proof.json",
        b"\"files\": 15",
        b"\"files\": 16",
    );
    assert!(matches!(
        discrepancy(verify(&d, &VerifyOptions::default())),
        Discrepancy::ProofMalformed(m) if m.contains("does not hash")
    ));

    // audit/checkpoint.txt: the tree size.
    let d = fresh("checkpoint");
    tamper(&d, "audit/checkpoint.txt", b"\n43\n", b"\n44\n");
    assert!(matches!(
        discrepancy(verify(&d, &VerifyOptions::default())),
        Discrepancy::CheckpointNotSigned(_)
    ));

    // A file added, a file removed.
    let d = fresh("added");
    std::fs::write(d.join("records/content/planted.jpg"), b"not ours").unwrap();
    assert_eq!(
        discrepancy(verify(&d, &VerifyOptions::default())),
        Discrepancy::Unlisted("records/content/planted.jpg".into())
    );
    let d = fresh("removed");
    std::fs::remove_file(d.join("records/subscriber/account.json")).unwrap();
    assert_eq!(
        discrepancy(verify(&d, &VerifyOptions::default())),
        Discrepancy::Missing("records/subscriber/account.json".into())
    );
    let d = fresh("no-proof");
    std::fs::remove_file(d.join("audit/inclusion-proof.json")).unwrap();
    assert_eq!(
        discrepancy(verify(&d, &VerifyOptions::default())),
        Discrepancy::Missing("audit/inclusion-proof.json".into())
    );

    // The package is consistent with itself, but signed by another log than the one given.
    let other = Log::new(9).public_key_text();
    assert_eq!(
        discrepancy(verify(
            &pristine,
            &VerifyOptions {
                audit_key: Some(other),
                ..VerifyOptions::default()
            }
        )),
        Discrepancy::PublicKeyDiffers
    );
    // A forger who re-signs with their own key and ships it as audit/public-key.txt passes
    // only the self-consistency check; the provider's key given independently catches it.
    assert!(verify(&pristine, &VerifyOptions::default()).is_ok());
}

#[tokio::test]
async fn a_package_reencrypted_after_tampering_is_caught_by_the_manifest() {
    // age gives confidentiality, not authenticity: anyone with the agency's public key can
    // make an age file for it. The manifest chain is what shows the package is the provider's.
    let dir = tempfile::tempdir().unwrap();
    let (identity, recipient) = agency_key(dir.path(), "agency.key");
    let pkg = dir.path().join("p.age");
    let recipient = AgeRecipient::parse(&recipient).unwrap();
    build_few(&pkg, Protection::Age(recipient.clone()), &mut Log::new(1)).await;
    let mut plain = Vec::new();
    {
        use std::io::Read;
        let d = age::Decryptor::new(std::fs::File::open(&pkg).unwrap()).unwrap();
        let id: age::x25519::Identity = std::fs::read_to_string(&identity)
            .unwrap()
            .lines()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        d.decrypt(std::iter::once(&id as &dyn age::Identity))
            .unwrap()
            .read_to_end(&mut plain)
            .unwrap();
    }
    // One byte of the subscriber record's data (it is the first entry after its header).
    plain[512 + 100] ^= 0x20;
    let forged = dir.path().join("forged.age");
    {
        use std::io::Write;
        let r: age::x25519::Recipient = recipient.to_string().parse().unwrap();
        let e =
            age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient)).unwrap();
        let mut w = e
            .wrap_output(std::fs::File::create(&forged).unwrap())
            .unwrap();
        w.write_all(&plain).unwrap();
        w.finish().unwrap();
    }
    match discrepancy(verify(&forged, &options(age_unlock(&identity)))) {
        Discrepancy::Altered { path, .. } => assert_eq!(path, "records/subscriber/account.json"),
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn damaged_ciphertext_is_reported_as_damage() {
    let dir = tempfile::tempdir().unwrap();
    let (identity, recipient) = agency_key(dir.path(), "agency.key");
    let pkg = dir.path().join("p.age");
    build_few(
        &pkg,
        Protection::Age(AgeRecipient::parse(&recipient).unwrap()),
        &mut Log::new(1),
    )
    .await;
    let mut bytes = std::fs::read(&pkg).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&pkg, &bytes).unwrap();
    assert!(matches!(
        verify(&pkg, &options(age_unlock(&identity))),
        Err(VerifyError::Damaged(_))
    ));
    // Truncation at the end (the final chunk gone) is damage too.
    std::fs::write(&pkg, &bytes[..middle]).unwrap();
    assert!(matches!(
        verify(&pkg, &options(age_unlock(&identity))),
        Err(VerifyError::Damaged(_))
    ));

    // In a ZIP, each entry carries its own authentication code, so the damage is located.
    let zip_path = dir.path().join("p.zip");
    let passphrase = Passphrase::generate();
    build_few(
        &zip_path,
        Protection::ZipAes(passphrase.clone()),
        &mut Log::new(1),
    )
    .await;
    let mut bytes = std::fs::read(&zip_path).unwrap();
    let at = {
        let mut archive = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
        let i = archive
            .index_for_name("records/content/videos/VID_0001.mp4")
            .unwrap();
        let entry = archive.by_index_raw(i).unwrap();
        entry.data_start().unwrap() as usize + 1_000_000 // inside the 2 MiB video
    };
    bytes[at] ^= 0x01;
    std::fs::write(&zip_path, &bytes).unwrap();
    match verify(&zip_path, &options(Unlock::Passphrase(passphrase))) {
        Err(VerifyError::Damaged(m)) => assert!(m.contains("VID_0001.mp4"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn wrong_or_missing_keys_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (_, recipient) = agency_key(dir.path(), "agency.key");
    let (other_identity, _) = agency_key(dir.path(), "other-agency.key");
    let pkg = dir.path().join("p.age");
    build_few(
        &pkg,
        Protection::Age(AgeRecipient::parse(&recipient).unwrap()),
        &mut Log::new(1),
    )
    .await;
    match verify(&pkg, &options(age_unlock(&other_identity))) {
        Err(VerifyError::WrongKey(m)) => assert!(m.contains("another key"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        verify(&pkg, &options(Unlock::Nothing)),
        Err(VerifyError::NeedIdentity(_))
    ));
    assert!(matches!(
        verify(&pkg, &options(Unlock::Passphrase(Passphrase::new("x")))),
        Err(VerifyError::NeedIdentity(_))
    ));

    let zip_path = dir.path().join("p.zip");
    build_few(
        &zip_path,
        Protection::ZipAes(Passphrase::generate()),
        &mut Log::new(1),
    )
    .await;
    match verify(
        &zip_path,
        &options(Unlock::Passphrase(Passphrase::new("AAAA-BBBB"))),
    ) {
        Err(VerifyError::WrongKey(m)) => assert_eq!(m, "the passphrase is wrong"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        verify(&zip_path, &options(Unlock::Nothing)),
        Err(VerifyError::NeedPassphrase(_))
    ));
    assert!(matches!(
        verify(&zip_path, &options(age_unlock(&other_identity))),
        Err(VerifyError::NeedPassphrase(_))
    ));

    std::fs::write(dir.path().join("junk"), b"hello").unwrap();
    assert!(matches!(
        verify(&dir.path().join("junk"), &options(Unlock::Nothing)),
        Err(VerifyError::NotAPackage(_))
    ));
    assert!(matches!(
        verify(
            &pkg,
            &VerifyOptions {
                audit_key: Some("not a key".into()),
                ..VerifyOptions::default()
            }
        ),
        Err(VerifyError::AuditKey(_))
    ));
}

fn zip_protection() -> Protection {
    Protection::ZipAes(Passphrase::generate())
}

fn rec(category: DataCategory, path: &str, size: Option<u64>) -> Record {
    Record {
        category,
        path: path.into(),
        size,
    }
}

#[tokio::test]
async fn records_are_checked_before_they_are_read() {
    let sink = tokio::io::sink();
    let mut b = PackageBuilder::new(
        facts(),
        sign_off(),
        zip_protection(),
        sink,
        Options::default(),
    )
    .unwrap();
    let err = b
        .add_record(
            rec(DataCategory::Transactional, "logins.csv", Some(1)),
            &b"x"[..],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            PackageError::CategoryNotDisclosed {
                category: DataCategory::Transactional,
                ..
            }
        ),
        "{err}"
    );
    for bad in ["../escape", "/abs", "a//b", "a\\b", ""] {
        let err = b
            .add_record(rec(DataCategory::Content, bad, Some(1)), &b"x"[..])
            .await
            .unwrap_err();
        assert!(
            matches!(err, PackageError::InvalidPath { .. }),
            "{bad}: {err}"
        );
    }
    b.add_record(
        rec(DataCategory::Content, "Photos/A.jpg", Some(1)),
        &b"x"[..],
    )
    .await
    .unwrap();
    let err = b
        .add_record(
            rec(DataCategory::Content, "photos/a.JPG", Some(1)),
            &b"y"[..],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, PackageError::DuplicatePath(_)), "{err}");
    // None of these spoiled the package.
    b.add_record(
        rec(DataCategory::Content, "photos/b.jpg", Some(2)),
        &b"yz"[..],
    )
    .await
    .unwrap();
    b.seal().await.unwrap();
}

#[tokio::test]
async fn a_record_that_is_not_its_declared_size_fails_the_package() {
    // With buffers of 4 KiB, also at their edges: one byte more than a full buffer, one
    // byte short of two.
    let cases = [
        (10u64, 9u64),
        (10, 11),
        (0, 1),
        (4096, 4097),
        (8192, 8191),
        (4096, 9000),
    ];
    for (declared, actual) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.zip");
        let sink = tokio::fs::File::create(&path).await.unwrap();
        let small = Options {
            chunk_size: 4096,
            ..Options::default()
        };
        let mut b =
            PackageBuilder::new(facts(), sign_off(), zip_protection(), sink, small).unwrap();
        let data = vec![7u8; actual as usize];
        let err = b
            .add_record(
                rec(DataCategory::Content, "a.bin", Some(declared)),
                data.as_slice(),
            )
            .await
            .unwrap_err();
        match err {
            PackageError::SizeMismatch {
                path, declared: d, ..
            } => {
                assert_eq!((path.as_str(), d), ("records/content/a.bin", declared));
            }
            other => panic!("{other}"),
        }
        let err = b
            .add_record(rec(DataCategory::Content, "b.bin", Some(1)), &b"x"[..])
            .await
            .unwrap_err();
        assert!(matches!(err, PackageError::Failed), "{err}");
        assert!(matches!(b.seal().await, Err(PackageError::Failed)));
        // What reached the file is not a package.
        assert!(verify(&path, &options(Unlock::Passphrase(Passphrase::new("x")))).is_err());
    }
}

#[tokio::test]
async fn records_ending_at_and_around_buffer_boundaries_read_back() {
    // Buffers of 4 KiB, so that records end just before, on and just after their edges, and
    // small records (gathered into one buffer) alternate with large ones (passed on whole);
    // one of unknown size goes through the spool.
    let small = Options {
        chunk_size: 4096,
        queue_depth: 2,
        ..Options::default()
    };
    let sizes = [0u64, 1, 1023, 1024, 4095, 4096, 4097, 8192, 3 * 4096 + 5];
    let records = || {
        let mut records: Vec<(Record, u64)> = sizes
            .iter()
            .map(|n| {
                (
                    rec(DataCategory::Content, &format!("b/{n}.bin"), Some(*n)),
                    *n,
                )
            })
            .collect();
        records.push((rec(DataCategory::Content, "b/spooled.bin", None), 99));
        records
    };
    let total: u64 = sizes.iter().sum::<u64>() + (3 << 20) + 5;
    let dir = tempfile::tempdir().unwrap();
    let (identity, recipient) = agency_key(dir.path(), "agency.key");
    let passphrase = Passphrase::generate();
    for (name, protection, unlock) in [
        (
            "p.age",
            Protection::Age(AgeRecipient::parse(&recipient).unwrap()),
            age_unlock(&identity),
        ),
        (
            "p.zip",
            Protection::ZipAes(passphrase.clone()),
            Unlock::Passphrase(passphrase.clone()),
        ),
    ] {
        let pkg = dir.path().join(name);
        let mut log = Log::new(3);
        let finished = build_with(&pkg, protection, &mut log, records(), small.clone()).await;
        assert_eq!(finished.total_bytes, total);
        assert_eq!(
            finished.package_bytes,
            std::fs::metadata(&pkg).unwrap().len()
        );
        let digest: [u8; 32] = Sha256::digest(std::fs::read(&pkg).unwrap()).into();
        assert_eq!(finished.package_sha256, digest, "{name}");
        let verified = verify(&pkg, &options(unlock)).unwrap();
        assert_eq!(verified.manifest.package.file_count, sizes.len() as u64 + 1);
        assert_eq!(verified.manifest.package.total_bytes, total);
    }
}

/// ZIP64 for real: a record of more than 4 GiB (ZIP64 sizes) followed by one that starts past
/// 4 GiB (a ZIP64 offset). Writes about 4 GiB to the temporary directory and takes minutes
/// (the zip crate decrypts 16 bytes at a time): run by hand with `--ignored`. The unit tests
/// in src/zip_format.rs write the same fields on a small archive.
#[tokio::test]
#[ignore = "writes 4 GiB; run by hand: cargo test -p custodian-production --release --test package -- --ignored"]
async fn a_zip_package_past_4_gib_opens_here_and_in_7zip() {
    let big = (4u64 << 30) + 4099;
    let records = vec![
        (rec(DataCategory::Content, "videos/long.mp4", Some(big)), 1),
        (rec(DataCategory::Content, "after.txt", Some(10)), 2),
    ];
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("p.zip");
    let passphrase = Passphrase::generate();
    let mut log = Log::new(4);
    let finished = build_with(
        &pkg,
        Protection::ZipAes(passphrase.clone()),
        &mut log,
        records,
        Options::default(),
    )
    .await;
    assert!(finished.package_bytes > big);
    let verified = verify(&pkg, &options(Unlock::Passphrase(passphrase.clone()))).unwrap();
    assert_eq!(verified.manifest.package.total_bytes, big + 10);
    let archive = zip::ZipArchive::new(std::fs::File::open(&pkg).unwrap()).unwrap();
    assert!(archive.len() >= 2);
    if let Some(seven) = program(
        &["7zz", "7z", "7za"],
        "CUSTODIAN_REQUIRE_7ZIP",
        "7-Zip interoperability past 4 GiB",
    ) {
        let out = Command::new(&seven)
            .arg("t")
            .arg(format!("-p{}", passphrase.expose()))
            .arg(&pkg)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "7-Zip failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// A record stream that fails half-way, as a data source's network read might.
struct Failing(u32);

impl tokio::io::AsyncRead for Failing {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.0 == 0 {
            return std::task::Poll::Ready(Err(std::io::Error::other("connection reset")));
        }
        self.0 -= 1;
        buf.put_slice(&[1u8; 1000]);
        std::task::Poll::Ready(Ok(()))
    }
}

/// A sink that accepts some bytes and then fails, as a full disk or a broken upload would.
struct FullDisk(usize);

impl tokio::io::AsyncWrite for FullDisk {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        if self.0 < buf.len() {
            return std::task::Poll::Ready(Err(std::io::Error::other("no space left on device")));
        }
        self.0 -= buf.len();
        std::task::Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn read_and_write_failures_are_reported_with_their_cause() {
    let mut b = PackageBuilder::new(
        facts(),
        sign_off(),
        zip_protection(),
        tokio::io::sink(),
        Options::default(),
    )
    .unwrap();
    let err = b
        .add_record(
            rec(DataCategory::Content, "a.bin", Some(1_000_000)),
            Failing(5),
        )
        .await
        .unwrap_err();
    match err {
        PackageError::ReadRecord { path, source } => {
            assert_eq!(path, "records/content/a.bin");
            assert!(source.to_string().contains("connection reset"));
        }
        other => panic!("{other}"),
    }
    assert!(matches!(b.seal().await, Err(PackageError::Failed)));

    let mut b = PackageBuilder::new(
        facts(),
        sign_off(),
        zip_protection(),
        FullDisk(3 << 20),
        Options::default(),
    )
    .unwrap();
    let err = b
        .add_record(
            rec(DataCategory::Content, "big.bin", Some(64 << 20)),
            Generated::new(1, 64 << 20),
        )
        .await
        .unwrap_err();
    match err {
        PackageError::Write(e) => assert!(e.to_string().contains("no space left"), "{e}"),
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn audit_material_for_another_package_is_refused_and_the_right_one_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.zip");
    let sink = tokio::fs::File::create(&path).await.unwrap();
    let passphrase = Passphrase::generate();
    let mut b = PackageBuilder::new(
        facts(),
        sign_off(),
        Protection::ZipAes(passphrase.clone()),
        sink,
        Options::default(),
    )
    .unwrap();
    b.add_record(
        rec(DataCategory::Subscriber, "account.json", Some(2)),
        &b"{}"[..],
    )
    .await
    .unwrap();
    let sealed = b.seal().await.unwrap();
    let details = sealed.audit_details();
    assert_eq!(
        details["manifest_sha256"],
        hex::encode(sealed.manifest_sha256())
    );
    assert_eq!(details["files"], 1);
    assert_eq!(details["bytes"], 2);

    // An entry for another manifest, properly proven and signed.
    let mut log = Log::new(3);
    let mut wrong = details.clone();
    wrong["manifest_sha256"] = serde_json::json!(hex::encode([0u8; 32]));
    let event = log.append(
        "casey",
        custodian_production::PRODUCTION_EVENT_ACTION,
        "LE-2026-000123",
        wrong,
    );
    let leaves: Vec<_> = log.entries.iter().map(|e| e.leaf_hash()).collect();
    let note = custodian_audit::Checkpoint {
        origin: ORIGIN.into(),
        size: leaves.len() as u64,
        root: custodian_audit::root(&leaves),
    }
    .sign(&log.key)
    .unwrap();
    let material = custodian_production::AuditMaterial {
        proof: custodian_production::InclusionProof::new(event, &leaves).unwrap(),
        checkpoint_note: note.clone(),
        public_key_text: log.public_key_text(),
    };
    match sealed.check_audit(&material) {
        Err(PackageError::AuditMaterial(Discrepancy::RecordedDigestDiffers { file, .. })) => {
            assert_eq!(file, "MANIFEST.sha256")
        }
        other => panic!("{other:?}"),
    }
    // A checkpoint signed by another key.
    let mut foreign = material.clone();
    foreign.public_key_text = Log::new(4).public_key_text();
    assert!(matches!(
        sealed.check_audit(&foreign),
        Err(PackageError::AuditMaterial(
            Discrepancy::CheckpointNotSigned(_)
        ))
    ));

    // The orchestrator can still finish with the right material.
    let right = log.prove(&sealed);
    sealed.check_audit(&right).unwrap();
    sealed.finish(right).await.unwrap();
    verify(&path, &options(Unlock::Passphrase(passphrase))).unwrap();
}

#[tokio::test]
async fn facts_and_recipients_are_validated() {
    let mut f = facts();
    f.categories.clear();
    assert!(matches!(
        PackageBuilder::new(
            f,
            sign_off(),
            zip_protection(),
            tokio::io::sink(),
            Options::default()
        ),
        Err(PackageError::InvalidFacts {
            field: "categories",
            ..
        })
    ));
    let mut f = facts();
    f.targets.clear();
    assert!(matches!(
        PackageBuilder::new(
            f,
            sign_off(),
            zip_protection(),
            tokio::io::sink(),
            Options::default()
        ),
        Err(PackageError::InvalidFacts {
            field: "targets",
            ..
        })
    ));
    let mut s = sign_off();
    s.name = "  ".into();
    assert!(matches!(
        PackageBuilder::new(
            facts(),
            s,
            zip_protection(),
            tokio::io::sink(),
            Options::default()
        ),
        Err(PackageError::InvalidFacts { field: "name", .. })
    ));
    assert!(matches!(
        AgeRecipient::parse("age1qqqq"),
        Err(PackageError::InvalidRecipient(_))
    ));
}

#[test]
fn building_outside_a_runtime_is_an_error_not_a_panic() {
    assert!(matches!(
        PackageBuilder::new(
            facts(),
            sign_off(),
            zip_protection(),
            tokio::io::sink(),
            Options::default()
        ),
        Err(PackageError::NoRuntime)
    ));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

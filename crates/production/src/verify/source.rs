//! Reading a package's entries in whatever form the agency holds it: the age file, the ZIP,
//! a decrypted tar, or a directory it was extracted into. Each entry is handed to a visitor as
//! a reader; the visitor decides what to keep.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use super::VerifyError;
use crate::protect::Unlock;

/// The forms a package can be verified in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageForm {
    /// An age file around a tar archive.
    Age,
    /// A ZIP with WinZip AES entries.
    ZipAes,
    /// A tar archive (an age package after `age -d`).
    Tar,
    /// A directory holding the extracted files.
    Directory,
}

impl std::fmt::Display for PackageForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PackageForm::Age => "age-encrypted tar",
            PackageForm::ZipAes => "AES-encrypted ZIP",
            PackageForm::Tar => "tar archive",
            PackageForm::Directory => "directory",
        })
    }
}

/// Why a visitor stopped: the entry's reader failed (the package is damaged), or the visitor
/// found what it needed to say.
pub(crate) enum Stop {
    Read(io::Error),
    Verdict(VerifyError),
}

impl From<VerifyError> for Stop {
    fn from(e: VerifyError) -> Stop {
        Stop::Verdict(e)
    }
}

/// The visitor: called with each file's path (as stored, not yet checked) and its bytes.
pub(crate) type Visit<'a> = dyn FnMut(&str, &mut dyn Read) -> Result<(), Stop> + 'a;

const AGE_MAGIC: &[u8] = b"age-encryption.org/v1\n";
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

/// Recognises the form of the package at `path` and visits every entry in archive order.
pub(crate) fn visit(
    path: &Path,
    unlock: &Unlock,
    f: &mut Visit<'_>,
) -> Result<PackageForm, VerifyError> {
    if path.is_dir() {
        visit_dir(path, f)?;
        return Ok(PackageForm::Directory);
    }
    let mut head = [0u8; 512];
    let n = read_head(path, &mut head)?;
    let head = &head[..n];
    if head.starts_with(AGE_MAGIC) {
        visit_age(path, unlock, f)?;
        Ok(PackageForm::Age)
    } else if head.starts_with(ZIP_MAGIC) {
        visit_zip(path, unlock, f)?;
        Ok(PackageForm::ZipAes)
    } else if head.len() >= 262 && &head[257..262] == b"ustar" {
        let file = File::open(path).map_err(VerifyError::Open)?;
        visit_tar(BufReader::with_capacity(256 * 1024, file), f)?;
        Ok(PackageForm::Tar)
    } else {
        Err(VerifyError::NotAPackage(
            "it is neither an age file, a ZIP, a tar archive nor a directory".into(),
        ))
    }
}

fn read_head(path: &Path, head: &mut [u8]) -> Result<usize, VerifyError> {
    let mut file = File::open(path).map_err(VerifyError::Open)?;
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..]).map_err(VerifyError::Open)? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn damaged(context: &str, e: io::Error) -> VerifyError {
    VerifyError::Damaged(format!("{context}: {e}"))
}

fn visit_age(path: &Path, unlock: &Unlock, f: &mut Visit<'_>) -> Result<(), VerifyError> {
    let identities =
        match unlock {
            Unlock::Age(ids) => ids,
            Unlock::Passphrase(_) => return Err(VerifyError::NeedIdentity(
                "the package is age-encrypted to the agency's key, not protected by a passphrase"
                    .into(),
            )),
            Unlock::Nothing => {
                return Err(VerifyError::NeedIdentity(
                    "the package is age-encrypted: give the agency's age identity file".into(),
                ))
            }
        };
    let file = File::open(path).map_err(VerifyError::Open)?;
    let decryptor = age::Decryptor::new(BufReader::with_capacity(256 * 1024, file))
        .map_err(|e| age_error(e, "reading the age header"))?;
    let stream = decryptor
        .decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .map_err(|e| age_error(e, "decrypting"))?;
    let rest = visit_tar(stream, f)?;
    // The tar archive ends before the age stream does; reading on to the end is what checks
    // that the final chunk is there (a truncated age file fails only here).
    drain(rest).map_err(|e| damaged("after the archive", e))
}

fn age_error(e: age::DecryptError, context: &str) -> VerifyError {
    match e {
        age::DecryptError::NoMatchingKeys => VerifyError::WrongKey(
            "none of the given identities can decrypt this package; it was encrypted to \
             another key"
                .into(),
        ),
        age::DecryptError::Io(e) => VerifyError::Open(e),
        other => VerifyError::Damaged(format!("{context}: {other}")),
    }
}

fn drain(mut r: impl Read) -> io::Result<()> {
    io::copy(&mut r, &mut io::sink()).map(|_| ())
}

/// Visits a tar stream's regular files and returns the reader positioned after the archive.
fn visit_tar<R: Read>(reader: R, f: &mut Visit<'_>) -> Result<R, VerifyError> {
    let mut archive = tar::Archive::new(reader);
    {
        let entries = archive
            .entries()
            .map_err(|e| damaged("reading the archive", e))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| damaged("reading the archive", e))?;
            let kind = entry.header().entry_type();
            let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            if kind.is_dir() {
                continue;
            }
            if !kind.is_file() {
                return Err(VerifyError::NotAPackage(format!(
                    "'{path}' is not a regular file"
                )));
            }
            match f(&path, &mut entry) {
                Ok(()) => {}
                Err(Stop::Read(e)) => return Err(damaged(&path, e)),
                Err(Stop::Verdict(v)) => return Err(v),
            }
        }
    }
    Ok(archive.into_inner())
}

fn visit_zip(path: &Path, unlock: &Unlock, f: &mut Visit<'_>) -> Result<(), VerifyError> {
    let file = File::open(path).map_err(VerifyError::Open)?;
    let mut archive = zip::ZipArchive::new(BufReader::with_capacity(256 * 1024, file))
        .map_err(|e| VerifyError::Damaged(format!("reading the ZIP directory: {e}")))?;
    let passphrase = match unlock {
        Unlock::Passphrase(p) => Some(p.expose().as_bytes()),
        Unlock::Age(_) => {
            return Err(VerifyError::NeedPassphrase(
                "the package is a ZIP protected by a passphrase, not age-encrypted".into(),
            ))
        }
        Unlock::Nothing => None,
    };
    for i in 0..archive.len() {
        let opened = match passphrase {
            Some(p) => archive.by_index_decrypt(i, p),
            None => archive.by_index(i),
        };
        let mut entry = match opened {
            Ok(entry) => entry,
            Err(zip::result::ZipError::InvalidPassword) => {
                return Err(VerifyError::WrongKey("the passphrase is wrong".into()))
            }
            Err(zip::result::ZipError::UnsupportedArchive(m))
                if m == zip::result::ZipError::PASSWORD_REQUIRED =>
            {
                return Err(VerifyError::NeedPassphrase(
                    "the package is a ZIP protected by a passphrase: give it".into(),
                ))
            }
            Err(e) => return Err(VerifyError::Damaged(format!("ZIP entry {i}: {e}"))),
        };
        if entry.is_dir() {
            continue;
        }
        let path = String::from_utf8_lossy(entry.name_raw()).into_owned();
        match f(&path, &mut entry) {
            Ok(()) => {}
            Err(Stop::Read(e)) => return Err(damaged(&path, e)),
            Err(Stop::Verdict(v)) => return Err(v),
        }
    }
    Ok(())
}

/// Visits the regular files under `root`, sorted by path within each directory. Symbolic
/// links are refused: extracted packages hold none, and following one could leave the
/// directory.
fn visit_dir(root: &Path, f: &mut Visit<'_>) -> Result<(), VerifyError> {
    let mut stack: Vec<PathBuf> = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = root.join(&rel);
        let mut children: Vec<_> = std::fs::read_dir(&dir)
            .map_err(VerifyError::Open)?
            .collect::<io::Result<Vec<_>>>()
            .map_err(VerifyError::Open)?;
        children.sort_by_key(|c| c.file_name());
        let mut subdirs = Vec::new();
        for child in children {
            let name = child.file_name();
            let Some(name) = name.to_str() else {
                return Err(VerifyError::NotAPackage(format!(
                    "{} has a name that is not UTF-8",
                    child.path().display()
                )));
            };
            let rel_path = if rel.as_os_str().is_empty() {
                PathBuf::from(name)
            } else {
                rel.join(name)
            };
            let display = rel_path
                .to_string_lossy()
                .replace(std::path::MAIN_SEPARATOR, "/");
            let kind = child.file_type().map_err(VerifyError::Open)?;
            if kind.is_symlink() {
                return Err(VerifyError::NotAPackage(format!(
                    "'{display}' is a symbolic link"
                )));
            } else if kind.is_dir() {
                subdirs.push(rel_path);
            } else {
                let mut file = File::open(child.path()).map_err(VerifyError::Open)?;
                match f(&display, &mut file) {
                    Ok(()) => {}
                    Err(Stop::Read(e)) => return Err(VerifyError::Open(e)),
                    Err(Stop::Verdict(v)) => return Err(v),
                }
            }
        }
        // Popped last-first, so push in reverse to visit in order.
        stack.extend(subdirs.into_iter().rev());
    }
    Ok(())
}

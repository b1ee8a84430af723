//! Paths inside a package. They must extract to the same place with any tool on any system
//! and appear verbatim in `sha256sum` lines, so the rules are strict: relative, `/`-separated,
//! no empty, `.` or `..` components, no backslashes or control characters (`sha256sum` would
//! escape them), and no component longer than common file systems allow.

/// The longest component, in bytes (ext4, NTFS and APFS allow 255).
const MAX_COMPONENT: usize = 255;
/// The longest path, in bytes; well within what tar (PAX) and ZIP carry.
const MAX_PATH: usize = 1024;

/// Checks a path inside the package; the reason is for an error message.
pub(crate) fn check(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        return Err("must not be empty");
    }
    if path.len() > MAX_PATH {
        return Err("is longer than 1024 bytes");
    }
    if path.starts_with('/') {
        return Err("must be relative (no leading '/')");
    }
    if path.chars().any(|c| c.is_control() || c == '\\') {
        return Err("must not contain control characters or backslashes");
    }
    for component in path.split('/') {
        match component {
            "" => return Err("must not contain empty components ('//' or a trailing '/')"),
            "." | ".." => return Err("must not contain '.' or '..' components"),
            c if c.len() > MAX_COMPONENT => return Err("has a component longer than 255 bytes"),
            _ => {}
        }
    }
    Ok(())
}

/// The key under which two paths collide on a case-insensitive file system.
pub(crate) fn collision_key(path: &str) -> String {
    path.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_paths_pass() {
        for p in [
            "records/content/jane@example.com/IMG 0001.jpg",
            "records/subscriber/account.json",
            "records/content/Fotos/Übersicht (2).pdf",
            "a",
        ] {
            assert_eq!(check(p), Ok(()), "{p}");
        }
    }

    #[test]
    fn unsafe_paths_are_refused() {
        let long = "x".repeat(256);
        let very_long = ["a"; 600].join("/");
        for p in [
            "",
            "/etc/passwd",
            "../up",
            "a/../b",
            "a/./b",
            "a//b",
            "a/",
            "a\\b",
            "a\nb",
            "tab\there",
            long.as_str(),
            very_long.as_str(),
        ] {
            assert!(check(p).is_err(), "{p:?}");
        }
    }

    #[test]
    fn collisions_ignore_case() {
        assert_eq!(collision_key("A/IMG.JPG"), collision_key("a/img.jpg"));
    }
}

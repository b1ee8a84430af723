//! Served documents. Only PDF is accepted, recognised by what the bytes are, not by the name a
//! browser or a script gave them.

/// Whether `bytes` is a PDF file: the `%PDF-1.x` or `%PDF-2.x` header within the first 1024
/// bytes (ISO 32000 allows leading garbage there) and an `%%EOF` marker near the end.
pub fn is_pdf(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(1024)];
    let header_at = head.windows(5).position(|w| w == b"%PDF-");
    let Some(at) = header_at else {
        return false;
    };
    let version_ok = matches!(
        bytes.get(at + 5..at + 8),
        Some([b'1' | b'2', b'.', d]) if d.is_ascii_digit()
    );
    let tail = &bytes[bytes.len().saturating_sub(1024)..];
    version_ok && tail.windows(5).any(|w| w == b"%%EOF")
}

/// A file name safe to show and to put in a Content-Disposition header: no path, no control
/// characters, no quotes, at most 200 characters.
pub fn clean_file_name(raw: Option<&str>) -> String {
    let base = raw
        .unwrap_or("")
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '\\' | ';'))
        .take(200)
        .collect::<String>();
    let base = base.trim().to_string();
    if base.is_empty() {
        "document.pdf".to_string()
    } else {
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_is_recognised_by_content() {
        assert!(is_pdf(b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"));
        assert!(is_pdf(b"junk\n%PDF-2.0\n...\n%%EOF"));
        assert!(!is_pdf(b"PK\x03\x04 not a pdf %%EOF"));
        assert!(!is_pdf(b"%PDF-1.7 but truncated"));
        assert!(!is_pdf(b"%PDF-x.y\n%%EOF"));
        assert!(!is_pdf(b""));
    }

    #[test]
    fn file_names_lose_paths_and_quotes() {
        assert_eq!(
            clean_file_name(Some("C:\\tmp\\war\"rant.pdf")),
            "warrant.pdf"
        );
        assert_eq!(clean_file_name(Some("../../etc/passwd")), "passwd");
        assert_eq!(clean_file_name(None), "document.pdf");
    }
}

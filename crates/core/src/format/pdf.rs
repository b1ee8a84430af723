//! A minimal PDF writer: real PDF 1.4 that viewers open, built without a PDF library. Text
//! only, in a fixed-width font so that tables line up, over as many US Letter pages as needed.
//! The font uses WinAnsiEncoding, so Latin-1 letters (names such as "José García" on a
//! certificate) print as themselves; anything beyond Latin-1 prints as '?'.

const LINES_PER_PAGE: usize = 60;

/// A PDF with the given lines of text (Courier 9 pt), 60 lines a page.
pub fn text_pdf(lines: &[String]) -> Vec<u8> {
    let pages: Vec<&[String]> = if lines.is_empty() {
        vec![&[]]
    } else {
        lines.chunks(LINES_PER_PAGE).collect()
    };
    // Objects: 1 catalog, 2 pages, 3 font, then per page a page and its content stream.
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        String::new(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>"
            .to_string(),
    ];
    let mut kids = Vec::new();
    for page in &pages {
        let page_obj = objects.len() + 1;
        kids.push(format!("{page_obj} 0 R"));
        let mut content = String::from("BT /F1 9 Tf 54 740 Td 11.5 TL\n");
        for line in page.iter() {
            content.push_str(&format!("({}) '\n", escape(line)));
        }
        content.push_str("ET\n");
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {} 0 R \
             /Resources << /Font << /F1 3 0 R >> >> >>",
            page_obj + 1
        ));
        objects.push(format!(
            "<< /Length {} >>\nstream\n{}endstream",
            content.len(),
            content
        ));
    }
    objects[1] = format!(
        "<< /Type /Pages /Kids [{}] /Count {} >>",
        kids.join(" "),
        kids.len()
    );
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{}\nendobj\n", i + 1, body).as_bytes());
    }
    let xref_at = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{}\n%%EOF\n",
            objects.len() + 1,
            xref_at
        )
        .as_bytes(),
    );
    out
}

/// PDF string literal escaping. Latin-1 letters are written as octal escapes, which
/// WinAnsiEncoding maps to the same characters from U+00A0 up; anything else outside printable
/// ASCII becomes '?'.
fn escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '(' | ')' | '\\' => format!("\\{c}"),
            c if c.is_ascii() && !c.is_ascii_control() => c.to_string(),
            c if ('\u{a0}'..='\u{ff}').contains(&c) => format!("\\{:03o}", c as u32),
            _ => "?".to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_a_pdf_with_a_correct_xref_over_several_pages() {
        let lines: Vec<String> = (0..130).map(|i| format!("line {i} (x)")).collect();
        let pdf = text_pdf(&lines);
        assert!(pdf.starts_with(b"%PDF-1.4"));
        let text = String::from_utf8_lossy(&pdf);
        let startxref: usize = text
            .rsplit("startxref\n")
            .next()
            .and_then(|t| t.lines().next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert!(pdf[startxref..].starts_with(b"xref"));
        assert!(text.contains("/Count 3"));
        assert!(text.contains("line 129 \\(x\\)"));
    }

    #[test]
    fn latin1_letters_are_kept_and_others_replaced() {
        assert_eq!(escape("José García"), "Jos\\351 Garc\\355a");
        assert_eq!(escape("Łódź €"), "?\\363d? ?");
        let pdf = String::from_utf8_lossy(&text_pdf(&["Müller".to_string()])).to_string();
        assert!(pdf.contains("/Encoding /WinAnsiEncoding"));
        assert!(pdf.contains("(M\\374ller) '"));
    }
}

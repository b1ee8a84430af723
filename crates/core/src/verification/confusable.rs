//! Characters that look like other characters. Two foldings, used together:
//!
//! - [`fold`] maps letters of other scripts (Cyrillic `а`, Greek `ο`, accented `é`, full-width
//!   `ｓ`) to the ASCII letter a reader takes them for. Different text, same picture: a homoglyph.
//! - [`skeleton`] then merges ASCII characters that a hurried reader confuses (`0`/`o`,
//!   `1`/`l`/`i`, `rn`/`m`, `vv`/`w`, `cl`/`d`). Both sides of a comparison go through it, so a
//!   legitimate `rn` in an agency's name compares equal to an `m` in a forgery, as it should.
//!
//! The table is small on purpose: it covers the characters seen in phishing kits and the
//! Unicode confusables list for Latin lower case, not every code point that could be abused.
//! A character it does not know still counts as one edit in the edit-distance check.

/// The ASCII character `c` imitates, if it is one this table knows.
fn fold_char(c: char) -> Option<char> {
    let folded = match c {
        // Latin letters with marks, and Latin look-alikes from IPA and letterlike symbols.
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' | 'ɑ' => 'a',
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => 'c',
        'ď' | 'đ' => 'd',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => 'e',
        'ĝ' | 'ğ' | 'ġ' | 'ģ' | 'ɡ' => 'g',
        'ĥ' | 'ħ' => 'h',
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => 'i',
        'ĵ' | 'ȷ' => 'j',
        'ķ' => 'k',
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' | 'ℓ' => 'l',
        'ñ' | 'ń' | 'ņ' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => 'o',
        'ŕ' | 'ŗ' | 'ř' => 'r',
        'ś' | 'ŝ' | 'ş' | 'š' => 's',
        'ţ' | 'ť' | 'ŧ' => 't',
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => 'u',
        'ŵ' => 'w',
        'ý' | 'ÿ' | 'ŷ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        // Cyrillic.
        'а' => 'a',
        'с' => 'c',
        'ԁ' => 'd',
        'е' | 'ё' => 'e',
        'һ' => 'h',
        'і' | 'ї' => 'i',
        'ј' => 'j',
        'к' => 'k',
        'ӏ' => 'l',
        'о' => 'o',
        'р' => 'p',
        'ԛ' => 'q',
        'ѕ' => 's',
        'ԝ' => 'w',
        'х' => 'x',
        'у' | 'ү' => 'y',
        // Greek.
        'α' => 'a',
        'ϲ' => 'c',
        'ε' => 'e',
        'ι' => 'i',
        'ϳ' => 'j',
        'κ' => 'k',
        'ο' => 'o',
        'ρ' => 'p',
        'υ' => 'u',
        'ν' => 'v',
        'ω' => 'w',
        'χ' => 'x',
        // Armenian.
        'հ' => 'h',
        'ո' => 'n',
        'օ' => 'o',
        'ս' => 'u',
        // Full-width forms, which some input methods produce and IDNA maps to ASCII.
        '\u{FF41}'..='\u{FF5A}' => char::from_u32(u32::from(c) - 0xFF41 + u32::from('a'))?,
        '\u{FF10}'..='\u{FF19}' => char::from_u32(u32::from(c) - 0xFF10 + u32::from('0'))?,
        '\u{FF0D}' => '-',
        _ => return None,
    };
    Some(folded)
}

/// `s` with every character this table knows replaced by the ASCII one it imitates.
pub(crate) fn fold(s: &str) -> String {
    s.chars().map(|c| fold_char(c).unwrap_or(c)).collect()
}

/// Folded text with easily confused ASCII merged. Only for comparing; never shown.
///
/// Multi-letter look-alikes are expanded (`m` to `rn`) rather than contracted: contracting
/// `vvv` is ambiguous (`wv` or `vw`), expanding `w` never is.
pub(crate) fn skeleton(folded: &str) -> String {
    let mut out = String::with_capacity(folded.len() + 4);
    for c in folded.chars() {
        match c {
            '0' => out.push('o'),
            '1' | 'i' => out.push('l'),
            '5' => out.push('s'),
            'm' => out.push_str("rn"),
            'w' => out.push_str("vv"),
            'd' => out.push_str("cl"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_scripts_fold_to_the_latin_they_imitate() {
        assert_eq!(fold("ѕрrіngfіеldрd"), "springfieldpd");
        assert_eq!(fold("ｐｏｌｉｃｅ"), "police");
        assert_eq!(fold("münchen"), "munchen");
        assert_eq!(fold("東京"), "東京");
    }

    #[test]
    fn easily_confused_ascii_shares_a_skeleton() {
        for (a, b) in [
            ("springfieldpd", "spr1ngf1eldpd"),
            ("police", "pol1ce"),
            ("gov", "g0v"),
            ("modern", "modem"),
            ("www", "vvvvvv"),
            ("dallas", "clallas"),
        ] {
            assert_eq!(skeleton(a), skeleton(b), "{a} / {b}");
        }
        assert_ne!(skeleton("berlin"), skeleton("bern"));
    }
}

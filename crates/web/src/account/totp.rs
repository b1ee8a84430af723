//! Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP): HMAC-SHA1, 30-second steps,
//! six digits, as every authenticator app expects. A code is accepted for the step before and
//! after the current one (clock drift); the store refuses a step already used.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;

pub const STEP_SECONDS: i64 = 30;
pub const DIGITS: u32 = 6;
/// How many steps either side of now are accepted.
pub const DRIFT: i64 = 1;
/// The issuer shown in the authenticator app.
pub const ISSUER: &str = "Custodian";

/// A new 160-bit secret (the size RFC 4226 recommends).
pub fn new_secret() -> Vec<u8> {
    let mut s = vec![0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut s);
    s
}

/// The step a moment falls in.
pub fn step_at(at: DateTime<Utc>) -> u64 {
    u64::try_from(at.timestamp().div_euclid(STEP_SECONDS)).unwrap_or(0)
}

/// HOTP of one counter value, as a zero-padded string.
pub fn hotp(secret: &[u8], counter: u64) -> String {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = usize::from(h[h.len() - 1] & 0x0f);
    let bin = (u32::from(h[offset]) & 0x7f) << 24
        | u32::from(h[offset + 1]) << 16
        | u32::from(h[offset + 2]) << 8
        | u32::from(h[offset + 3]);
    format!(
        "{:0width$}",
        bin % 10u32.pow(DIGITS),
        width = DIGITS as usize
    )
}

/// The code for a moment (what the authenticator shows then).
pub fn code_at(secret: &[u8], at: DateTime<Utc>) -> String {
    hotp(secret, step_at(at))
}

/// The step whose code `typed` is, within the drift window around `now`, if any. The
/// comparison looks at every candidate so that its time does not depend on which matched.
pub fn matching_step(secret: &[u8], typed: &str, now: DateTime<Utc>) -> Option<u64> {
    let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    if typed.len() != DIGITS as usize || !typed.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let current = step_at(now);
    let mut found = None;
    for d in -DRIFT..=DRIFT {
        let Some(step) = current.checked_add_signed(d) else {
            continue;
        };
        let code = hotp(secret, step);
        let same = code
            .bytes()
            .zip(typed.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
        if same && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// RFC 4648 base32 without padding: how secrets are typed into authenticator apps.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Decodes base32 as [`base32`] writes it (case and spaces ignored).
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let v = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as u32 - 'A' as u32,
            c @ '2'..='7' => c as u32 - '2' as u32 + 26,
            _ => return None,
        };
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// The `otpauth://` URI an authenticator app reads from the QR code.
pub fn otpauth_uri(secret: &[u8], account: &str) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'@' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        enc(ISSUER),
        enc(account),
        base32(secret),
        enc(ISSUER)
    )
}

/// The QR code of the URI as an SVG image (dark modules on white, with a quiet zone).
pub fn qr_svg(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    // Inline in HTML the XML declaration is noise: keep the <svg> element only.
    svg.find("<svg").map(|at| svg[at..].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn rfc6238_vectors() {
        // RFC 6238 appendix B (SHA-1), last six of the eight digits.
        let secret = b"12345678901234567890";
        let at = |t: i64| Utc.timestamp_opt(t, 0).unwrap();
        assert_eq!(code_at(secret, at(59)), "287082");
        assert_eq!(code_at(secret, at(1_111_111_109)), "081804");
        assert_eq!(code_at(secret, at(1_234_567_890)), "005924");
        assert_eq!(code_at(secret, at(2_000_000_000)), "279037");
    }

    #[test]
    fn drift_of_one_step_is_accepted_and_no_more() {
        let secret = new_secret();
        let now = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let prev = code_at(&secret, now - chrono::Duration::seconds(30));
        assert_eq!(matching_step(&secret, &prev, now), Some(step_at(now) - 1));
        let old = code_at(&secret, now - chrono::Duration::seconds(90));
        assert_eq!(matching_step(&secret, &old, now), None);
        assert_eq!(matching_step(&secret, "12345", now), None);
    }

    #[test]
    fn base32_round_trips() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        let s = new_secret();
        assert_eq!(base32_decode(&base32(&s).to_lowercase()).unwrap(), s);
    }

    #[test]
    fn the_qr_code_is_svg() {
        let svg = qr_svg(&otpauth_uri(b"12345678901234567890", "a@b.gov")).unwrap();
        assert!(svg.starts_with("<svg"));
    }
}

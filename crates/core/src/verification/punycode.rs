//! Punycode (RFC 3492), the encoding behind internationalised domain names (`xn--` labels).
//!
//! A forged request can come from `xn--...` that a mail client shows as a perfect copy of an
//! agency's domain in Cyrillic or Greek letters. Decoding the label lets the lookalike check see
//! the characters the reviewer would see; encoding lets a Unicode domain typed into a form be
//! compared with the ASCII form an admin verified. Hand-written because the algorithm is short
//! and the core crate takes no dependency for it.

const BASE: u32 = 36;
const T_MIN: u32 = 1;
const T_MAX: u32 = 26;
const SKEW: u32 = 38;
const DAMP: u32 = 700;
const INITIAL_BIAS: u32 = 72;
const INITIAL_N: u32 = 128;

fn adapt(delta: u32, num_points: u32, first_time: bool) -> u32 {
    let mut delta = if first_time { delta / DAMP } else { delta / 2 };
    delta += delta / num_points;
    let mut k = 0;
    while delta > ((BASE - T_MIN) * T_MAX) / 2 {
        delta /= BASE - T_MIN;
        k += BASE;
    }
    k + (((BASE - T_MIN + 1) * delta) / (delta + SKEW))
}

fn threshold(k: u32, bias: u32) -> u32 {
    if k <= bias {
        T_MIN
    } else if k >= bias + T_MAX {
        T_MAX
    } else {
        k - bias
    }
}

fn digit_value(b: u8) -> Option<u32> {
    match b {
        b'a'..=b'z' => Some(u32::from(b - b'a')),
        b'A'..=b'Z' => Some(u32::from(b - b'A')),
        b'0'..=b'9' => Some(u32::from(b - b'0') + 26),
        _ => None,
    }
}

fn digit_char(d: u32) -> Option<char> {
    match d {
        0..=25 => char::from_u32(u32::from(b'a') + d),
        26..=35 => char::from_u32(u32::from(b'0') + d - 26),
        _ => None,
    }
}

/// Decodes the part of a label after `xn--`. `None` for anything that is not valid Punycode,
/// including overflow, which a hostile label may try to provoke.
pub(crate) fn decode(input: &str) -> Option<String> {
    let (basic, extended) = match input.rfind('-') {
        Some(i) => (&input[..i], &input[i + 1..]),
        None => ("", input),
    };
    if !basic.is_ascii() || !extended.is_ascii() {
        return None;
    }
    let mut output: Vec<char> = basic.chars().collect();
    let mut n = INITIAL_N;
    let mut i: u32 = 0;
    let mut bias = INITIAL_BIAS;
    let bytes = extended.as_bytes();
    let mut pos = 0;
    while pos < bytes.len() {
        let old_i = i;
        let mut w: u32 = 1;
        let mut k = BASE;
        loop {
            let digit = digit_value(*bytes.get(pos)?)?;
            pos += 1;
            i = i.checked_add(digit.checked_mul(w)?)?;
            let t = threshold(k, bias);
            if digit < t {
                break;
            }
            w = w.checked_mul(BASE - t)?;
            k = k.checked_add(BASE)?;
        }
        let len = u32::try_from(output.len()).ok()?.checked_add(1)?;
        bias = adapt(i - old_i, len, old_i == 0);
        n = n.checked_add(i / len)?;
        i %= len;
        let c = char::from_u32(n)?;
        // Basic code points may only appear in the literal part.
        if c.is_ascii() {
            return None;
        }
        output.insert(usize::try_from(i).ok()?, c);
        i += 1;
    }
    Some(output.into_iter().collect())
}

/// Encodes a label into the Punycode that follows `xn--`.
pub(crate) fn encode(input: &str) -> Option<String> {
    let chars: Vec<u32> = input.chars().map(u32::from).collect();
    let mut output: String = input.chars().filter(char::is_ascii).collect();
    let basic = u32::try_from(output.len()).ok()?;
    let total = u32::try_from(chars.len()).ok()?;
    if basic > 0 {
        output.push('-');
    }
    let mut n = INITIAL_N;
    let mut delta: u32 = 0;
    let mut bias = INITIAL_BIAS;
    let mut handled = basic;
    while handled < total {
        let m = chars.iter().copied().filter(|&c| c >= n).min()?;
        delta = delta.checked_add((m - n).checked_mul(handled + 1)?)?;
        n = m;
        for &c in &chars {
            if c < n {
                delta = delta.checked_add(1)?;
            }
            if c == n {
                let mut q = delta;
                let mut k = BASE;
                loop {
                    let t = threshold(k, bias);
                    if q < t {
                        break;
                    }
                    output.push(digit_char(t + (q - t) % (BASE - t))?);
                    q = (q - t) / (BASE - t);
                    k += BASE;
                }
                output.push(digit_char(q)?);
                bias = adapt(delta, handled + 1, handled == basic);
                delta = 0;
                handled += 1;
            }
        }
        delta = delta.checked_add(1)?;
        n = n.checked_add(1)?;
    }
    Some(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors checked against Python's `punycode` codec.
    const VECTORS: &[(&str, &str)] = &[
        ("bücher", "bcher-kva"),
        ("münchen", "mnchen-3ya"),
        ("аррӏе", "80ak6aa92e"),
        ("ѕрrіngfіеldрd", "rngfldd-bhg8gh6toad"),
        ("springfiеldpd", "springfildpd-zck"),
    ];

    #[test]
    fn known_vectors_round_trip() {
        for (unicode, ascii) in VECTORS {
            assert_eq!(encode(unicode).as_deref(), Some(*ascii), "{unicode}");
            assert_eq!(decode(ascii).as_deref(), Some(*unicode), "{ascii}");
        }
    }

    #[test]
    fn garbage_is_refused_not_panicked_on() {
        for bad in ["!!", "a-ü", "99999999999", "zzzzzzzzzzzzzzzz", "-", "a-b"] {
            let _ = decode(bad);
        }
        assert_eq!(decode("a-b"), None, "ends in the middle of a number");
        assert_eq!(
            decode("99999999999999"),
            None,
            "overflows, or ends mid-number"
        );
    }

    proptest::proptest! {
        #[test]
        fn any_label_round_trips(s in "[a-z0-9\u{e0}-\u{ff}\u{430}-\u{44f}\u{3b1}-\u{3c9}]{1,20}") {
            let encoded = encode(&s);
            proptest::prop_assert!(encoded.is_some());
            proptest::prop_assert_eq!(encoded.and_then(|e| decode(&e)), Some(s));
        }
    }
}

//! Canonical JSON in the style of RFC 8785 (JSON Canonicalization Scheme).
//!
//! Hand-written rather than delegated to `serde_json::to_string` because the
//! bytes are hashed into the audit log forever: they must not change with a
//! serde_json upgrade or with a feature (such as `preserve_order`) that
//! another crate in the build turns on.

use serde_json::{Number, Value};

/// Appends the canonical form of `value` to `out`.
pub fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            // RFC 8785 orders names by UTF-16 code units, which differs from
            // byte or code point order for characters outside the BMP.
            members.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, (name, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, name);
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

/// Appends `s` as a JSON string: only `"`, `\` and control characters are
/// escaped, everything else is written as UTF-8.
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    // Runs of characters that need no escape are copied whole: every character escaped is
    // ASCII, so a byte below 0x80 that is not one of them never splits a character.
    let mut plain = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            b'\t' => "\\t",
            b'\n' => "\\n",
            0x0c => "\\f",
            b'\r' => "\\r",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[plain..i]);
        if escape.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(escape);
        }
        plain = i + 1;
    }
    out.push_str(&s[plain..]);
    out.push('"');
}

fn write_number(out: &mut String, n: &Number) {
    // Integers are written exactly, even beyond 2^53 where RFC 8785 would
    // round them through a double: an audit record must not lose digits.
    if let Some(u) = n.as_u64() {
        out.push_str(&u.to_string());
    } else if let Some(i) = n.as_i64() {
        out.push_str(&i.to_string());
    } else {
        match n.as_f64() {
            Some(f) if f.is_finite() => out.push_str(&ecma_number(f)),
            // Only reachable with serde_json's arbitrary_precision feature;
            // its text is still deterministic for a given value.
            _ => out.push_str(&n.to_string()),
        }
    }
}

/// Formats a finite double as ECMAScript's `Number.prototype.toString` does
/// (ECMA-262 `Number::toString`), the number format RFC 8785 requires.
pub(crate) fn ecma_number(f: f64) -> String {
    if f == 0.0 {
        // Covers -0 as well, which ECMAScript prints as "0".
        return "0".to_owned();
    }
    if f < 0.0 {
        return format!("-{}", ecma_number(-f));
    }
    // Rust's `{:e}` yields the fewest digits that round-trip (the `k` of the
    // ECMAScript algorithm), but breaks a tie between two equally close
    // candidates upwards where ECMAScript wants the even one. Formatting
    // with exactly k digits rounds the exact value half-to-even; it is used
    // whenever it still round-trips.
    let shortest = format!("{f:e}");
    let (digits, exponent) = split_scientific(&shortest);
    let rounded = format!("{:.*e}", digits.len().saturating_sub(1), f);
    let (digits, exponent) = if rounded.parse::<f64>() == Ok(f) {
        split_scientific(&rounded)
    } else {
        (digits, exponent)
    };
    let k = digits.len() as i64;
    let n = exponent + 1;
    if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(n as usize);
        format!("{int}.{frac}")
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let sign = if e < 0 { '-' } else { '+' };
        let (first, rest) = digits.split_at(1);
        if rest.is_empty() {
            format!("{first}e{sign}{}", e.abs())
        } else {
            format!("{first}.{rest}e{sign}{}", e.abs())
        }
    }
}

/// Splits Rust's `d.ddde±x` notation into its digits and exponent.
fn split_scientific(sci: &str) -> (String, i64) {
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((sci, "0"));
    let digits = mantissa.chars().filter(char::is_ascii_digit).collect();
    (digits, exponent.parse().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let samples = [
            "",
            "plain",
            "quote \" and backslash \\ inside",
            "\"\\\"",
            "tab\tnew\nline\rcr\u{8}bs\u{c}ff",
            "\u{0}\u{1}\u{1f} controls at the start and \u{1b}",
            "DEL \u{7f} is not escaped",
            "é, ß, 漢字 and 😀 beside \"quotes\" and \u{2028}",
            "ends in an escape\n",
        ];
        for s in samples {
            let mut out = String::new();
            write_string(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    fn canon(v: &Value) -> String {
        let mut s = String::new();
        write_value(&mut s, v);
        s
    }

    #[test]
    fn rfc8785_appendix_b_numbers() {
        let vectors: [(u64, &str); 24] = [
            (0x0000000000000000, "0"),
            (0x8000000000000000, "0"),
            (0x0000000000000001, "5e-324"),
            (0x8000000000000001, "-5e-324"),
            (0x7fefffffffffffff, "1.7976931348623157e+308"),
            (0xffefffffffffffff, "-1.7976931348623157e+308"),
            (0x4340000000000000, "9007199254740992"),
            (0xc340000000000000, "-9007199254740992"),
            (0x4430000000000000, "295147905179352830000"),
            (0x44b52d02c7e14af5, "9.999999999999997e+22"),
            (0x44b52d02c7e14af6, "1e+23"),
            (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
            (0x444b1ae4d6e2ef4e, "999999999999999700000"),
            (0x444b1ae4d6e2ef4f, "999999999999999900000"),
            (0x444b1ae4d6e2ef50, "1e+21"),
            (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
            (0x3eb0c6f7a0b5ed8d, "0.000001"),
            (0x41b3de4355555553, "333333333.3333332"),
            (0x41b3de4355555554, "333333333.33333325"),
            (0x41b3de4355555555, "333333333.3333333"),
            (0x41b3de4355555556, "333333333.3333334"),
            (0x41b3de4355555557, "333333333.33333343"),
            (0xbecbf647612f3696, "-0.0000033333333333333333"),
            (0x43143ff3c1cb0959, "1424953923781206.2"),
        ];
        for (bits, want) in vectors {
            assert_eq!(ecma_number(f64::from_bits(bits)), want, "{bits:#018x}");
        }
    }

    #[test]
    fn numbers_round_trip_through_their_text() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(6962);
        let mut checked = 0;
        while checked < 20_000 {
            let f = f64::from_bits(rng.gen());
            if !f.is_finite() {
                continue;
            }
            checked += 1;
            let text = ecma_number(f);
            assert_eq!(text.parse::<f64>().unwrap(), f, "{text}");
            // The store keeps details as serde_json text; reading it back
            // must give the same double, or the leaf hash would change.
            let v = serde_json::json!(f);
            let back: Value = serde_json::from_str(&v.to_string()).unwrap();
            assert_eq!(canon(&back), canon(&v));
        }
    }

    #[test]
    fn rfc8785_example_document() {
        let input = r#"{
            "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
            "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
            "literals": [null, true, false]
        }"#;
        let v: Value = serde_json::from_str(input).unwrap();
        assert_eq!(
            canon(&v),
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
    }

    #[test]
    fn rfc8785_member_order_is_by_utf16_code_units() {
        let input = r#"{
            "\u20ac": "Euro Sign",
            "\r": "Carriage Return",
            "\ufb33": "Hebrew Letter Dalet With Dagesh",
            "1": "One",
            "\ud83d\ude00": "Emoji: Grinning Face",
            "\u0080": "Control",
            "\u00f6": "Latin Small Letter O With Diaeresis"
        }"#;
        let v: Value = serde_json::from_str(input).unwrap();
        assert_eq!(
            canon(&v),
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
             \"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\
             \"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}"
        );
    }

    #[test]
    fn integers_are_exact_and_integral_floats_match_integers() {
        let v = serde_json::json!([u64::MAX, i64::MIN, 100, 100.0, -0.0, 1.5]);
        assert_eq!(
            canon(&v),
            "[18446744073709551615,-9223372036854775808,100,100,0,1.5]"
        );
    }

    #[test]
    fn nested_objects_are_sorted_recursively() {
        let v = serde_json::json!({"b": {"z": 1, "a": [{"y": 2, "x": 3}]}, "a": null});
        assert_eq!(canon(&v), r#"{"a":null,"b":{"a":[{"x":3,"y":2}],"z":1}}"#);
    }
}

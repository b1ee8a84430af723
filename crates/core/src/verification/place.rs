//! Where a target is, as far as the request itself says: a telephone number in international
//! form carries its country calling code. Used to notice targets outside the agency's country.

use super::risk::Place;
use crate::{Country, Target, TargetKind};

/// Country calling codes and the country each is taken for. `+1` is the North American
/// Numbering Plan, shared by the US, Canada and the Caribbean; it is read as the US, so that a
/// US agency's `+1` target never counts as abroad (the cost: a Canadian `+1` number does not
/// either). Longest codes first, so that `+353` is Ireland, not a `+35x` prefix.
const CALLING_CODES: &[(&str, &str)] = &[
    ("353", "IE"),
    ("358", "FI"),
    ("380", "UA"),
    ("234", "NG"),
    ("351", "PT"),
    ("352", "LU"),
    ("420", "CZ"),
    ("852", "HK"),
    ("971", "AE"),
    ("972", "IL"),
    ("30", "GR"),
    ("31", "NL"),
    ("32", "BE"),
    ("33", "FR"),
    ("34", "ES"),
    ("36", "HU"),
    ("39", "IT"),
    ("40", "RO"),
    ("41", "CH"),
    ("43", "AT"),
    ("44", "GB"),
    ("45", "DK"),
    ("46", "SE"),
    ("47", "NO"),
    ("48", "PL"),
    ("49", "DE"),
    ("52", "MX"),
    ("55", "BR"),
    ("61", "AU"),
    ("64", "NZ"),
    ("65", "SG"),
    ("81", "JP"),
    ("82", "KR"),
    ("86", "CN"),
    ("90", "TR"),
    ("91", "IN"),
    ("27", "ZA"),
    ("7", "RU"),
    ("1", "US"),
];

/// The country of a telephone number written with its `+` calling code, if the code is known.
pub fn phone_country(number: &str) -> Option<Country> {
    let digits = number.trim().strip_prefix('+')?;
    let digits: String = digits.chars().filter(char::is_ascii_digit).collect();
    let mut codes: Vec<&(&str, &str)> = CALLING_CODES.iter().collect();
    codes.sort_by_key(|(code, _)| std::cmp::Reverse(code.len()));
    codes
        .into_iter()
        .find(|(code, _)| digits.starts_with(code))
        .and_then(|(_, country)| Country::parse(country).ok())
}

/// The places of the targets whose place the request reveals (telephone numbers in
/// international form).
pub fn target_places(targets: &[Target]) -> Vec<Place> {
    targets
        .iter()
        .filter(|t| t.kind == TargetKind::Phone)
        .filter_map(|t| phone_country(&t.value))
        .map(|country| Place {
            country,
            region: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calling_codes_name_countries() {
        assert_eq!(phone_country("+12175550100"), Some(Country::US));
        assert_eq!(phone_country("+442071230000"), Some(Country::GB));
        assert_eq!(
            phone_country("+353 1 555 0100").map(|c| c.code().to_string()),
            Some("IE".to_string())
        );
        assert_eq!(
            phone_country("+4930123456").map(|c| c.code().to_string()),
            Some("DE".to_string())
        );
        assert_eq!(phone_country("2175550100"), None, "no calling code");
        assert_eq!(phone_country("+999123"), None);
    }
}

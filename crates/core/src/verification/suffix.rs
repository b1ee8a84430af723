//! Where the name an agency registered ends and the registry's part begins.
//!
//! `met.police.uk` is the Metropolitan Police's name `met` under the registry suffix `police.uk`;
//! `polizei.berlin.de` is `berlin.de` with a subdomain. Comparing names without knowing this
//! would call every `.gov.uk` domain a lookalike of every other. The full Public Suffix List is
//! large and changes; the handful of rules below cover the government and commercial suffixes
//! that agencies and their imitators use, and fall back to "the last label" for the rest.

use super::confusable::skeleton;

/// Registry suffixes of more than one label that the general rule below would miss.
const KNOWN: &[&str] = &[
    "police.uk",
    "nhs.uk",
    "mod.uk",
    "sch.uk",
    "ltd.uk",
    "plc.uk",
    "me.uk",
    "gc.ca",
    "gouv.qc.ca",
    "gov.bc.ca",
    "gov.on.ca",
    "judiciary.uk",
    // Federal namespaces whose subdomains belong to separate agencies (`fedpol.admin.ch`).
    "admin.ch",
    "bund.de",
];

/// Second-level labels that country registries use for open or public categories
/// (`gov.uk`, `co.uk`, `com.au`, `gouv.fr`, `gob.mx`, `go.jp`, `gv.at`, `govt.nz`).
const CATEGORY_LABELS: &[&str] = &[
    "ac", "co", "com", "edu", "go", "gob", "gouv", "gov", "govt", "gv", "mil", "net", "nic", "or",
    "org", "police",
];

/// US states and territories: `il.us`, `state.il.us` style names sit under `<state>.us`.
const US_STATES: &[&str] = &[
    "ak", "al", "ar", "as", "az", "ca", "co", "ct", "dc", "de", "fl", "ga", "gu", "hi", "ia", "id",
    "il", "in", "ks", "ky", "la", "ma", "md", "me", "mi", "mn", "mo", "ms", "mt", "nc", "nd", "ne",
    "nh", "nj", "nm", "nv", "ny", "oh", "ok", "or", "pa", "pr", "ri", "sc", "sd", "tn", "tx", "ut",
    "va", "vi", "vt", "wa", "wi", "wv", "wy",
];

/// How many trailing labels of `labels` (folded, lower case) are the registry's suffix. Always
/// leaves at least one label for the registered name. Compared by skeleton, so `po1ice.uk` is
/// read as the `police.uk` it imitates and the difference is reported, not hidden in the name.
pub(crate) fn suffix_len(labels: &[String]) -> usize {
    let n = labels.len();
    if n < 2 {
        return 0;
    }
    let skel: Vec<String> = labels.iter().map(|l| skeleton(l)).collect();
    let ends_with = |suffix: &str| {
        let parts: Vec<String> = suffix.split('.').map(skeleton).collect();
        parts.len() < n && skel[n - parts.len()..] == parts[..]
    };
    let known = KNOWN
        .iter()
        .filter(|s| ends_with(s))
        .map(|s| s.split('.').count())
        .max();
    if let Some(len) = known {
        return len;
    }
    if n >= 3 {
        let last = &skel[n - 1];
        let second = &skel[n - 2];
        let is_country = last.len() == 2 && last.chars().all(|c| c.is_ascii_alphabetic());
        let category = CATEGORY_LABELS.iter().any(|c| skeleton(c) == *second);
        let us_state = last == "us" && US_STATES.iter().any(|s| skeleton(s) == *second);
        if is_country && (category || us_state) {
            return 2;
        }
    }
    1
}

/// The ISO country code a suffix ends in (`uk` for `gov.uk`), if it ends in one.
pub(crate) fn country_code(suffix: &[String]) -> Option<&str> {
    let last = suffix.last()?;
    (last.len() == 2 && last.chars().all(|c| c.is_ascii_alphabetic())).then_some(last.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn len(domain: &str) -> usize {
        let labels: Vec<String> = domain.split('.').map(str::to_string).collect();
        suffix_len(&labels)
    }

    #[test]
    fn registry_suffixes_are_found() {
        assert_eq!(len("springfieldpd.gov"), 1);
        assert_eq!(len("met.police.uk"), 2);
        assert_eq!(len("homeoffice.gov.uk"), 2);
        assert_eq!(len("example.co.uk"), 2);
        assert_eq!(len("afp.gov.au"), 2);
        assert_eq!(len("rcmp-grc.gc.ca"), 2);
        assert_eq!(len("interieur.gouv.fr"), 2);
        assert_eq!(len("polizei.berlin.de"), 1);
        assert_eq!(
            len("police.govt.nz"),
            2,
            "govt.nz: police is the registered name"
        );
        assert_eq!(len("state.il.us"), 2);
        assert_eq!(
            len("po1ice.uk"),
            1,
            "the suffix itself is never the whole name"
        );
        assert_eq!(len("met.po1ice.uk"), 2);
    }

    #[test]
    fn country_codes_come_from_the_last_label() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(country_code(&s(&["gov", "uk"])), Some("uk"));
        assert_eq!(country_code(&s(&["gov"])), None);
        assert_eq!(country_code(&s(&["de"])), Some("de"));
    }
}

//! Does the signature block of a request belong to the agency the officer is registered with?
//!
//! A forger copies a real officer's name but often signs with another agency's name, a
//! free-mail address, or a lookalike contact domain. The comparison is deliberately simple: the
//! agency's distinctive words, its initials, or one of its domains must appear, and any e-mail
//! address or web address in the block must be on one of its domains.

use super::confusable::fold;

/// Words that say what kind of body an agency is, not which one. `Springfield Police
/// Department` is identified by `Springfield`; `PD` or `Police Dept.` in a signature is fine.
const GENERIC: &[&str] = &[
    "agency",
    "and",
    "authority",
    "bureau",
    "city",
    "county",
    "de",
    "department",
    "dept",
    "der",
    "des",
    "die",
    "division",
    "du",
    "enforcement",
    "federal",
    "for",
    "la",
    "law",
    "le",
    "ministry",
    "national",
    "of",
    "office",
    "pd",
    "police",
    "polizei",
    "public",
    "safety",
    "service",
    "services",
    "sheriff",
    "sheriffs",
    "state",
    "the",
    "unit",
];

/// Words skipped when forming initials: `Federal Bureau of Investigation` is `FBI`.
const JOINERS: &[&str] = &["of", "the", "and", "for", "de", "du", "des", "der"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SignatureCheck {
    Matches,
    /// Neither the agency's name, its initials nor one of its domains appears.
    NamesNeither,
    /// An e-mail or web address on a domain that is not the agency's.
    ForeignAddress(String),
}

fn words(s: &str) -> Vec<String> {
    fold(&s.to_lowercase())
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Domains of e-mail and web addresses written in the text.
fn addresses(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || "<>()[],;\"'".contains(c))
        .filter_map(|token| {
            let token = token.trim_end_matches(['.', ':']).to_lowercase();
            let token = token.strip_prefix("mailto:").unwrap_or(&token);
            let host = if let Some((_, d)) = token.rsplit_once('@') {
                d.to_string()
            } else if let Some((_, rest)) = token.split_once("://") {
                rest.split(['/', '?', '#', ':'])
                    .next()
                    .unwrap_or("")
                    .to_string()
            } else if token.starts_with("www.") {
                token
                    .split(['/', '?', '#', ':'])
                    .next()
                    .unwrap_or("")
                    .to_string()
            } else {
                return None;
            };
            (host.contains('.') && !host.starts_with('.')).then_some(host)
        })
        .collect()
}

fn on_domains(host: &str, domains: &[String]) -> bool {
    let host = host.strip_prefix("www.").unwrap_or(host);
    domains.iter().any(|d| {
        let d = d.to_ascii_lowercase();
        host == d || host.ends_with(&format!(".{d}"))
    })
}

pub(crate) fn check_signature(
    signature: &str,
    agency_name: &str,
    domains: &[String],
) -> SignatureCheck {
    for host in addresses(signature) {
        if !on_domains(&host, domains) {
            return SignatureCheck::ForeignAddress(host);
        }
    }
    let said = words(signature);
    let name = words(agency_name);
    let distinctive: Vec<&String> = name
        .iter()
        .filter(|w| !GENERIC.contains(&w.as_str()))
        .collect();
    let by_name = !distinctive.is_empty() && distinctive.iter().all(|w| said.contains(w));
    let initials: String = name
        .iter()
        .filter(|w| !JOINERS.contains(&w.as_str()))
        .filter_map(|w| w.chars().next())
        .collect();
    let by_initials = initials.chars().count() >= 2 && said.contains(&initials);
    let text = signature.to_lowercase();
    let by_domain = domains.iter().any(|d| {
        let d = d.to_ascii_lowercase();
        let first = d.split('.').next().unwrap_or("").to_string();
        text.contains(&d) || (first.len() >= 4 && said.contains(&first))
    });
    if by_name || by_initials || by_domain {
        SignatureCheck::Matches
    } else {
        SignatureCheck::NamesNeither
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(sig: &str) -> SignatureCheck {
        check_signature(
            sig,
            "Springfield Police Department",
            &["springfieldpd.gov".to_string()],
        )
    }

    #[test]
    fn the_agency_is_recognised_however_it_signs() {
        for sig in [
            "Det. Jane Smith\nSpringfield Police Department\n(217) 555-0100",
            "Det. J. Smith, SPRINGFIELD PD",
            "Sgt. Reyes - SPD Major Crimes",
            "J. Smith | springfieldpd.gov",
            "jsmith@springfieldpd.gov",
            "Jane Smith <jane.smith@detectives.springfieldpd.gov>",
            "Det. Smith, Springfield P.D., https://www.springfieldpd.gov/contact",
        ] {
            assert_eq!(check(sig), SignatureCheck::Matches, "{sig}");
        }
    }

    #[test]
    fn another_agency_or_a_foreign_address_does_not_match() {
        assert_eq!(
            check("Det. Jane Smith\nShelbyville Police Department"),
            SignatureCheck::NamesNeither
        );
        assert_eq!(
            check("Det. Jane Smith, Springfield PD, springfield.pd@gmail.com"),
            SignatureCheck::ForeignAddress("gmail.com".into())
        );
        assert_eq!(
            check("Springfield Police Department, reply to records@springfieldpd-gov.com"),
            SignatureCheck::ForeignAddress("springfieldpd-gov.com".into())
        );
    }

    #[test]
    fn initials_skip_joining_words() {
        assert_eq!(
            check_signature("SA Mulder, FBI", "Federal Bureau of Investigation", &[]),
            SignatureCheck::Matches
        );
        assert_eq!(
            check_signature("SA Mulder, DEA", "Federal Bureau of Investigation", &[]),
            SignatureCheck::NamesNeither
        );
    }
}

//! Who may serve which instrument, treaty requests, and the country a request is counted under.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Country, ReceivedVia};

use super::case::PolicyCase;
use super::profile::ProcessPolicy;

/// The authorities that may issue an instrument, as a profile names them: `us`, `non_us`,
/// `eu_member`, `any`, or one ISO country code such as `GB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuerScope {
    Us,
    NonUs,
    EuMember,
    Any,
    Only(Country),
}

impl IssuerScope {
    pub fn parse(s: &str) -> Result<IssuerScope, String> {
        match s {
            "us" => Ok(IssuerScope::Us),
            "non_us" => Ok(IssuerScope::NonUs),
            "eu_member" => Ok(IssuerScope::EuMember),
            "any" => Ok(IssuerScope::Any),
            other => Country::parse(other).map(IssuerScope::Only).map_err(|_| {
                format!(
                    "unknown issuer '{other}'; expected one of: us, non_us, eu_member, any, \
                     or an ISO 3166-1 alpha-2 country code"
                )
            }),
        }
    }

    pub fn admits(&self, country: Country) -> bool {
        match self {
            IssuerScope::Us => country.is_us(),
            IssuerScope::NonUs => !country.is_us(),
            IssuerScope::EuMember => country.is_eu_member(),
            IssuerScope::Any => true,
            IssuerScope::Only(c) => *c == country,
        }
    }

    /// In words, for explanations: "a US authority".
    pub fn describe(&self) -> String {
        match self {
            IssuerScope::Us => "a US authority".to_string(),
            IssuerScope::NonUs => "a non-US authority".to_string(),
            IssuerScope::EuMember => "an authority of an EU member state".to_string(),
            IssuerScope::Any => "any authority".to_string(),
            IssuerScope::Only(c) => format!("an authority of {} ({c})", c.name()),
        }
    }
}

impl fmt::Display for IssuerScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IssuerScope::Us => f.write_str("us"),
            IssuerScope::NonUs => f.write_str("non_us"),
            IssuerScope::EuMember => f.write_str("eu_member"),
            IssuerScope::Any => f.write_str("any"),
            IssuerScope::Only(c) => write!(f, "{c}"),
        }
    }
}

impl Serialize for IssuerScope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IssuerScope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        IssuerScope::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A foreign state's request that the US Department of Justice turned into US process
/// (18 U.S.C. 3512). It is decided as that US process whatever `issuing_country` says, because
/// the instrument served is the US court's, not the foreign authority's.
pub(super) fn is_treaty_request(case: &PolicyCase, policy: &ProcessPolicy) -> bool {
    case.received_via == ReceivedVia::MlatDoj && policy.served_via.contains(&ReceivedVia::MlatDoj)
}

/// The transparency report counts a treaty request under the state that asked for it, not under
/// the United States whose court issued the process.
pub fn counted_under(case: &PolicyCase) -> Country {
    match (case.received_via, case.requesting_country) {
        (ReceivedVia::MlatDoj, Some(requesting)) => requesting,
        _ => case.issuing_country,
    }
}

/// The channels in words, for telling an officer how to serve properly.
pub fn channel_label(via: ReceivedVia) -> &'static str {
    match via {
        ReceivedVia::Portal => "the law enforcement portal",
        ReceivedVia::EEvidence => "the EU e-Evidence system",
        ReceivedVia::MlatDoj => "the US Department of Justice under a treaty",
        ReceivedVia::Email => "e-mail",
        ReceivedVia::Postal => "post",
    }
}

pub(super) fn channels_in_words(channels: &[ReceivedVia]) -> String {
    let words: Vec<&str> = channels.iter().map(|c| channel_label(*c)).collect();
    match words.as_slice() {
        [] => "no channel".to_string(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_and_admit() {
        let de = Country::parse("DE").unwrap();
        assert!(IssuerScope::parse("eu_member").unwrap().admits(de));
        assert!(!IssuerScope::parse("us").unwrap().admits(de));
        assert!(IssuerScope::parse("non_us").unwrap().admits(de));
        assert!(IssuerScope::parse("GB").unwrap().admits(Country::GB));
        assert!(!IssuerScope::parse("GB").unwrap().admits(de));
        assert!(IssuerScope::parse("europe").is_err());
    }

    #[test]
    fn channels_read_as_a_list() {
        assert_eq!(
            channels_in_words(&[ReceivedVia::Portal, ReceivedVia::MlatDoj]),
            "the law enforcement portal or the US Department of Justice under a treaty"
        );
    }
}

//! Agencies: the government bodies that serve demands, and whether the provider trusts them yet.

use crate::named_enum;

named_enum! {
    pub enum AgencyKind ("agency kind") {
        LocalPolice = "local_police",
        StatePolice = "state_police",
        FederalAgency = "federal_agency",
        Prosecutor = "prosecutor",
        Court = "court",
        ForeignLawEnforcement = "foreign_law_enforcement",
        ForeignAuthority = "foreign_authority",
        Regulator = "regulator",
        Other = "other",
    }
}

named_enum! {
    /// An agency is trusted only once an admin has checked it against an independent source.
    pub enum AgencyStatus ("agency status") {
        Pending = "pending",
        Verified = "verified",
        Suspended = "suspended",
    }
}

/// Checks that a domain looks like a registrable DNS name (`police.springfield.gov`).
pub fn parse_domain(raw: &str) -> Result<String, String> {
    let d = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    let ok = d.contains('.')
        && d.len() <= 253
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if ok {
        Ok(d)
    } else {
        Err(format!("'{raw}' is not a domain name"))
    }
}

/// The domain part of an e-mail address, lower-cased.
pub fn email_domain(email: &str) -> Option<String> {
    email
        .rsplit_once('@')
        .map(|(_, d)| d.trim().to_ascii_lowercase())
}

/// Whether `email` belongs to one of the agency's verified domains (a subdomain counts).
pub fn email_on_domains(email: &str, domains: &[String]) -> bool {
    let Some(d) = email_domain(email) else {
        return false;
    };
    domains
        .iter()
        .any(|v| d == *v || d.ends_with(&format!(".{v}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_checked() {
        assert_eq!(
            parse_domain("Police.Springfield.GOV.").unwrap(),
            "police.springfield.gov"
        );
        assert!(parse_domain("localhost").is_err());
        assert!(parse_domain("-bad.gov").is_err());
    }

    #[test]
    fn e_mail_must_sit_on_a_verified_domain() {
        let domains = vec!["springfield.gov".to_string()];
        assert!(email_on_domains("a@springfield.gov", &domains));
        assert!(email_on_domains("a@pd.springfield.gov", &domains));
        assert!(!email_on_domains("a@springfield.gov.evil.com", &domains));
        assert!(!email_on_domains("a@notspringfield.gov", &domains));
    }
}

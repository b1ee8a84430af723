//! What the law itself allows, whatever a profile says. A profile may be stricter than the law
//! but never looser: `PolicyProfile::from_toml` refuses a profile that crosses these lines, and
//! `evaluate` checks them again so that a profile built in code cannot cross them either.

use crate::LegalProcess;

use super::explain::process_noun;
use super::profile::Citation;

/// Whether any version of this instrument can lawfully reach stored or intercepted content.
///
/// Content needs a warrant (18 U.S.C. 2703(a)-(b)), a wiretap order (2518), a FISA order, an
/// emergency (2702(b)(8)), an order under the US-UK agreement (2702(b)(9)) or a judge-backed EU
/// production order (Regulation (EU) 2023/1543, Art. 4(2)). Everything else stops short of it.
pub fn law_permits_content(process: LegalProcess) -> bool {
    matches!(
        process,
        LegalProcess::Wiretap
            | LegalProcess::SearchWarrant
            | LegalProcess::FisaOrder
            | LegalProcess::Emergency
            | LegalProcess::CloudActOrder
            | LegalProcess::Epoc
    )
}

/// The citation used when the law's ceiling overrides a profile that would disclose content.
pub(super) fn content_ceiling(process: LegalProcess) -> Citation {
    Citation {
        rule: "law.content_ceiling".to_string(),
        basis: "18 U.S.C. 2702(a) and 2703(a)-(b)".to_string(),
        reason: format!(
            "The law does not let {} reach content, whatever the profile says",
            process_noun(process)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_six_instruments_reach_content() {
        let reach: Vec<_> = LegalProcess::ALL
            .iter()
            .filter(|p| law_permits_content(**p))
            .collect();
        assert_eq!(reach.len(), 6);
        assert!(!law_permits_content(LegalProcess::Subpoena));
        assert!(!law_permits_content(LegalProcess::NationalSecurityLetter));
        assert!(!law_permits_content(LegalProcess::Preservation));
    }
}

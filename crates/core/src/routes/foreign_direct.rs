//! Direct demands from non-US authorities outside the recognised routes (`foreign_direct`):
//! nothing is disclosed; the authority is told to ask through a mutual legal assistance treaty
//! (MLAT) or letters rogatory, which its central authority sends to the US Department of
//! Justice, Office of International Affairs (OIA). The request ends `redirected` and is counted
//! under its issuing state with no response and no data.
//!
//! The reviewer confirms the redirect (the policy engine recommends it, route
//! `redirect_mlat`): a demand filed under the wrong process, e.g. a UK order served as a direct
//! demand, is then put right instead of being turned away unread.

use crate::{Country, LegalProcess};

/// Where a foreign central authority sends a request for mutual legal assistance.
pub const OIA_CONTACT: &str = "Office of International Affairs, Criminal Division, \
US Department of Justice, 1301 New York Avenue NW, Washington, DC 20530, United States; \
telephone +1 202 514 0000";

/// The US law behind the redirect: the provider may not disclose content to a foreign
/// government without US process (18 U.S.C. 2702(a)); the treaty route produces that process
/// (18 U.S.C. 3512; 28 U.S.C. 1782).
pub const BASIS: &str = "18 U.S.C. 2702(a); 18 U.S.C. 3512; 28 U.S.C. 1782";

/// Whether a reviewer may send the MLAT guidance for a request: a demand from a non-US
/// authority that is not already on a recognised route's own process. A US authority's process
/// is rejected or decided, never redirected abroad.
pub fn may_redirect(process: LegalProcess, issuing_country: Country) -> Result<(), String> {
    if issuing_country.is_us() {
        return Err(format!(
            "{} from a US authority is decided or rejected, not redirected to the treaty route",
            process.label()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_foreign_demands_are_redirected() {
        assert!(may_redirect(LegalProcess::ForeignDirect, Country::parse("BR").unwrap()).is_ok());
        assert!(may_redirect(LegalProcess::Subpoena, Country::US).is_err());
        assert!(OIA_CONTACT.contains("Office of International Affairs"));
    }
}

//! Treaty requests: a foreign state's request that the US Department of Justice, Office of
//! International Affairs, turned into US process (18 U.S.C. 3512) arrives as that process with
//! `received_via: mlat_doj` and `requesting_country` set. It is decided as the US process it is
//! (the policy engine's `jurisdiction.treaty_request` gate) and counted in the transparency
//! report under the requesting state, not under the United States.

use crate::{Country, FieldError, LegalProcess, ReceivedVia};

/// The state a treaty request is counted under; None for any other request.
pub fn requesting_state(via: ReceivedVia, requesting: Option<Country>) -> Option<Country> {
    match (via, requesting) {
        (ReceivedVia::MlatDoj, Some(c)) => Some(c),
        _ => None,
    }
}

/// The intake checks of a treaty request: it names the requesting state, which is not the
/// United States, and it is US process (a foreign instrument would not have come through the
/// Department of Justice).
pub fn check(
    process: LegalProcess,
    via: ReceivedVia,
    requesting: Option<Country>,
) -> Result<(), FieldError> {
    match (via, requesting) {
        (ReceivedVia::MlatDoj, None) => Err(FieldError::new(
            "requesting_country",
            "a treaty request from the Department of Justice names the requesting state",
        )),
        (ReceivedVia::MlatDoj, Some(c)) if c.is_us() => Err(FieldError::new(
            "requesting_country",
            "the requesting state of a treaty request is the foreign state that asked, not US",
        )),
        (ReceivedVia::MlatDoj, Some(_))
            if matches!(
                process,
                LegalProcess::ForeignDirect
                    | LegalProcess::Epoc
                    | LegalProcess::EpocPr
                    | LegalProcess::CloudActOrder
            ) =>
        {
            Err(FieldError::new(
                "process",
                "a treaty request arrives as the US process the Department of Justice obtained \
                 (e.g. search_warrant, court_order_2703d, subpoena)",
            ))
        }
        (via, Some(_)) if via != ReceivedVia::MlatDoj => Err(FieldError::new(
            "requesting_country",
            "only a treaty request (received_via mlat_doj) has a requesting state",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_treaty_request_is_us_process_for_a_foreign_state() {
        let de = Country::parse("DE").unwrap();
        assert!(check(LegalProcess::SearchWarrant, ReceivedVia::MlatDoj, Some(de)).is_ok());
        assert_eq!(
            check(LegalProcess::SearchWarrant, ReceivedVia::MlatDoj, None)
                .unwrap_err()
                .field,
            "requesting_country"
        );
        assert_eq!(
            check(
                LegalProcess::SearchWarrant,
                ReceivedVia::MlatDoj,
                Some(Country::US)
            )
            .unwrap_err()
            .field,
            "requesting_country"
        );
        assert_eq!(
            check(LegalProcess::ForeignDirect, ReceivedVia::MlatDoj, Some(de))
                .unwrap_err()
                .field,
            "process"
        );
        assert_eq!(
            check(LegalProcess::Subpoena, ReceivedVia::Portal, Some(de))
                .unwrap_err()
                .field,
            "requesting_country"
        );
        assert_eq!(requesting_state(ReceivedVia::MlatDoj, Some(de)), Some(de));
        assert_eq!(requesting_state(ReceivedVia::Portal, Some(de)), None);
    }
}

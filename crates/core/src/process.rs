//! The kinds of legal process a provider receives (LEGAL.md, "Provider-default profile").

use crate::named_enum;

named_enum! {
    /// A kind of legal demand, by the instrument that carries it.
    pub enum LegalProcess ("process") {
        Subpoena = "subpoena",
        CivilSubpoena = "civil_subpoena",
        CourtOrder2703d = "court_order_2703d",
        CourtOrderOther = "court_order_other",
        PenRegister = "pen_register",
        Wiretap = "wiretap",
        SearchWarrant = "search_warrant",
        NationalSecurityLetter = "national_security_letter",
        FisaOrder = "fisa_order",
        Preservation = "preservation",
        Emergency = "emergency",
        CloudActOrder = "cloud_act_order",
        Epoc = "epoc",
        EpocPr = "epoc_pr",
        ForeignDirect = "foreign_direct",
        DeviceReturn = "device_return",
        FraudReferral = "fraud_referral",
        Removal = "removal",
    }
}

impl LegalProcess {
    /// National security process is reported only in bands and carries a statutory gag.
    pub fn is_national_security(self) -> bool {
        matches!(
            self,
            LegalProcess::NationalSecurityLetter | LegalProcess::FisaOrder
        )
    }

    /// Process that freezes data and discloses nothing.
    pub fn is_preservation(self) -> bool {
        matches!(self, LegalProcess::Preservation | LegalProcess::EpocPr)
    }

    /// A short human label, for pages and letters.
    pub fn label(self) -> &'static str {
        match self {
            LegalProcess::Subpoena => "Subpoena",
            LegalProcess::CivilSubpoena => "Civil subpoena",
            LegalProcess::CourtOrder2703d => "Court order (18 U.S.C. 2703(d))",
            LegalProcess::CourtOrderOther => "Other court order",
            LegalProcess::PenRegister => "Pen register / trap and trace order",
            LegalProcess::Wiretap => "Wiretap order",
            LegalProcess::SearchWarrant => "Search warrant",
            LegalProcess::NationalSecurityLetter => "National security letter",
            LegalProcess::FisaOrder => "FISA order",
            LegalProcess::Preservation => "Preservation request",
            LegalProcess::Emergency => "Emergency disclosure request",
            LegalProcess::CloudActOrder => "UK order under the US-UK CLOUD Act agreement",
            LegalProcess::Epoc => "European Production Order (EPOC)",
            LegalProcess::EpocPr => "European Preservation Order (EPOC-PR)",
            LegalProcess::ForeignDirect => "Direct request from a non-US authority",
            LegalProcess::DeviceReturn => "Device return request",
            LegalProcess::FraudReferral => "Fraud referral",
            LegalProcess::Removal => "Removal request",
        }
    }
}

named_enum! {
    /// The channel a demand arrived through.
    #[derive(Default)]
    pub enum ReceivedVia ("received_via") {
        #[default]
        Portal = "portal",
        EEvidence = "e_evidence",
        MlatDoj = "mlat_doj",
        Email = "email",
        Postal = "postal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_process_name_round_trips() {
        for p in LegalProcess::ALL {
            assert_eq!(p.as_str().parse::<LegalProcess>().unwrap(), *p);
        }
        assert_eq!(LegalProcess::ALL.len(), 18);
    }

    #[test]
    fn unknown_process_lists_the_accepted_names() {
        let err = "warrant".parse::<LegalProcess>().unwrap_err();
        assert!(err.contains("unknown process 'warrant'"), "{err}");
        assert!(err.contains("search_warrant"), "{err}");
    }
}

//! Why a provider may decline to execute a foreign order, as a closed list, and the answer in
//! the form the law prescribes: for EU orders the EPOC-FORM 3 "Information on the impossibility
//! to execute an EPOC / EPOC-PR" (Regulation (EU) 2023/1543, Annex III, Art. 10(5)-(8),
//! 11(4)-(6), 17); for UK orders an objection under the US-UK agreement (Art. 5(11)-(12)).

use chrono::{DateTime, Utc};

use crate::{named_enum, LegalProcess};

named_enum! {
    /// A ground on which the provider does not execute an order.
    pub enum RefusalGround ("refusal ground") {
        /// The certificate is incomplete.
        Incomplete = "incomplete",
        /// The certificate contains manifest errors in content or form.
        ManifestError = "manifest_error",
        /// The certificate lacks the information needed to execute it.
        InsufficientInformation = "insufficient_information",
        /// The data is not stored by the provider, or was deleted before the order arrived.
        DataNotStored = "data_not_stored",
        /// Executing is impossible in fact, for reasons the provider is not responsible for.
        ImpossibleDeFacto = "impossible_de_facto",
        /// Force majeure.
        ForceMajeure = "force_majeure",
        /// Executing would conflict with the law of a third country (Art. 17).
        ThirdCountryLaw = "third_country_law",
        /// The data is protected by immunities or privileges, or by rules on the freedom of the
        /// press and expression (Art. 10(5)).
        ImmunityOrPrivilege = "immunity_or_privilege",
        /// The order was not issued or validated by a competent authority.
        NotCompetentAuthority = "not_competent_authority",
        /// A UK order targets a US person or a person in the United States.
        UsPerson = "us_person",
    }
}

impl RefusalGround {
    /// The ground in the words of the form.
    pub fn label(self) -> &'static str {
        match self {
            RefusalGround::Incomplete => "The certificate is incomplete",
            RefusalGround::ManifestError => {
                "The certificate contains manifest errors in content or form"
            }
            RefusalGround::InsufficientInformation => {
                "The certificate does not contain sufficient information to execute it"
            }
            RefusalGround::DataNotStored => {
                "The data requested is not stored by the provider, or was deleted before the \
                 order was received"
            }
            RefusalGround::ImpossibleDeFacto => {
                "Execution is impossible de facto, due to circumstances not attributable to the \
                 provider"
            }
            RefusalGround::ForceMajeure => "Force majeure",
            RefusalGround::ThirdCountryLaw => {
                "Compliance would conflict with the applicable law of a third country"
            }
            RefusalGround::ImmunityOrPrivilege => {
                "The data is protected by immunities or privileges, or by rules on the freedom \
                 of the press or of expression in other media"
            }
            RefusalGround::NotCompetentAuthority => {
                "The order was not issued or validated by a competent authority"
            }
            RefusalGround::UsPerson => {
                "The order targets a United States person or a person located in the United \
                 States"
            }
        }
    }

    /// The provision the ground rests on, for the process it is raised against.
    pub fn basis(self, process: LegalProcess) -> &'static str {
        let eu = process != LegalProcess::CloudActOrder;
        match self {
            RefusalGround::Incomplete
            | RefusalGround::ManifestError
            | RefusalGround::InsufficientInformation
                if eu =>
            {
                "Regulation (EU) 2023/1543, Art. 10(6), 11(4)"
            }
            RefusalGround::DataNotStored
            | RefusalGround::ImpossibleDeFacto
            | RefusalGround::ForceMajeure
                if eu =>
            {
                "Regulation (EU) 2023/1543, Art. 10(7), 11(5)"
            }
            RefusalGround::ThirdCountryLaw => "Regulation (EU) 2023/1543, Art. 17",
            RefusalGround::ImmunityOrPrivilege if eu => "Regulation (EU) 2023/1543, Art. 10(5)",
            RefusalGround::NotCompetentAuthority if eu => "Regulation (EU) 2023/1543, Art. 4",
            RefusalGround::UsPerson => {
                "18 U.S.C. 2523(b)(4)(A)-(B); US-UK agreement, Art. 4(3)-(4)"
            }
            _ => "US-UK agreement, Art. 5(11)-(12)",
        }
    }

    /// Whether a reviewer may choose this ground for an order of `process`.
    pub fn applies_to(self, process: LegalProcess) -> bool {
        match process {
            LegalProcess::Epoc | LegalProcess::EpocPr => self != RefusalGround::UsPerson,
            LegalProcess::CloudActOrder => self != RefusalGround::ThirdCountryLaw,
            _ => false,
        }
    }

    /// The grounds a reviewer may choose for an order of `process`.
    pub fn for_process(process: LegalProcess) -> Vec<RefusalGround> {
        RefusalGround::ALL
            .iter()
            .copied()
            .filter(|g| g.applies_to(process))
            .collect()
    }
}

/// What the answer is built from.
pub struct RefusalFacts<'a> {
    pub number: &'a str,
    pub process: LegalProcess,
    /// The issuing authority as the order names it.
    pub issuing_authority: &'a str,
    /// The issuing state in words, e.g. "Germany (DE)".
    pub issuing_state: &'a str,
    pub validating_authority: Option<&'a str>,
    /// The enforcing state in words, e.g. "Ireland (IE)".
    pub enforcing_state: Option<&'a str>,
    pub reference: &'a str,
    pub received_at: DateTime<Utc>,
    pub ground: RefusalGround,
    /// The reviewer's explanation, in their words.
    pub details: &'a str,
    /// Whether the data named has been preserved while the matter is clarified.
    pub data_preserved: bool,
    /// The provider's name and its contact for the authority.
    pub provider: &'a str,
    pub at: DateTime<Utc>,
}

/// The answer to the issuing authority (and, for EU orders, the enforcing authority), in the
/// layout of EPOC-FORM 3 or, for a UK order, as an objection under the agreement.
pub fn answer(f: &RefusalFacts<'_>) -> String {
    match f.process {
        LegalProcess::CloudActOrder => cloud_act_objection(f),
        _ => epoc_form_3(f),
    }
}

fn epoc_form_3(f: &RefusalFacts<'_>) -> String {
    let kind = if f.process == LegalProcess::EpocPr {
        "EPOC-PR"
    } else {
        "EPOC"
    };
    let mut s = String::new();
    s.push_str(&format!(
        "EPOC-FORM 3: INFORMATION ON THE IMPOSSIBILITY TO EXECUTE AN {kind}\n\
         (Regulation (EU) 2023/1543, Annex III)\n\
         Our reference: {number}\n\n",
        number = f.number
    ));
    s.push_str(&format!(
        "SECTION A: CERTIFICATE CONCERNED\n\
         Certificate: {kind}, reference {reference}\n\
         Received: {received}\n\n",
        reference = f.reference,
        received = f.received_at.format("%Y-%m-%d %H:%M UTC"),
    ));
    s.push_str(&format!(
        "SECTION B: AUTHORITIES\n\
         Issuing authority: {}, {}\n\
         Validating authority: {}\n\
         Enforcing authority: {}\n\n",
        f.issuing_authority,
        f.issuing_state,
        f.validating_authority.unwrap_or("none named"),
        f.enforcing_state
            .map(|s| format!("the competent authority of {s}"))
            .unwrap_or_else(|| "none named".to_string()),
    ));
    s.push_str(&format!(
        "SECTION C: REASONS FOR NON-EXECUTION\n\
         [x] {label}\n\
         Legal basis: {basis}\n\n",
        label = f.ground.label(),
        basis = f.ground.basis(f.process),
    ));
    s.push_str(&format!("SECTION D: EXPLANATION\n{}\n\n", f.details.trim()));
    let clarify = matches!(
        f.ground,
        RefusalGround::Incomplete
            | RefusalGround::ManifestError
            | RefusalGround::InsufficientInformation
    );
    s.push_str("SECTION E: WHAT HAPPENS NEXT\n");
    if clarify {
        s.push_str(
            "The certificate cannot be executed as it stands. Please correct or complete it and \
             send it again; we will execute it without undue delay once it is clarified.\n",
        );
    } else if f.ground == RefusalGround::ThirdCountryLaw {
        s.push_str(
            "This is a reasoned objection under Art. 17: the order is not executed while the \
             competent court of the issuing state reviews it.\n",
        );
    } else {
        s.push_str("The order is not executed. No data has been produced.\n");
    }
    s.push_str(if f.data_preserved {
        "The data concerned is preserved while the matter is clarified (Art. 10(6), 11(4)).\n\n"
    } else {
        "No data concerned is held that could be preserved.\n\n"
    });
    s.push_str(&format!(
        "SECTION F: ADDRESSEE\n\
         {provider}, Law Enforcement Response Team\n\
         Date: {at}\n\
         (sent through Custodian; reply on the request's page)\n",
        provider = f.provider,
        at = f.at.format("%Y-%m-%d"),
    ));
    s
}

fn cloud_act_objection(f: &RefusalFacts<'_>) -> String {
    format!(
        "OBJECTION TO AN ORDER UNDER THE US-UK DATA ACCESS AGREEMENT\n\
         Our reference: {number}\n\n\
         Order: reference {reference}, received {received}\n\
         Issuing authority: {issuer}, {state}\n\
         Issued or reviewed by: {validating}\n\n\
         Ground: {label}\n\
         Legal basis: {basis}\n\n\
         Explanation:\n{details}\n\n\
         The order is not executed and no data has been produced. Under Art. 5(11)-(12) of the \
         Agreement, the objection may be raised with the United Kingdom's Designated Authority, \
         and, if unresolved, with the US Designated Authority. Where the target is a US person \
         or is in the United States, the data can be sought only through US legal process, for \
         example by a request for mutual legal assistance.\n\n\
         {provider}, Law Enforcement Response Team\n\
         Date: {at}\n\
         (sent through Custodian; reply on the request's page)\n",
        number = f.number,
        reference = f.reference,
        received = f.received_at.format("%Y-%m-%d %H:%M UTC"),
        issuer = f.issuing_authority,
        state = f.issuing_state,
        validating = f.validating_authority.unwrap_or("none named"),
        label = f.ground.label(),
        basis = f.ground.basis(f.process),
        details = f.details.trim(),
        provider = f.provider,
        at = f.at.format("%Y-%m-%d"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(process: LegalProcess, ground: RefusalGround) -> String {
        let at: DateTime<Utc> = "2026-03-04T10:00:00Z".parse().unwrap();
        answer(&RefusalFacts {
            number: "LE-2026-000042",
            process,
            issuing_authority: "Staatsanwaltschaft Berlin",
            issuing_state: "DE",
            validating_authority: Some("Amtsgericht Tiergarten"),
            enforcing_state: Some("IE"),
            reference: "EPOC-DE-2026-0042",
            received_at: at,
            ground,
            details: "The account named was closed and its data deleted in 2024.",
            data_preserved: false,
            provider: "Example Provider, Inc.",
            at,
        })
    }

    #[test]
    fn grounds_are_a_closed_list_per_process() {
        assert!(RefusalGround::UsPerson.applies_to(LegalProcess::CloudActOrder));
        assert!(!RefusalGround::UsPerson.applies_to(LegalProcess::Epoc));
        assert!(!RefusalGround::ThirdCountryLaw.applies_to(LegalProcess::CloudActOrder));
        assert!(!RefusalGround::Incomplete.applies_to(LegalProcess::Subpoena));
        assert_eq!(RefusalGround::for_process(LegalProcess::EpocPr).len(), 9);
        assert!("whim"
            .parse::<RefusalGround>()
            .unwrap_err()
            .contains("data_not_stored"));
    }

    #[test]
    fn the_answer_has_the_forms_sections() {
        let s = facts(LegalProcess::Epoc, RefusalGround::DataNotStored);
        for section in [
            "SECTION A",
            "SECTION B",
            "SECTION C",
            "SECTION D",
            "SECTION E",
            "SECTION F",
        ] {
            assert!(s.contains(section), "{section} in {s}");
        }
        assert!(s.starts_with("EPOC-FORM 3: INFORMATION ON THE IMPOSSIBILITY TO EXECUTE AN EPOC\n"));
        assert!(s.contains("[x] The data requested is not stored"));
        assert!(s.contains("Art. 10(7)"));
        assert!(s.contains("EPOC-DE-2026-0042"));
        assert!(s.contains("closed and its data deleted"));
        let pr = facts(LegalProcess::EpocPr, RefusalGround::Incomplete);
        assert!(pr.contains("EXECUTE AN EPOC-PR"));
        assert!(pr.contains("correct or complete it"));
        let uk = facts(LegalProcess::CloudActOrder, RefusalGround::UsPerson);
        assert!(uk.contains("US-UK DATA ACCESS AGREEMENT"));
        assert!(uk.contains("2523(b)(4)"));
    }
}

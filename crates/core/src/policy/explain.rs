//! What a process can and cannot obtain, in plain words: `custodian policy explain PROCESS` and
//! the note beside the web form, so that an officer knows before serving.

use std::fmt::Write;

use crate::{DataCategory, LegalProcess};

use super::assessment::{Decision, Route};
use super::jurisdiction::channels_in_words;
use super::profile::{Citation, Condition, NonContentNotice, NoticeMode, PolicyProfile};

pub(super) fn category_words(c: DataCategory) -> &'static str {
    match c {
        DataCategory::Subscriber => "subscriber data",
        DataCategory::Transactional => "transactional data",
        DataCategory::Content => "content",
    }
}

/// The process as a noun with its article, for the middle of a sentence, where the title-case
/// label ("Court order (18 U.S.C. 2703(d))") would read badly.
pub(super) fn process_noun(p: LegalProcess) -> &'static str {
    match p {
        LegalProcess::Subpoena => "a subpoena",
        LegalProcess::CivilSubpoena => "a civil subpoena",
        LegalProcess::CourtOrder2703d => "a court order under 18 U.S.C. 2703(d)",
        LegalProcess::CourtOrderOther => "a court order",
        LegalProcess::PenRegister => "a pen register or trap and trace order",
        LegalProcess::Wiretap => "a wiretap order",
        LegalProcess::SearchWarrant => "a search warrant",
        LegalProcess::NationalSecurityLetter => "a national security letter",
        LegalProcess::FisaOrder => "a FISA order",
        LegalProcess::Preservation => "a preservation request",
        LegalProcess::Emergency => "an emergency disclosure request",
        LegalProcess::CloudActOrder => "an order under the US-UK CLOUD Act agreement",
        LegalProcess::Epoc => "a European Production Order",
        LegalProcess::EpocPr => "a European Preservation Order",
        LegalProcess::ForeignDirect => "a direct request from a non-US authority",
        LegalProcess::DeviceReturn => "a device return request",
        LegalProcess::FraudReferral => "a fraud referral",
        LegalProcess::Removal => "a removal request",
    }
}

fn cited(c: &Citation) -> String {
    format!(
        "{} (rule {}; {}).",
        c.reason.trim_end_matches('.'),
        c.rule,
        c.basis
    )
}

/// A few paragraphs on one process under a profile.
pub fn explain(profile: &PolicyProfile, process: LegalProcess) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail; the results are ignored for that reason only.
    let _ = writeln!(out, "{} ({process})", process.label());
    let _ = writeln!(out, "Profile: {}", profile.name);
    let Some(pp) = profile.process_policy(process) else {
        let _ = writeln!(
            out,
            "\nThis profile has no rules for this process: nothing would be disclosed."
        );
        return out;
    };

    let _ = writeln!(
        out,
        "\nWho serves it: {}, through {}.",
        pp.issuer.describe(),
        channels_in_words(&pp.served_via)
    );
    let next = match pp.route {
        Route::Process => "It is reviewed and answered as below",
        Route::PreserveOnly => "Data is preserved; nothing is disclosed",
        Route::ContactOwner => "The provider contacts the owner; nothing is disclosed",
        Route::RedirectMlat => "It is redirected; nothing is disclosed",
        Route::Reject | Route::ObjectOverbroad => "It is not answered",
    };
    let _ = writeln!(out, "{next}: {}", cited(&pp.route_rule));

    let (yes, no): (Vec<_>, Vec<_>) = DataCategory::ALL
        .iter()
        .filter_map(|c| pp.categories.get(c).map(|cp| (*c, cp)))
        .partition(|(_, cp)| cp.decision == Decision::Disclose);
    if !yes.is_empty() {
        let _ = writeln!(out, "\nWhat it can obtain:");
        for (c, cp) in &yes {
            let _ = write!(out, "- {}: {}", category_words(*c), cited(&cp.citation()));
            if let Some(limit) = &cp.limit {
                let _ = write!(out, " Limited to {}.", limit.trim_end_matches('.'));
            }
            let _ = writeln!(out);
        }
    }
    if !no.is_empty() {
        let _ = writeln!(out, "\nWhat it cannot obtain:");
        for (c, cp) in &no {
            let _ = writeln!(out, "- {}: {}", category_words(*c), cited(&cp.citation()));
        }
    }

    if !pp.requires.is_empty() {
        let _ = writeln!(out, "\nConditions (otherwise it is rejected):");
        for r in &pp.requires {
            let when = if r.categories.is_empty() {
                String::new()
            } else {
                let cats: Vec<&str> = r.categories.iter().map(|c| category_words(*c)).collect();
                format!(" [when it asks for {}]", cats.join(" or "))
            };
            let what = match r.condition {
                Condition::EmergencyAttested => {
                    "an attested danger of death or serious injury and a supervisor's contact"
                }
                Condition::TargetNotUsPerson => {
                    "a target who is not a US person nor a person in the United States"
                }
                Condition::JudicialAuthorisation => "issued or validated by a judge",
            };
            let _ = writeln!(out, "- {what}{when}: {}", cited(&r.citation()));
        }
    }

    if let Some(pr) = &pp.preserve {
        let _ = writeln!(out, "\nPreservation: {} days from receipt.", pr.days);
        if pr.max_renewals > 0 {
            let times = match pr.max_renewals {
                1 => "once".to_string(),
                n => format!("{n} times"),
            };
            let _ = writeln!(
                out,
                "It may be renewed {times}, by {} days each time.",
                pr.renewal_days
            );
        }
        let _ = writeln!(out, "{}", cited(&pr.freeze));
        let _ = writeln!(out, "{}", cited(&pr.refused));
    }
    if let Some(d) = &pp.deadline {
        let _ = writeln!(
            out,
            "\nDeadline: {} days from receipt, {} hours in an emergency. {}",
            d.days,
            d.emergency_hours,
            cited(&d.citation())
        );
    }
    if let Some(e) = &pp.enforcing_state_notice {
        let _ = writeln!(out, "{}", cited(&e.citation()));
    }

    let _ = writeln!(out, "\nCustomer notice:");
    let n = &profile.notice;
    match &pp.notice {
        Some(pn) if pn.mode != NoticeMode::Standard => {
            let _ = writeln!(out, "- {}", cited(&pn.citation()));
        }
        _ if yes.is_empty() => {
            let _ = writeln!(out, "- {}", cited(&n.nothing_disclosed));
        }
        _ => {
            let _ = writeln!(out, "- {}", cited(&n.before_disclosure));
            if n.non_content == NonContentNotice::NotRequired {
                let _ = writeln!(out, "- {}", cited(&n.non_content_only));
            }
            let _ = writeln!(
                out,
                "- Exceptions: {} {} {} {}",
                cited(&n.ndo_until),
                cited(&n.ndo_indefinite),
                cited(&n.illegal_conduct),
                cited(&n.after_emergency)
            );
        }
    }

    if pp.route != Route::RedirectMlat {
        let _ = writeln!(out, "\nEvery demand: {}", cited(&profile.gates.overbroad));
        let _ = writeln!(out, "{}", cited(&profile.gates.improper_service));
    }
    out
}

//! When the customer is told (LEGAL.md, "Customer notice").

use chrono::{DateTime, Days, NaiveDate, Utc};

use crate::{DataCategory, NonDisclosureOrder};

use super::assessment::CustomerNotice;
use super::case::PolicyCase;
use super::profile::{Citation, NonContentNotice, NoticeMode, PolicyProfile, ProcessPolicy};

pub(super) struct NoticeOutcome {
    pub notice: CustomerNotice,
    pub cite: Citation,
    pub after: Option<NaiveDate>,
    pub review_by: Option<NaiveDate>,
    /// Rules looked at on the way that did not decide the outcome, such as an order that ended.
    pub notes: Vec<Citation>,
}

impl NoticeOutcome {
    fn plain(notice: CustomerNotice, cite: &Citation) -> Self {
        Self {
            notice,
            cite: cite.clone(),
            after: None,
            review_by: None,
            notes: Vec::new(),
        }
    }
}

pub(super) struct NoticeFacts<'a> {
    pub policy: &'a ProcessPolicy,
    pub case: &'a PolicyCase,
    pub disclosed: &'a [DataCategory],
    /// The disclosure is made because of an honoured emergency.
    pub emergency: bool,
    /// The demand comes from an authority that may serve it, so a statutory gag binds even when
    /// nothing is disclosed: the gag covers the demand's existence, not only its answer.
    pub issuer_admitted: bool,
    pub received_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

/// The exceptions are taken in order of their force: a statute, then a court's order, then the
/// provider's own judgement of illegal conduct, then the emergency's timing.
pub(super) fn customer_notice(profile: &PolicyProfile, f: &NoticeFacts<'_>) -> NoticeOutcome {
    let rules = &profile.notice;
    let mode = f.policy.notice.as_ref().map(|n| n.mode).unwrap_or_default();
    if let Some(n) = &f.policy.notice {
        if n.mode == NoticeMode::ProhibitedByStatute && f.issuer_admitted {
            return NoticeOutcome::plain(CustomerNotice::ProhibitedByStatute, &n.citation());
        }
    }
    if f.disclosed.is_empty() {
        return NoticeOutcome::plain(CustomerNotice::NotRequired, &rules.nothing_disclosed);
    }
    if let Some(n) = &f.policy.notice {
        if mode == NoticeMode::AlwaysBefore {
            return NoticeOutcome::plain(CustomerNotice::BeforeDisclosure, &n.citation());
        }
    }
    let content = f.disclosed.iter().any(|c| c.is_content());
    if !content && rules.non_content == NonContentNotice::NotRequired {
        return NoticeOutcome::plain(CustomerNotice::NotRequired, &rules.non_content_only);
    }
    let mut notes = Vec::new();
    match f.case.ndo_until {
        Some(NonDisclosureOrder::Until(end)) if end >= f.now.date_naive() => {
            let mut o = NoticeOutcome::plain(CustomerNotice::AfterNdo, &rules.ndo_until);
            o.after = Some(end);
            return o;
        }
        Some(NonDisclosureOrder::Until(_)) => notes.push(rules.ndo_ended.clone()),
        Some(NonDisclosureOrder::Indefinite) => {
            let mut o = NoticeOutcome::plain(CustomerNotice::DeferredReview, &rules.ndo_indefinite);
            o.review_by = f
                .received_at
                .date_naive()
                .checked_add_days(Days::new(u64::from(rules.ndo_review_days)));
            return o;
        }
        None => {}
    }
    let mut o = if f.case.illegal_conduct_indicated {
        NoticeOutcome::plain(
            CustomerNotice::WithheldIllegalConduct,
            &rules.illegal_conduct,
        )
    } else if f.emergency {
        NoticeOutcome::plain(CustomerNotice::AfterEmergency, &rules.after_emergency)
    } else {
        NoticeOutcome::plain(CustomerNotice::BeforeDisclosure, &rules.before_disclosure)
    };
    o.notes = notes;
    o
}

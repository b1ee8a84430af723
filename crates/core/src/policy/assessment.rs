//! What the engine answers about one case: the route, a decision per data category, customer
//! notice, clocks, and the sentences a reviewer or an officer reads. Field names are the CLI's
//! and the API's public contract.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::{named_enum, Country, DataCategory, LegalProcess};

use super::profile::Citation;

named_enum! {
    /// Where a demand goes next.
    pub enum Route ("route") {
        /// Valid and in scope: the reviewer decides per category as assessed.
        Process = "process",
        /// A foreign authority must use a treaty through the US Department of Justice.
        RedirectMlat = "redirect_mlat",
        /// Not answered: improperly served, issued by the wrong authority, or a condition fails.
        Reject = "reject",
        /// Device return: the provider contacts the owner; nothing reaches the officer.
        ContactOwner = "contact_owner",
        /// Names no one: objected to until narrowed.
        ObjectOverbroad = "object_overbroad",
        /// Data is frozen; nothing is disclosed.
        PreserveOnly = "preserve_only",
    }
}

named_enum! {
    /// What happens to one category of data.
    pub enum Decision ("decision") {
        Disclose = "disclose",
        Withhold = "withhold",
    }
}

named_enum! {
    /// When, if ever, the customer is told about the demand.
    pub enum CustomerNotice ("customer notice") {
        BeforeDisclosure = "before_disclosure",
        AfterNdo = "after_ndo",
        DeferredReview = "deferred_review",
        WithheldIllegalConduct = "withheld_illegal_conduct",
        AfterEmergency = "after_emergency",
        ProhibitedByStatute = "prohibited_by_statute",
        NotRequired = "not_required",
    }
}

/// The decision for one requested category, with the rule and basis it rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CategoryDecision {
    pub decision: Decision,
    pub rule: String,
    pub basis: String,
    pub reason: String,
    /// How far a disclosure reaches, where the rule narrows it (e.g. "limited to the fraud").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

impl CategoryDecision {
    pub(super) fn new(decision: Decision, cite: &Citation, limit: Option<String>) -> Self {
        Self {
            decision,
            rule: cite.rule.clone(),
            basis: cite.basis.clone(),
            reason: cite.reason.clone(),
            limit,
        }
    }

    pub fn is_disclosed(&self) -> bool {
        self.decision == Decision::Disclose
    }
}

/// The engine's answer for one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Assessment {
    /// The profile whose rules were applied.
    pub profile: String,
    pub process: LegalProcess,
    pub route: Route,
    pub route_rule: String,
    pub route_basis: String,
    /// One entry per requested category.
    pub categories: BTreeMap<DataCategory, CategoryDecision>,
    pub customer_notice: CustomerNotice,
    pub notice_rule: String,
    pub notice_basis: String,
    /// The day a non-disclosure order ends and notice becomes due.
    pub notice_after: Option<NaiveDate>,
    /// For an order with no end date: the day it must be reviewed again.
    pub notice_review_by: Option<NaiveDate>,
    /// Days of preservation this request creates (or adds, for a renewal).
    pub preserve_days: Option<u32>,
    /// The hard legal deadline, where the law sets one.
    pub respond_by: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
    /// The country this request is counted under in the transparency report.
    pub counted_under: Country,
    /// Whether an emergency was claimed and honoured; null when none was claimed.
    pub emergency_honoured: Option<bool>,
    /// An EU production order for traffic data or content must be notified to the enforcing state.
    pub enforcing_state_notice: bool,
    /// Every rule id that shaped the answer, in the order applied.
    pub rules_applied: Vec<String>,
    pub explanation: Vec<String>,
}

impl Assessment {
    /// The categories this assessment would disclose.
    pub fn disclosed(&self) -> impl Iterator<Item = DataCategory> + '_ {
        self.categories
            .iter()
            .filter(|(_, d)| d.is_disclosed())
            .map(|(c, _)| *c)
    }

    pub fn discloses(&self, category: DataCategory) -> bool {
        self.categories
            .get(&category)
            .is_some_and(CategoryDecision::is_disclosed)
    }
}

/// Customer notice for a decision as made (see [`super::notice_for_disclosure`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoticeAssessment {
    pub customer_notice: CustomerNotice,
    pub rule: String,
    pub basis: String,
    pub reason: String,
    /// The last day of a non-disclosure order with an end date.
    pub notice_after: Option<NaiveDate>,
    /// For an order with no end date: the day it must be reviewed again.
    pub notice_review_by: Option<NaiveDate>,
}

impl NoticeAssessment {
    pub(super) fn new(
        notice: CustomerNotice,
        cite: &Citation,
        after: Option<NaiveDate>,
        review_by: Option<NaiveDate>,
    ) -> Self {
        Self {
            customer_notice: notice,
            rule: cite.rule.clone(),
            basis: cite.basis.clone(),
            reason: cite.reason.clone(),
            notice_after: after,
            notice_review_by: review_by,
        }
    }
}

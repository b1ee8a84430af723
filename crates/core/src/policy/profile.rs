//! A policy profile: the provider's rules as data. The built-in profiles are TOML files compiled
//! into the binary, so that lawyers can read and review the rules without reading Rust, and an
//! admin can switch profile without a new build.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{named_enum, DataCategory, LegalProcess, ReceivedVia};

use super::assessment::{Decision, Route};
use super::jurisdiction::IssuerScope;
use super::law::law_permits_content;

/// One rule: the stable id every decision cites, the law or policy it rests on, and the rule in
/// plain words for people who read the explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Citation {
    pub rule: String,
    pub basis: String,
    pub reason: String,
}

/// A whole profile (`crates/core/profiles/*.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyProfile {
    pub name: String,
    pub description: String,
    pub notice: NoticePolicy,
    pub gates: Gates,
    /// One entry for every kind of legal process; a profile that forgets one is refused.
    pub process: BTreeMap<LegalProcess, ProcessPolicy>,
}

named_enum! {
    /// Whether disclosing non-content data alone gives the customer notice.
    pub enum NonContentNotice ("non-content notice") {
        NotRequired = "not_required",
        Notify = "notify",
    }
}

/// Customer notice rules that hold for every process (LEGAL.md, "Customer notice").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticePolicy {
    pub non_content: NonContentNotice,
    /// How often an order with no end date is looked at again; the law's "at least yearly".
    pub ndo_review_days: u32,
    pub before_disclosure: Citation,
    pub ndo_until: Citation,
    pub ndo_ended: Citation,
    pub ndo_indefinite: Citation,
    pub illegal_conduct: Citation,
    pub after_emergency: Citation,
    pub non_content_only: Citation,
    pub nothing_disclosed: Citation,
}

/// The checks every demand passes before its own rules apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gates {
    /// A foreign authority serving an instrument it cannot use on a US provider.
    pub redirect_mlat: Citation,
    /// A US authority serving an instrument meant for foreign authorities.
    pub wrong_issuer: Citation,
    /// Served through a channel the process is not accepted through.
    pub improper_service: Citation,
    /// Names no account, device or identifier.
    pub overbroad: Citation,
    /// Cited (not a refusal) when a treaty request is decided as the US process it arrived as.
    pub treaty_request: Citation,
}

named_enum! {
    /// How customer notice works for one process.
    #[derive(Default)]
    pub enum NoticeMode ("notice mode") {
        /// The general rules: before content, unless an exception applies.
        #[default]
        Standard = "standard",
        /// Told before anything is disclosed, whatever else applies (civil subpoenas).
        AlwaysBefore = "always_before",
        /// A statutory gag forbids telling anyone (national security process).
        ProhibitedByStatute = "prohibited_by_statute",
    }
}

named_enum! {
    /// A fact of the case a process depends on; when it fails, the demand is rejected.
    pub enum Condition ("condition") {
        /// Danger of death or serious physical injury, attested, with a supervisor to call.
        EmergencyAttested = "emergency_attested",
        /// The target is not a US person nor a person in the United States.
        TargetNotUsPerson = "target_not_us_person",
        /// Issued or validated by a judge.
        JudicialAuthorisation = "judicial_authorisation",
    }
}

/// The rules for one kind of process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessPolicy {
    pub issuer: IssuerScope,
    pub served_via: Vec<ReceivedVia>,
    /// Where a demand that passes every check goes: process, preserve_only, contact_owner or
    /// redirect_mlat.
    pub route: Route,
    pub route_rule: Citation,
    /// One entry per data category, so that every decision, disclose or withhold, has a rule.
    pub categories: BTreeMap<DataCategory, CategoryPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<ProcessNotice>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<Requirement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserve: Option<PreservationPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<DeadlinePolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforcing_state_notice: Option<EnforcingStateNotice>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryPolicy {
    pub decision: Decision,
    pub rule: String,
    pub basis: String,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

impl CategoryPolicy {
    pub fn citation(&self) -> Citation {
        Citation {
            rule: self.rule.clone(),
            basis: self.basis.clone(),
            reason: self.reason.clone(),
        }
    }
}

/// A process whose notice differs from the general rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessNotice {
    pub mode: NoticeMode,
    pub rule: String,
    pub basis: String,
    pub reason: String,
}

impl ProcessNotice {
    pub fn citation(&self) -> Citation {
        Citation {
            rule: self.rule.clone(),
            basis: self.basis.clone(),
            reason: self.reason.clone(),
        }
    }
}

/// A condition the demand must meet. With `categories`, it applies only when one of them is
/// requested (an EU order needs a judge for traffic data and content, not for subscriber data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    pub condition: Condition,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<DataCategory>,
    pub rule: String,
    pub basis: String,
    pub reason: String,
}

impl Requirement {
    pub fn citation(&self) -> Citation {
        Citation {
            rule: self.rule.clone(),
            basis: self.basis.clone(),
            reason: self.reason.clone(),
        }
    }
}

/// How long a preservation freezes data, and how often it may be renewed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreservationPolicy {
    pub days: u32,
    pub renewal_days: u32,
    pub max_renewals: u32,
    pub freeze: Citation,
    pub renewal: Citation,
    pub refused: Citation,
}

/// A deadline the law sets, counted from receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlinePolicy {
    pub days: u32,
    pub emergency_hours: u32,
    pub rule: String,
    pub basis: String,
    pub reason: String,
}

impl DeadlinePolicy {
    pub fn citation(&self) -> Citation {
        Citation {
            rule: self.rule.clone(),
            basis: self.basis.clone(),
            reason: self.reason.clone(),
        }
    }
}

/// An EU order reaching these categories must be notified to the enforcing state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnforcingStateNotice {
    pub categories: Vec<DataCategory>,
    pub rule: String,
    pub basis: String,
    pub reason: String,
}

impl EnforcingStateNotice {
    pub fn citation(&self) -> Citation {
        Citation {
            rule: self.rule.clone(),
            basis: self.basis.clone(),
            reason: self.reason.clone(),
        }
    }
}

/// A profile that could not be read, with the key that is wrong
/// (`process.subpoena.categories.content.decision`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileError {
    /// Empty when the text is not TOML at all; the message then gives line and column.
    pub key: String,
    pub message: String,
}

impl std::fmt::Display for ProfileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.key.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.key, self.message)
        }
    }
}

impl std::error::Error for ProfileError {}

impl ProfileError {
    fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

const BUILTIN: &[(&str, &str)] = &[
    (
        "provider-default",
        include_str!("../../profiles/provider-default.toml"),
    ),
    ("notify-all", include_str!("../../profiles/notify-all.toml")),
];

/// A chain of `extends` longer than this is a loop.
const MAX_EXTENDS: usize = 4;

impl PolicyProfile {
    pub const DEFAULT: &'static str = "provider-default";

    /// The profiles compiled into the binary.
    pub fn builtin_names() -> Vec<&'static str> {
        BUILTIN.iter().map(|(name, _)| *name).collect()
    }

    /// A built-in profile by name.
    pub fn builtin(name: &str) -> Result<PolicyProfile, ProfileError> {
        PolicyProfile::from_toml(builtin_source(name)?)
    }

    /// Reads a profile. A profile may start from a built-in one with `extends = "NAME"` and
    /// override only the keys it changes. Unknown keys, missing processes or categories, and
    /// rules the law forbids are refused, naming the key.
    pub fn from_toml(src: &str) -> Result<PolicyProfile, ProfileError> {
        let value = resolve(src, 0)?;
        let profile: PolicyProfile = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let key = if path == "." { String::new() } else { path };
            ProfileError::new(key, e.into_inner().message().to_string())
        })?;
        profile.check()?;
        Ok(profile)
    }

    /// The TOML text of this profile, for an admin to save, review and edit.
    pub fn to_toml(&self) -> Result<String, ProfileError> {
        toml::to_string_pretty(self).map_err(|e| ProfileError::new("", e.to_string()))
    }

    pub fn process_policy(&self, process: LegalProcess) -> Option<&ProcessPolicy> {
        self.process.get(&process)
    }

    /// The rules serde cannot express: completeness, sane numbers, and the law's ceilings.
    fn check(&self) -> Result<(), ProfileError> {
        if self.name.trim().is_empty() {
            return Err(ProfileError::new("name", "must not be empty"));
        }
        if !(1..=365).contains(&self.notice.ndo_review_days) {
            return Err(ProfileError::new(
                "notice.ndo_review_days",
                "an order with no end date is reviewed at least yearly: 1 to 365 days",
            ));
        }
        let n = &self.notice;
        for (key, c) in [
            ("before_disclosure", &n.before_disclosure),
            ("ndo_until", &n.ndo_until),
            ("ndo_ended", &n.ndo_ended),
            ("ndo_indefinite", &n.ndo_indefinite),
            ("illegal_conduct", &n.illegal_conduct),
            ("after_emergency", &n.after_emergency),
            ("non_content_only", &n.non_content_only),
            ("nothing_disclosed", &n.nothing_disclosed),
        ] {
            check_citation(&format!("notice.{key}"), &c.rule, &c.basis, &c.reason)?;
        }
        let g = &self.gates;
        for (key, c) in [
            ("redirect_mlat", &g.redirect_mlat),
            ("wrong_issuer", &g.wrong_issuer),
            ("improper_service", &g.improper_service),
            ("overbroad", &g.overbroad),
            ("treaty_request", &g.treaty_request),
        ] {
            check_citation(&format!("gates.{key}"), &c.rule, &c.basis, &c.reason)?;
        }
        for p in LegalProcess::ALL {
            let key = format!("process.{p}");
            let Some(pp) = self.process.get(p) else {
                return Err(ProfileError::new(
                    key,
                    "missing: every kind of legal process needs its rules",
                ));
            };
            check_process(&key, *p, pp)?;
        }
        Ok(())
    }
}

fn builtin_source(name: &str) -> Result<&'static str, ProfileError> {
    BUILTIN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, src)| *src)
        .ok_or_else(|| {
            ProfileError::new(
                "profile",
                format!(
                    "unknown profile '{name}'; built-in profiles: {}",
                    PolicyProfile::builtin_names().join(", ")
                ),
            )
        })
}

/// Parses TOML and lays it over the profile it extends, if any.
fn resolve(src: &str, depth: usize) -> Result<toml::Value, ProfileError> {
    let mut value: toml::Value =
        toml::from_str(src).map_err(|e| ProfileError::new("", e.to_string().trim_end()))?;
    let Some(table) = value.as_table_mut() else {
        return Err(ProfileError::new("", "a profile is a TOML table"));
    };
    let Some(parent) = table.remove("extends") else {
        return Ok(value);
    };
    let Some(parent) = parent.as_str() else {
        return Err(ProfileError::new(
            "extends",
            "must be the name of a built-in profile",
        ));
    };
    if depth >= MAX_EXTENDS {
        return Err(ProfileError::new(
            "extends",
            "profiles extend each other in a loop",
        ));
    }
    let mut base = resolve(builtin_source(parent)?, depth + 1)
        .map_err(|e| ProfileError::new("extends", format!("profile '{parent}': {e}")))?;
    overlay(&mut base, value);
    Ok(base)
}

/// Tables merge key by key; anything else in `top` replaces what `base` had.
fn overlay(base: &mut toml::Value, top: toml::Value) {
    match (base, top) {
        (toml::Value::Table(b), toml::Value::Table(t)) => {
            for (k, v) in t {
                match b.get_mut(&k) {
                    Some(existing) => overlay(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, t) => *b = t,
    }
}

fn check_citation(key: &str, rule: &str, basis: &str, reason: &str) -> Result<(), ProfileError> {
    let id_ok = !rule.is_empty()
        && rule
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.');
    if !id_ok {
        return Err(ProfileError::new(
            format!("{key}.rule"),
            format!("'{rule}' is not a rule id (lower-case letters, digits, '_' and '.')"),
        ));
    }
    if basis.trim().is_empty() {
        return Err(ProfileError::new(
            format!("{key}.basis"),
            "every rule states its legal basis",
        ));
    }
    if reason.trim().is_empty() {
        return Err(ProfileError::new(
            format!("{key}.reason"),
            "every rule says in plain words what it does",
        ));
    }
    Ok(())
}

fn check_process(key: &str, p: LegalProcess, pp: &ProcessPolicy) -> Result<(), ProfileError> {
    if pp.served_via.is_empty() {
        return Err(ProfileError::new(
            format!("{key}.served_via"),
            "name at least one channel the process is accepted through",
        ));
    }
    if matches!(pp.route, Route::Reject | Route::ObjectOverbroad) {
        return Err(ProfileError::new(
            format!("{key}.route"),
            "a process's own route is process, preserve_only, contact_owner or redirect_mlat; \
             rejections and objections come from the checks",
        ));
    }
    let r = &pp.route_rule;
    check_citation(&format!("{key}.route_rule"), &r.rule, &r.basis, &r.reason)?;
    for c in DataCategory::ALL {
        let ckey = format!("{key}.categories.{c}");
        let Some(cp) = pp.categories.get(c) else {
            return Err(ProfileError::new(
                ckey,
                "missing: every category needs a rule, whether disclosed or withheld",
            ));
        };
        check_citation(&ckey, &cp.rule, &cp.basis, &cp.reason)?;
        if cp.decision == Decision::Disclose {
            if c.is_content() && !law_permits_content(p) {
                return Err(ProfileError::new(
                    format!("{ckey}.decision"),
                    format!("the law does not let a {p} reach content"),
                ));
            }
            if pp.route != Route::Process {
                return Err(ProfileError::new(
                    format!("{ckey}.decision"),
                    format!("route {} discloses nothing", pp.route),
                ));
            }
        }
    }
    if let Some(n) = &pp.notice {
        check_citation(&format!("{key}.notice"), &n.rule, &n.basis, &n.reason)?;
    }
    for (i, r) in pp.requires.iter().enumerate() {
        check_citation(
            &format!("{key}.requires[{i}]"),
            &r.rule,
            &r.basis,
            &r.reason,
        )?;
    }
    match (&pp.preserve, pp.route) {
        (None, Route::PreserveOnly) => {
            return Err(ProfileError::new(
                format!("{key}.preserve"),
                "a preserve_only process says how long it preserves",
            ))
        }
        (Some(pr), _) => {
            let pkey = format!("{key}.preserve");
            if pr.days == 0 {
                return Err(ProfileError::new(
                    format!("{pkey}.days"),
                    "must be at least 1",
                ));
            }
            if pr.max_renewals > 0 && pr.renewal_days == 0 {
                return Err(ProfileError::new(
                    format!("{pkey}.renewal_days"),
                    "a renewal adds at least 1 day",
                ));
            }
            for (k, c) in [
                ("freeze", &pr.freeze),
                ("renewal", &pr.renewal),
                ("refused", &pr.refused),
            ] {
                check_citation(&format!("{pkey}.{k}"), &c.rule, &c.basis, &c.reason)?;
            }
        }
        (None, _) => {}
    }
    if let Some(d) = &pp.deadline {
        if d.days == 0 || d.emergency_hours == 0 {
            return Err(ProfileError::new(
                format!("{key}.deadline"),
                "days and emergency_hours must be at least 1",
            ));
        }
        check_citation(&format!("{key}.deadline"), &d.rule, &d.basis, &d.reason)?;
    }
    if let Some(e) = &pp.enforcing_state_notice {
        check_citation(
            &format!("{key}.enforcing_state_notice"),
            &e.rule,
            &e.basis,
            &e.reason,
        )?;
    }
    Ok(())
}

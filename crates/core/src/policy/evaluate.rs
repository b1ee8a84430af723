//! The engine: one case in, one assessment out, with no I/O and no clock but the `now` passed in.
//!
//! A demand passes the checks in this order, and the first that fails decides the route:
//! who issued it (jurisdiction), how it was served, the conditions of its own process, the
//! preservation renewal limit, and overbreadth. A failed check withholds every category under
//! its own rule. The order puts the most useful answer first: a foreign authority learns that it
//! needs a treaty before it learns how to serve, and a demand that can never be answered is
//! refused before anyone is asked to narrow it.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};

use crate::{DataCategory, LegalProcess};

use super::assessment::{
    Assessment, CategoryDecision, CustomerNotice, Decision, NoticeAssessment, Route,
};
use super::case::PolicyCase;
use super::explain::{category_words, process_noun};
use super::jurisdiction::{channel_label, channels_in_words, counted_under, is_treaty_request};
use super::law::{content_ceiling, law_permits_content};
use super::notice::{customer_notice, NoticeFacts};
use super::profile::{Citation, Condition, PolicyProfile, ProcessPolicy};

/// Assesses one case under a profile.
pub fn evaluate(profile: &PolicyProfile, case: &PolicyCase, now: DateTime<Utc>) -> Assessment {
    let received_at = case.received_at.unwrap_or(now);
    let requested: BTreeSet<DataCategory> = case.categories.iter().copied().collect();
    let mut trail = Trail::default();
    trail.say(summary(case, &requested));

    let attested = case.emergency.is_some_and(|e| e.is_attested());
    let emergency_claimed = case.emergency.is_some() || case.process == LegalProcess::Emergency;
    let danger = case
        .emergency
        .is_some_and(|e| e.danger_of_death_or_serious_injury);
    let mut a = Assessment {
        profile: profile.name.clone(),
        process: case.process,
        route: Route::Reject,
        route_rule: String::new(),
        route_basis: String::new(),
        categories: Default::default(),
        customer_notice: CustomerNotice::NotRequired,
        notice_rule: String::new(),
        notice_basis: String::new(),
        notice_after: None,
        notice_review_by: None,
        preserve_days: None,
        respond_by: None,
        received_at,
        counted_under: counted_under(case),
        emergency_honoured: emergency_claimed.then_some(attested),
        enforcing_state_notice: false,
        rules_applied: Vec::new(),
        explanation: Vec::new(),
    };

    let Some(pp) = profile.process_policy(case.process) else {
        // Only a profile built in code can lack a process; from_toml refuses one.
        let cite = Citation {
            rule: "profile.no_rule".to_string(),
            basis: format!("Profile {}", profile.name),
            reason: "The profile has no rules for this process, so nothing is disclosed"
                .to_string(),
        };
        stop(&mut a, &mut trail, &requested, Route::Reject, &cite, None);
        a.customer_notice = CustomerNotice::NotRequired;
        cite_notice(&mut a, &mut trail, &profile.notice.nothing_disclosed);
        return a.finish(trail);
    };

    // A binding order with its own legal clock (an EU production order) is an emergency when
    // its issuer declares one; the supervisor's call-back is the provider's safeguard for
    // voluntary disclosures only.
    let honoured = if pp.deadline.is_some() {
        danger
    } else {
        attested
    };
    a.emergency_honoured = emergency_claimed.then_some(honoured);

    let treaty = is_treaty_request(case, pp);
    let issuer_admitted = treaty || pp.issuer.admits(case.issuing_country);
    if treaty {
        trail.cite_with(
            &profile.gates.treaty_request,
            &format!(
                "It is decided as the US process it is, {}, and counted under {} ({}).",
                process_noun(case.process),
                a.counted_under.name(),
                a.counted_under
            ),
        );
    }

    match first_failed_check(profile, pp, case, &requested, issuer_admitted, attested) {
        Some((route, cite, detail)) => {
            stop(
                &mut a,
                &mut trail,
                &requested,
                route,
                &cite,
                detail.as_deref(),
            );
        }
        None => follow_route(
            &mut a,
            &mut trail,
            pp,
            case,
            &requested,
            received_at,
            danger,
        ),
    }

    if emergency_claimed && case.process != LegalProcess::Emergency {
        trail.say(if honoured {
            "An emergency is declared: the request is handled first, and a human is paged at \
             once."
                .to_string()
        } else {
            "An emergency was claimed without both an attested danger of death or serious \
             injury and a supervisor's contact, so it is not honoured as an emergency."
                .to_string()
        });
    }
    if (case.renewal || case.prior_renewals > 0) && pp.preserve.is_none() {
        trail.say(format!(
            "Renewal applies only to preservation; it is ignored for {}.",
            process_noun(case.process)
        ));
    }

    let disclosed: Vec<DataCategory> = a.disclosed().collect();
    let outcome = customer_notice(
        profile,
        &NoticeFacts {
            policy: pp,
            case,
            disclosed: &disclosed,
            emergency: honoured && a.route == Route::Process,
            issuer_admitted,
            received_at,
            now,
        },
    );
    for note in &outcome.notes {
        trail.cite(note);
    }
    a.customer_notice = outcome.notice;
    a.notice_after = outcome.after;
    a.notice_review_by = outcome.review_by;
    cite_notice(&mut a, &mut trail, &outcome.cite);
    if let Some(d) = a.notice_after {
        trail.say(format!("Notice becomes due after {d}."));
    }
    if let Some(d) = a.notice_review_by {
        trail.say(format!("The order must be reviewed again by {d}."));
    }
    a.finish(trail)
}

/// Customer notice for what the reviewer actually decided to disclose, which may differ from
/// the engine's recommendation. The case carries the other facts the rules look at: the
/// non-disclosure order, the reviewer's finding of illegal conduct, the emergency.
pub fn notice_for_disclosure(
    profile: &PolicyProfile,
    case: &PolicyCase,
    disclosed: &[DataCategory],
    now: DateTime<Utc>,
) -> NoticeAssessment {
    let Some(pp) = profile.process_policy(case.process) else {
        return NoticeAssessment::new(
            CustomerNotice::NotRequired,
            &profile.notice.nothing_disclosed,
            None,
            None,
        );
    };
    let attested = case.emergency.is_some_and(|e| e.is_attested());
    let danger = case
        .emergency
        .is_some_and(|e| e.danger_of_death_or_serious_injury);
    let honoured = if pp.deadline.is_some() {
        danger
    } else {
        attested
    };
    let issuer_admitted = is_treaty_request(case, pp) || pp.issuer.admits(case.issuing_country);
    let outcome = customer_notice(
        profile,
        &NoticeFacts {
            policy: pp,
            case,
            disclosed,
            emergency: honoured && pp.route == Route::Process,
            issuer_admitted,
            received_at: case.received_at.unwrap_or(now),
            now,
        },
    );
    NoticeAssessment::new(
        outcome.notice,
        &outcome.cite,
        outcome.after,
        outcome.review_by,
    )
}

/// The first check the demand fails, as the route it takes, the rule, and a detail sentence.
fn first_failed_check(
    profile: &PolicyProfile,
    pp: &ProcessPolicy,
    case: &PolicyCase,
    requested: &BTreeSet<DataCategory>,
    issuer_admitted: bool,
    attested: bool,
) -> Option<(Route, Citation, Option<String>)> {
    let gates = &profile.gates;
    let label = process_noun(case.process);
    if !issuer_admitted {
        let detail = format!(
            "{} is issued by {}; this one comes from {} ({}).",
            capitalise(label),
            pp.issuer.describe(),
            case.issuing_country.name(),
            case.issuing_country
        );
        return Some(if case.issuing_country.is_us() {
            (Route::Reject, gates.wrong_issuer.clone(), Some(detail))
        } else {
            (
                Route::RedirectMlat,
                gates.redirect_mlat.clone(),
                Some(detail),
            )
        });
    }
    // A process whose own route is the treaty route goes there however it was served.
    if pp.route == Route::RedirectMlat {
        return None;
    }
    if !pp.served_via.contains(&case.received_via) {
        let detail = format!(
            "{} is accepted only through {}; this one arrived by {}.",
            capitalise(label),
            channels_in_words(&pp.served_via),
            channel_label(case.received_via)
        );
        return Some((Route::Reject, gates.improper_service.clone(), Some(detail)));
    }
    for r in &pp.requires {
        let applies = r.categories.is_empty() || r.categories.iter().any(|c| requested.contains(c));
        let met = match r.condition {
            Condition::EmergencyAttested => attested,
            Condition::TargetNotUsPerson => !case.target_is_us_person,
            Condition::JudicialAuthorisation => case.judicial_authorisation,
        };
        if applies && !met {
            return Some((Route::Reject, r.citation(), None));
        }
    }
    if let Some(pr) = &pp.preserve {
        if let Some(n) = renewal_number(case) {
            if n > pr.max_renewals {
                let detail = format!(
                    "This would be renewal number {n}; at most {} allowed.",
                    pr.max_renewals
                );
                return Some((Route::Reject, pr.refused.clone(), Some(detail)));
            }
        }
    }
    if case.targets == 0 {
        return Some((Route::ObjectOverbroad, gates.overbroad.clone(), None));
    }
    None
}

/// Which renewal this request is (1 for the first), or None for a first preservation.
fn renewal_number(case: &PolicyCase) -> Option<u32> {
    (case.renewal || case.prior_renewals > 0).then(|| case.prior_renewals.saturating_add(1))
}

/// A failed check: every requested category is withheld under the check's rule.
fn stop(
    a: &mut Assessment,
    trail: &mut Trail,
    requested: &BTreeSet<DataCategory>,
    route: Route,
    cite: &Citation,
    detail: Option<&str>,
) {
    a.route = route;
    a.route_rule = cite.rule.clone();
    a.route_basis = cite.basis.clone();
    match detail {
        Some(d) => trail.cite_with(cite, d),
        None => trail.cite(cite),
    }
    for c in requested {
        a.categories
            .insert(*c, CategoryDecision::new(Decision::Withhold, cite, None));
    }
    if !requested.is_empty() {
        trail.say(format!(
            "Nothing is disclosed: {} withheld.",
            words_list(requested.iter().map(|c| category_words(*c)))
        ));
    }
}

/// Every check passed: the process's own route and its rule for each category.
fn follow_route(
    a: &mut Assessment,
    trail: &mut Trail,
    pp: &ProcessPolicy,
    case: &PolicyCase,
    requested: &BTreeSet<DataCategory>,
    received_at: DateTime<Utc>,
    emergency: bool,
) {
    a.route = pp.route;
    a.route_rule = pp.route_rule.rule.clone();
    a.route_basis = pp.route_rule.basis.clone();
    trail.cite(&pp.route_rule);
    if requested.is_empty() {
        trail.say("The demand names no data category, so there is nothing to decide.".into());
    }
    for c in requested {
        let decision = decide_category(pp, case.process, *c);
        trail.rule(&decision.rule);
        let mut s = format!(
            "{}: {}. {} (rule {}; {}).",
            capitalise(category_words(*c)),
            decision.decision,
            decision.reason.trim_end_matches('.'),
            decision.rule,
            decision.basis
        );
        if let Some(limit) = &decision.limit {
            s.push_str(&format!(" Limited to {}.", limit.trim_end_matches('.')));
        }
        trail.say(s);
        a.categories.insert(*c, decision);
    }

    if let (Route::PreserveOnly, Some(pr)) = (pp.route, &pp.preserve) {
        let (days, cite) = match renewal_number(case) {
            Some(_) => (pr.renewal_days, &pr.renewal),
            None => (pr.days, &pr.freeze),
        };
        a.preserve_days = Some(days);
        trail.cite_with(cite, &format!("Preserved for {days} days."));
    }

    if let (Route::Process, Some(d)) = (pp.route, &pp.deadline) {
        let (by, clock) = if emergency {
            let h = d.emergency_hours;
            (
                received_at + Duration::hours(i64::from(h)),
                format!("{h} hours, an emergency"),
            )
        } else {
            let n = d.days;
            (
                received_at + Duration::days(i64::from(n)),
                format!("{n} days"),
            )
        };
        a.respond_by = Some(by);
        trail.cite_with(
            &d.citation(),
            &format!(
                "Answer by {} ({clock} from receipt).",
                by.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        );
    }

    if let (Route::Process, Some(e)) = (pp.route, &pp.enforcing_state_notice) {
        if e.categories.iter().any(|c| a.discloses(*c)) {
            a.enforcing_state_notice = true;
            trail.cite(&e.citation());
        }
    }
}

/// The profile's rule for one category, held to the law's ceiling and to the route: a profile
/// built in code, which from_toml never checked, still cannot disclose what the law forbids.
fn decide_category(pp: &ProcessPolicy, process: LegalProcess, c: DataCategory) -> CategoryDecision {
    let Some(cp) = pp.categories.get(&c) else {
        let cite = Citation {
            rule: format!("{process}.no_rule"),
            basis: "Provider policy".to_string(),
            reason: format!("The profile has no rule for {}", category_words(c)),
        };
        return CategoryDecision::new(Decision::Withhold, &cite, None);
    };
    if cp.decision == Decision::Disclose {
        if c.is_content() && !law_permits_content(process) {
            return CategoryDecision::new(Decision::Withhold, &content_ceiling(process), None);
        }
        if pp.route != Route::Process {
            return CategoryDecision::new(Decision::Withhold, &pp.route_rule, None);
        }
    }
    CategoryDecision::new(cp.decision, &cp.citation(), cp.limit.clone())
}

fn cite_notice(a: &mut Assessment, trail: &mut Trail, cite: &Citation) {
    a.notice_rule = cite.rule.clone();
    a.notice_basis = cite.basis.clone();
    trail.cite_with(cite, &format!("Customer notice: {}.", a.customer_notice));
}

fn summary(case: &PolicyCase, requested: &BTreeSet<DataCategory>) -> String {
    let asks = if requested.is_empty() {
        "naming no data category".to_string()
    } else {
        format!(
            "asking for {}",
            words_list(requested.iter().map(|c| category_words(*c)))
        )
    };
    let targets = match case.targets {
        0 => "no specific target".to_string(),
        1 => "1 target".to_string(),
        n => format!("{n} targets"),
    };
    format!(
        "{} ({}) from {} ({}), served through {}, {asks} about {targets}.",
        case.process.label(),
        case.process,
        case.issuing_country.name(),
        case.issuing_country,
        channel_label(case.received_via)
    )
}

fn words_list<'a>(words: impl Iterator<Item = &'a str>) -> String {
    let words: Vec<&str> = words.collect();
    match words.as_slice() {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The rules applied and the sentences explaining them, kept together so that no sentence cites
/// a rule the list lacks.
#[derive(Default)]
struct Trail {
    rules: Vec<String>,
    sentences: Vec<String>,
}

impl Trail {
    fn rule(&mut self, id: &str) {
        if !self.rules.iter().any(|r| r == id) {
            self.rules.push(id.to_string());
        }
    }

    fn cite(&mut self, c: &Citation) {
        self.rule(&c.rule);
        self.sentences.push(sentence(c));
    }

    fn cite_with(&mut self, c: &Citation, detail: &str) {
        self.rule(&c.rule);
        self.sentences.push(format!("{} {detail}", sentence(c)));
    }

    fn say(&mut self, s: String) {
        self.sentences.push(s);
    }
}

fn sentence(c: &Citation) -> String {
    format!(
        "{} (rule {}; {}).",
        c.reason.trim_end_matches('.'),
        c.rule,
        c.basis
    )
}

impl Assessment {
    fn finish(mut self, trail: Trail) -> Assessment {
        self.rules_applied = trail.rules;
        self.explanation = trail.sentences;
        self
    }
}

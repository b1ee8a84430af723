//! The rules of LEGAL.md as a table: one row per rule and per interaction of process,
//! jurisdiction, channel, emergency, non-disclosure order and illegal conduct.

use std::sync::OnceLock;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;
use crate::{Country, DataCategory, LegalProcess, NonDisclosureOrder, ReceivedVia};

use CustomerNotice as N;
use DataCategory::{Content as C, Subscriber as S, Transactional as T};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

// Parsed once: the property tests evaluate thousands of cases.
fn default_profile() -> PolicyProfile {
    static P: OnceLock<PolicyProfile> = OnceLock::new();
    P.get_or_init(|| PolicyProfile::builtin("provider-default").unwrap())
        .clone()
}

fn notify_all() -> PolicyProfile {
    static P: OnceLock<PolicyProfile> = OnceLock::new();
    P.get_or_init(|| PolicyProfile::builtin("notify-all").unwrap())
        .clone()
}

/// A case with the four required fields; `extra` adds or overrides the rest.
fn case(process: &str, country: &str, cats: &[&str], targets: u32, extra: Value) -> Value {
    let mut v = json!({"process": process, "issuing_country": country, "categories": cats,
                       "targets": targets});
    if let (Some(obj), Value::Object(more)) = (v.as_object_mut(), extra) {
        obj.extend(more);
    }
    v
}

fn assess(profile: &PolicyProfile, v: Value) -> Assessment {
    let c = PolicyCase::from_json_value(v.clone()).unwrap_or_else(|e| panic!("{e}: {v}"));
    evaluate(profile, &c, now())
}

const ALL3: &[&str] = &["subscriber", "transactional", "content"];

struct Expect {
    route: Route,
    disclose: &'static [DataCategory],
    withhold: &'static [DataCategory],
    notice: CustomerNotice,
    rule: &'static str,
    preserve_days: Option<u32>,
    counted_under: Option<&'static str>,
    emergency_honoured: Option<Option<bool>>,
}

fn ex(
    route: Route,
    disclose: &'static [DataCategory],
    withhold: &'static [DataCategory],
    notice: CustomerNotice,
    rule: &'static str,
) -> Expect {
    Expect {
        route,
        disclose,
        withhold,
        notice,
        rule,
        preserve_days: None,
        counted_under: None,
        emergency_honoured: None,
    }
}

impl Expect {
    fn preserve(mut self, days: u32) -> Self {
        self.preserve_days = Some(days);
        self
    }
    fn counted(mut self, country: &'static str) -> Self {
        self.counted_under = Some(country);
        self
    }
    fn honoured(mut self, h: Option<bool>) -> Self {
        self.emergency_honoured = Some(h);
        self
    }
}

fn check_row(profile: &PolicyProfile, name: &str, input: Value, e: Expect) {
    let a = assess(profile, input.clone());
    let ctx = || {
        format!(
            "row '{name}'\ninput: {input}\nexplanation: {:#?}",
            a.explanation
        )
    };
    assert_eq!(a.route, e.route, "route, {}", ctx());
    let disclosed: Vec<DataCategory> = a.disclosed().collect();
    assert_eq!(disclosed, e.disclose, "disclosed, {}", ctx());
    let withheld: Vec<DataCategory> = a
        .categories
        .iter()
        .filter(|(_, d)| d.decision == Decision::Withhold)
        .map(|(c, _)| *c)
        .collect();
    assert_eq!(withheld, e.withhold, "withheld, {}", ctx());
    assert_eq!(a.customer_notice, e.notice, "notice, {}", ctx());
    assert!(
        a.rules_applied.iter().any(|r| r == e.rule),
        "rule {} not in {:?}, {}",
        e.rule,
        a.rules_applied,
        ctx()
    );
    assert!(
        a.explanation.iter().any(|s| s.contains(e.rule)),
        "no sentence cites {}, {}",
        e.rule,
        ctx()
    );
    assert_eq!(a.preserve_days, e.preserve_days, "preserve_days, {}", ctx());
    let counted = e
        .counted_under
        .unwrap_or_else(|| input["issuing_country"].as_str().unwrap());
    assert_eq!(a.counted_under.code(), counted, "counted_under, {}", ctx());
    if let Some(h) = e.emergency_honoured {
        assert_eq!(a.emergency_honoured, h, "emergency_honoured, {}", ctx());
    }
}

#[test]
fn provider_default_rules_table() {
    use Route::*;
    let attested = json!({"emergency": {"danger_of_death_or_serious_injury": true,
                                        "supervisor_contact": true}});
    let unattested = json!({"emergency": {"danger_of_death_or_serious_injury": true,
                                          "supervisor_contact": false}});
    let rows: Vec<(&str, Value, Expect)> = vec![
        // --- US process: what each instrument reaches -----------------------------------------
        (
            "subpoena asking for content: content withheld, the rest disclosed",
            case("subpoena", "US", ALL3, 1, json!({})),
            ex(
                Process,
                &[S, T],
                &[C],
                N::NotRequired,
                "subpoena.no_content",
            ),
        ),
        (
            "subpoena for content alone discloses nothing",
            case("subpoena", "US", &["content"], 1, json!({})),
            ex(
                Process,
                &[],
                &[C],
                N::NotRequired,
                "notice.nothing_disclosed",
            ),
        ),
        (
            "civil subpoena: subscriber only, customer told first",
            case("civil_subpoena", "US", ALL3, 1, json!({})),
            ex(
                Process,
                &[S],
                &[T, C],
                N::BeforeDisclosure,
                "civil_subpoena.notice_first",
            ),
        ),
        (
            "civil subpoena: told first even with an NDO and illegal conduct",
            case(
                "civil_subpoena",
                "US",
                &["subscriber"],
                1,
                json!({"ndo_until": "indefinite", "illegal_conduct_indicated": true}),
            ),
            ex(
                Process,
                &[S],
                &[],
                N::BeforeDisclosure,
                "civil_subpoena.notice_first",
            ),
        ),
        (
            "2703(d) order: non-content only",
            case("court_order_2703d", "US", ALL3, 2, json!({})),
            ex(
                Process,
                &[S, T],
                &[C],
                N::NotRequired,
                "court_order_2703d.no_content",
            ),
        ),
        (
            "other court order: non-content only",
            case("court_order_other", "US", ALL3, 1, json!({})),
            ex(
                Process,
                &[S, T],
                &[C],
                N::NotRequired,
                "court_order_other.no_content",
            ),
        ),
        (
            "pen register: transactional only",
            case("pen_register", "US", ALL3, 1, json!({})),
            ex(
                Process,
                &[T],
                &[S, C],
                N::NotRequired,
                "pen_register.transactional",
            ),
        ),
        (
            "wiretap: content only, customer told first",
            case("wiretap", "US", ALL3, 1, json!({})),
            ex(
                Process,
                &[C],
                &[S, T],
                N::BeforeDisclosure,
                "wiretap.content",
            ),
        ),
        (
            "search warrant: everything, customer told first",
            case("search_warrant", "US", ALL3, 1, json!({})),
            ex(
                Process,
                &[S, T, C],
                &[],
                N::BeforeDisclosure,
                "search_warrant.content",
            ),
        ),
        (
            "search warrant naming no category decides nothing",
            case("search_warrant", "US", &[], 1, json!({})),
            ex(Process, &[], &[], N::NotRequired, "search_warrant.accepted"),
        ),
        // --- customer notice: NDO and illegal conduct -----------------------------------------
        (
            "warrant with an NDO until a date: notice after the order",
            case(
                "search_warrant",
                "US",
                &["content"],
                1,
                json!({"ndo_until": "2026-12-31"}),
            ),
            ex(Process, &[C], &[], N::AfterNdo, "notice.ndo_until"),
        ),
        (
            "warrant with an indefinite NDO: deferred, reviewed yearly",
            case(
                "search_warrant",
                "US",
                &["content"],
                1,
                json!({"ndo_until": "indefinite"}),
            ),
            ex(
                Process,
                &[C],
                &[],
                N::DeferredReview,
                "notice.ndo_indefinite",
            ),
        ),
        (
            "warrant with an NDO that already ended: told before",
            case(
                "search_warrant",
                "US",
                &["content"],
                1,
                json!({"ndo_until": "2025-06-30"}),
            ),
            ex(Process, &[C], &[], N::BeforeDisclosure, "notice.ndo_ended"),
        ),
        (
            "warrant with illegal conduct indicated: notice withheld",
            case(
                "search_warrant",
                "US",
                &["content"],
                1,
                json!({"illegal_conduct_indicated": true}),
            ),
            ex(
                Process,
                &[C],
                &[],
                N::WithheldIllegalConduct,
                "notice.illegal_conduct",
            ),
        ),
        (
            "a court's NDO outranks the provider's illegal-conduct judgement",
            case(
                "search_warrant",
                "US",
                &["content"],
                1,
                json!({"ndo_until": "2026-12-31", "illegal_conduct_indicated": true}),
            ),
            ex(Process, &[C], &[], N::AfterNdo, "notice.ndo_until"),
        ),
        (
            "NDO on a non-content disclosure changes nothing: no notice due",
            case(
                "subpoena",
                "US",
                &["subscriber"],
                1,
                json!({"ndo_until": "indefinite"}),
            ),
            ex(Process, &[S], &[], N::NotRequired, "notice.non_content"),
        ),
        // --- jurisdiction and treaty requests ---------------------------------------------------
        (
            "German authority serving a warrant directly: redirect to MLAT",
            case("search_warrant", "DE", ALL3, 1, json!({})),
            ex(
                RedirectMlat,
                &[],
                &[S, T, C],
                N::NotRequired,
                "jurisdiction.redirect_mlat",
            ),
        ),
        (
            "German warrant by e-mail: the treaty route is the first thing to learn",
            case(
                "search_warrant",
                "DE",
                ALL3,
                1,
                json!({"received_via": "email"}),
            ),
            ex(
                RedirectMlat,
                &[],
                &[S, T, C],
                N::NotRequired,
                "jurisdiction.redirect_mlat",
            ),
        ),
        (
            "the same demand via DOJ as a US warrant: processed, counted under DE",
            case(
                "search_warrant",
                "US",
                ALL3,
                1,
                json!({"received_via": "mlat_doj", "requesting_country": "DE"}),
            ),
            ex(
                Process,
                &[S, T, C],
                &[],
                N::BeforeDisclosure,
                "treaty.mlat_doj",
            )
            .counted("DE"),
        ),
        (
            "treaty request recorded with the German issuer: still US process",
            case(
                "search_warrant",
                "DE",
                ALL3,
                1,
                json!({"received_via": "mlat_doj", "requesting_country": "DE"}),
            ),
            ex(
                Process,
                &[S, T, C],
                &[],
                N::BeforeDisclosure,
                "search_warrant.content",
            )
            .counted("DE"),
        ),
        (
            "treaty subpoena still never reaches content",
            case(
                "subpoena",
                "US",
                ALL3,
                1,
                json!({"received_via": "mlat_doj", "requesting_country": "BR"}),
            ),
            ex(
                Process,
                &[S, T],
                &[C],
                N::NotRequired,
                "subpoena.no_content",
            )
            .counted("BR"),
        ),
        (
            "German subpoena: redirect",
            case("subpoena", "DE", &["subscriber"], 1, json!({})),
            ex(
                RedirectMlat,
                &[],
                &[S],
                N::NotRequired,
                "jurisdiction.redirect_mlat",
            ),
        ),
        (
            "direct foreign request: redirect",
            case("foreign_direct", "BR", ALL3, 1, json!({})),
            ex(
                RedirectMlat,
                &[],
                &[S, T, C],
                N::NotRequired,
                "foreign_direct.redirect_mlat",
            ),
        ),
        (
            "direct foreign request by post naming no one: still redirect",
            case(
                "foreign_direct",
                "JP",
                &["content"],
                0,
                json!({"received_via": "postal"}),
            ),
            ex(
                RedirectMlat,
                &[],
                &[C],
                N::NotRequired,
                "foreign_direct.redirect_mlat",
            ),
        ),
        (
            "a US authority cannot use the foreign-request route",
            case("foreign_direct", "US", &["subscriber"], 1, json!({})),
            ex(
                Reject,
                &[],
                &[S],
                N::NotRequired,
                "jurisdiction.wrong_issuer",
            ),
        ),
        // --- service ------------------------------------------------------------------------
        (
            "warrant served by e-mail: rejected, told how to serve",
            case(
                "search_warrant",
                "US",
                ALL3,
                1,
                json!({"received_via": "email"}),
            ),
            ex(
                Reject,
                &[],
                &[S, T, C],
                N::NotRequired,
                "service.improper_channel",
            ),
        ),
        (
            "subpoena by post: rejected",
            case(
                "subpoena",
                "US",
                &["subscriber"],
                1,
                json!({"received_via": "postal"}),
            ),
            ex(
                Reject,
                &[],
                &[S],
                N::NotRequired,
                "service.improper_channel",
            ),
        ),
        (
            "US subpoena through the EU system: rejected",
            case(
                "subpoena",
                "US",
                &["subscriber"],
                1,
                json!({"received_via": "e_evidence"}),
            ),
            ex(
                Reject,
                &[],
                &[S],
                N::NotRequired,
                "service.improper_channel",
            ),
        ),
        (
            "civil subpoena through DOJ: not a treaty instrument, rejected",
            case(
                "civil_subpoena",
                "US",
                &["subscriber"],
                1,
                json!({"received_via": "mlat_doj", "requesting_country": "DE"}),
            ),
            ex(
                Reject,
                &[],
                &[S],
                N::NotRequired,
                "service.improper_channel",
            )
            .counted("DE"),
        ),
        // --- national security ----------------------------------------------------------------
        (
            "NSL: subscriber only, gagged by statute",
            case("national_security_letter", "US", ALL3, 1, json!({})),
            ex(
                Process,
                &[S],
                &[T, C],
                N::ProhibitedByStatute,
                "national_security_letter.gag",
            ),
        ),
        (
            "NSL served by e-mail: rejected, and still gagged",
            case(
                "national_security_letter",
                "US",
                &["subscriber"],
                1,
                json!({"received_via": "email"}),
            ),
            ex(
                Reject,
                &[],
                &[S],
                N::ProhibitedByStatute,
                "service.improper_channel",
            ),
        ),
        (
            "FISA order: as ordered, gagged by statute",
            case(
                "fisa_order",
                "US",
                ALL3,
                1,
                json!({"ndo_until": "2026-12-31"}),
            ),
            ex(
                Process,
                &[S, T, C],
                &[],
                N::ProhibitedByStatute,
                "fisa_order.gag",
            ),
        ),
        // --- preservation -----------------------------------------------------------------
        (
            "preservation: 90 days, nothing disclosed",
            case("preservation", "US", ALL3, 1, json!({})),
            ex(
                PreserveOnly,
                &[],
                &[S, T, C],
                N::NotRequired,
                "preservation.freeze",
            )
            .preserve(90),
        ),
        (
            "preservation renewal: 90 more days",
            case("preservation", "US", ALL3, 1, json!({"renewal": true})),
            ex(
                PreserveOnly,
                &[],
                &[S, T, C],
                N::NotRequired,
                "preservation.renewal",
            )
            .preserve(90),
        ),
        (
            "second preservation renewal: refused",
            case(
                "preservation",
                "US",
                ALL3,
                1,
                json!({"renewal": true, "prior_renewals": 1}),
            ),
            ex(
                Reject,
                &[],
                &[S, T, C],
                N::NotRequired,
                "preservation.renewal_exhausted",
            ),
        ),
        (
            "foreign preservation pending a treaty request: accepted",
            case("preservation", "DE", &["content"], 1, json!({})),
            ex(
                PreserveOnly,
                &[],
                &[C],
                N::NotRequired,
                "preservation.freeze",
            )
            .preserve(90),
        ),
        (
            "preservation naming no one: overbroad",
            case("preservation", "US", &["content"], 0, json!({})),
            ex(
                ObjectOverbroad,
                &[],
                &[C],
                N::NotRequired,
                "overbreadth.no_target",
            ),
        ),
        // --- emergency ----------------------------------------------------------------------
        (
            "attested emergency: what it needs, customer told afterwards",
            case("emergency", "US", ALL3, 1, attested.clone()),
            ex(
                Process,
                &[S, T, C],
                &[],
                N::AfterEmergency,
                "emergency.content",
            )
            .honoured(Some(true)),
        ),
        (
            "emergency without a supervisor's contact: not honoured",
            case("emergency", "US", ALL3, 1, unattested.clone()),
            ex(
                Reject,
                &[],
                &[S, T, C],
                N::NotRequired,
                "emergency.not_attested",
            )
            .honoured(Some(false)),
        ),
        (
            "emergency with no attestation at all: not honoured",
            case("emergency", "US", &["subscriber"], 1, json!({})),
            ex(Reject, &[], &[S], N::NotRequired, "emergency.not_attested").honoured(Some(false)),
        ),
        (
            "emergency without attested danger: not honoured",
            case(
                "emergency",
                "US",
                &["subscriber"],
                1,
                json!({"emergency": {"danger_of_death_or_serious_injury": false,
                                   "supervisor_contact": true}}),
            ),
            ex(Reject, &[], &[S], N::NotRequired, "emergency.not_attested").honoured(Some(false)),
        ),
        (
            "emergency, non-content only: no notice due",
            case("emergency", "GB", &["subscriber"], 1, attested.clone()),
            ex(Process, &[S], &[], N::NotRequired, "emergency.subscriber").honoured(Some(true)),
        ),
        (
            "emergency under an NDO: the order decides",
            case(
                "emergency",
                "US",
                &["content"],
                1,
                json!({"emergency": attested["emergency"], "ndo_until": "2026-06-30"}),
            ),
            ex(Process, &[C], &[], N::AfterNdo, "notice.ndo_until"),
        ),
        (
            "emergency with illegal conduct indicated: notice withheld",
            case(
                "emergency",
                "US",
                &["content"],
                1,
                json!({"emergency": attested["emergency"], "illegal_conduct_indicated": true}),
            ),
            ex(
                Process,
                &[C],
                &[],
                N::WithheldIllegalConduct,
                "notice.illegal_conduct",
            ),
        ),
        (
            "emergency by e-mail: rejected",
            case(
                "emergency",
                "US",
                &["content"],
                1,
                json!({"emergency": attested["emergency"], "received_via": "email"}),
            ),
            ex(
                Reject,
                &[],
                &[C],
                N::NotRequired,
                "service.improper_channel",
            ),
        ),
        (
            "warrant with an attested emergency: customer told afterwards",
            case("search_warrant", "US", &["content"], 1, attested.clone()),
            ex(
                Process,
                &[C],
                &[],
                N::AfterEmergency,
                "notice.after_emergency",
            )
            .honoured(Some(true)),
        ),
        (
            "subpoena with an unattested emergency: ordinary process",
            case("subpoena", "US", ALL3, 1, unattested.clone()),
            ex(
                Process,
                &[S, T],
                &[C],
                N::NotRequired,
                "subpoena.no_content",
            )
            .honoured(Some(false)),
        ),
        // --- UK CLOUD Act -----------------------------------------------------------------
        (
            "UK CLOUD Act order: everything, customer told first",
            case("cloud_act_order", "GB", ALL3, 1, json!({})),
            ex(
                Process,
                &[S, T, C],
                &[],
                N::BeforeDisclosure,
                "cloud_act_order.content",
            ),
        ),
        (
            "UK CLOUD Act order against a US person: rejected",
            case(
                "cloud_act_order",
                "GB",
                ALL3,
                1,
                json!({"target_is_us_person": true}),
            ),
            ex(
                Reject,
                &[],
                &[S, T, C],
                N::NotRequired,
                "cloud_act_order.us_person",
            ),
        ),
        (
            "CLOUD Act order from France: redirect",
            case("cloud_act_order", "FR", ALL3, 1, json!({})),
            ex(
                RedirectMlat,
                &[],
                &[S, T, C],
                N::NotRequired,
                "jurisdiction.redirect_mlat",
            ),
        ),
        (
            "CLOUD Act order from a US authority: wrong issuer",
            case("cloud_act_order", "US", ALL3, 1, json!({})),
            ex(
                Reject,
                &[],
                &[S, T, C],
                N::NotRequired,
                "jurisdiction.wrong_issuer",
            ),
        ),
        // --- EU e-Evidence ------------------------------------------------------------------
        (
            "EU production order for content without a judge: rejected",
            case(
                "epoc",
                "DE",
                &["content"],
                1,
                json!({"received_via": "e_evidence"}),
            ),
            ex(Reject, &[], &[C], N::NotRequired, "epoc.no_judge"),
        ),
        (
            "EU production order for traffic data without a judge: rejected",
            case(
                "epoc",
                "FR",
                &["subscriber", "transactional"],
                1,
                json!({"received_via": "e_evidence"}),
            ),
            ex(Reject, &[], &[S, T], N::NotRequired, "epoc.no_judge"),
        ),
        (
            "EU production order for subscriber data needs no judge",
            case(
                "epoc",
                "IE",
                &["subscriber"],
                1,
                json!({"received_via": "e_evidence"}),
            ),
            ex(Process, &[S], &[], N::NotRequired, "epoc.subscriber"),
        ),
        (
            "EU production order with a judge: everything named, customer told first",
            case(
                "epoc",
                "DE",
                ALL3,
                1,
                json!({"received_via": "e_evidence", "judicial_authorisation": true}),
            ),
            ex(
                Process,
                &[S, T, C],
                &[],
                N::BeforeDisclosure,
                "epoc.enforcing_state",
            ),
        ),
        (
            "EU production order from the UK: redirect",
            case(
                "epoc",
                "GB",
                &["subscriber"],
                1,
                json!({"received_via": "e_evidence"}),
            ),
            ex(
                RedirectMlat,
                &[],
                &[S],
                N::NotRequired,
                "jurisdiction.redirect_mlat",
            ),
        ),
        (
            "EU production order from a US authority: wrong issuer",
            case(
                "epoc",
                "US",
                &["subscriber"],
                1,
                json!({"received_via": "e_evidence"}),
            ),
            ex(
                Reject,
                &[],
                &[S],
                N::NotRequired,
                "jurisdiction.wrong_issuer",
            ),
        ),
        (
            "EU production order by e-mail: rejected",
            case(
                "epoc",
                "DE",
                &["subscriber"],
                1,
                json!({"received_via": "email"}),
            ),
            ex(
                Reject,
                &[],
                &[S],
                N::NotRequired,
                "service.improper_channel",
            ),
        ),
        (
            "EU preservation order: 60 days",
            case(
                "epoc_pr",
                "FR",
                ALL3,
                1,
                json!({"received_via": "e_evidence"}),
            ),
            ex(
                PreserveOnly,
                &[],
                &[S, T, C],
                N::NotRequired,
                "epoc_pr.freeze",
            )
            .preserve(60),
        ),
        (
            "EU preservation extension: 30 more days",
            case(
                "epoc_pr",
                "FR",
                ALL3,
                1,
                json!({"received_via": "e_evidence", "renewal": true}),
            ),
            ex(
                PreserveOnly,
                &[],
                &[S, T, C],
                N::NotRequired,
                "epoc_pr.extension",
            )
            .preserve(30),
        ),
        (
            "second EU preservation extension: refused",
            case(
                "epoc_pr",
                "FR",
                ALL3,
                1,
                json!({"received_via": "e_evidence", "renewal": true, "prior_renewals": 1}),
            ),
            ex(
                Reject,
                &[],
                &[S, T, C],
                N::NotRequired,
                "epoc_pr.extension_exhausted",
            ),
        ),
        // --- other demands ------------------------------------------------------------------
        (
            "device return: the owner is contacted, nothing disclosed",
            case("device_return", "CA", &["subscriber"], 1, json!({})),
            ex(
                ContactOwner,
                &[],
                &[S],
                N::NotRequired,
                "device_return.contact_owner",
            ),
        ),
        (
            "fraud referral: limited non-content, never content",
            case("fraud_referral", "US", ALL3, 1, json!({})),
            ex(
                Process,
                &[S, T],
                &[C],
                N::NotRequired,
                "fraud_referral.no_content",
            ),
        ),
        (
            "removal: nothing disclosed",
            case("removal", "FR", &["content"], 1, json!({})),
            ex(Process, &[], &[C], N::NotRequired, "removal.no_disclosure"),
        ),
        // --- overbreadth ------------------------------------------------------------------
        (
            "subpoena naming no one: overbroad",
            case("subpoena", "US", &["subscriber"], 0, json!({})),
            ex(
                ObjectOverbroad,
                &[],
                &[S],
                N::NotRequired,
                "overbreadth.no_target",
            ),
        ),
        (
            "warrant naming no one: overbroad",
            case("search_warrant", "US", ALL3, 0, json!({})),
            ex(
                ObjectOverbroad,
                &[],
                &[S, T, C],
                N::NotRequired,
                "overbreadth.no_target",
            ),
        ),
    ];
    let profile = default_profile();
    for (name, input, expect) in rows {
        check_row(&profile, name, input, expect);
    }
}

#[test]
fn notify_all_rules_table() {
    use Route::*;
    let rows: Vec<(&str, Value, Expect)> = vec![
        (
            "non-content disclosure: customer told first",
            case(
                "subpoena",
                "US",
                &["subscriber", "transactional"],
                1,
                json!({}),
            ),
            ex(
                Process,
                &[S, T],
                &[],
                N::BeforeDisclosure,
                "notice.before_any_disclosure",
            ),
        ),
        (
            "non-content under an NDO: after the order",
            case(
                "court_order_2703d",
                "US",
                &["subscriber"],
                1,
                json!({"ndo_until": "2027-01-31"}),
            ),
            ex(Process, &[S], &[], N::AfterNdo, "notice.ndo_until"),
        ),
        (
            "non-content in an emergency: told afterwards",
            case(
                "emergency",
                "US",
                &["subscriber"],
                1,
                json!({"emergency": {"danger_of_death_or_serious_injury": true,
                                   "supervisor_contact": true}}),
            ),
            ex(
                Process,
                &[S],
                &[],
                N::AfterEmergency,
                "notice.after_emergency",
            ),
        ),
        (
            "NSL: still gagged",
            case(
                "national_security_letter",
                "US",
                &["subscriber"],
                1,
                json!({}),
            ),
            ex(
                Process,
                &[S],
                &[],
                N::ProhibitedByStatute,
                "national_security_letter.gag",
            ),
        ),
        (
            "preservation: nothing disclosed, nothing to tell",
            case("preservation", "US", &["subscriber"], 1, json!({})),
            ex(
                PreserveOnly,
                &[],
                &[S],
                N::NotRequired,
                "notice.nothing_disclosed",
            )
            .preserve(90),
        ),
        (
            "subpoena still never reaches content",
            case("subpoena", "US", &["content"], 1, json!({})),
            ex(Process, &[], &[C], N::NotRequired, "subpoena.no_content"),
        ),
    ];
    let profile = notify_all();
    for (name, input, expect) in rows {
        check_row(&profile, name, input, expect);
    }
}

#[test]
fn eu_production_order_clock_is_ten_days_or_eight_hours() {
    let p = default_profile();
    let at = "2026-03-01T10:00:00Z";
    let received = Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap();
    let a = assess(
        &p,
        case("epoc", "DE", &["subscriber"], 1, json!({"received_at": at})),
    );
    assert_eq!(a.respond_by, Some(received + Duration::days(10)));
    assert!(a.rules_applied.iter().any(|r| r == "epoc.deadline"));

    let a = assess(
        &p,
        case(
            "epoc",
            "DE",
            &["subscriber"],
            1,
            json!({"received_at": at,
                   "emergency": {"danger_of_death_or_serious_injury": true}}),
        ),
    );
    assert_eq!(a.respond_by, Some(received + Duration::hours(8)));
    // The issuer's declaration is what counts for a binding order with a legal clock.
    assert_eq!(a.emergency_honoured, Some(true));

    // No hard legal deadline for US process, and none for an order that is refused.
    let a = assess(&p, case("subpoena", "US", &["subscriber"], 1, json!({})));
    assert_eq!(a.respond_by, None);
    let a = assess(&p, case("epoc", "DE", &["content"], 1, json!({})));
    assert_eq!(a.respond_by, None);
}

#[test]
fn received_at_defaults_to_now_and_accepts_offsets() {
    let p = default_profile();
    let a = assess(&p, case("epoc", "DE", &["subscriber"], 1, json!({})));
    assert_eq!(a.received_at, now());
    assert_eq!(a.respond_by, Some(now() + Duration::days(10)));
    let a = assess(
        &p,
        case(
            "epoc",
            "DE",
            &["subscriber"],
            1,
            json!({"received_at": "2026-03-01T12:00:00+02:00"}),
        ),
    );
    assert_eq!(
        a.received_at,
        Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap()
    );
}

#[test]
fn ndo_dates_are_reported() {
    let p = default_profile();
    let a = assess(
        &p,
        case(
            "search_warrant",
            "US",
            &["content"],
            1,
            json!({"ndo_until": "2026-12-31"}),
        ),
    );
    assert_eq!(a.notice_after, NaiveDate::from_ymd_opt(2026, 12, 31));
    assert_eq!(a.notice_review_by, None);

    let a = assess(
        &p,
        case(
            "search_warrant",
            "US",
            &["content"],
            1,
            json!({"ndo_until": "indefinite", "received_at": "2026-01-15T08:00:00Z"}),
        ),
    );
    assert_eq!(a.notice_after, None);
    assert_eq!(a.notice_review_by, NaiveDate::from_ymd_opt(2027, 1, 15));
    assert!(a.explanation.iter().any(|s| s.contains("2027-01-15")));
}

#[test]
fn enforcing_state_notice_only_for_traffic_or_content() {
    let p = default_profile();
    let judge = json!({"received_via": "e_evidence", "judicial_authorisation": true});
    let a = assess(&p, case("epoc", "DE", &["content"], 1, judge.clone()));
    assert!(a.enforcing_state_notice);
    let a = assess(&p, case("epoc", "DE", &["subscriber"], 1, judge));
    assert!(!a.enforcing_state_notice);
}

#[test]
fn explanations_tell_the_officer_what_to_do() {
    let p = default_profile();
    let text = |v| assess(&p, v).explanation.join(" ");
    let redirect = text(case("search_warrant", "DE", ALL3, 1, json!({})));
    assert!(
        redirect.contains("Office of International Affairs"),
        "{redirect}"
    );
    assert!(redirect.contains("Germany"), "{redirect}");
    let email = text(case(
        "search_warrant",
        "US",
        ALL3,
        1,
        json!({"received_via": "email"}),
    ));
    assert!(email.contains("law enforcement portal"), "{email}");
    assert!(email.contains("arrived by e-mail"), "{email}");
    let emergency = text(case("emergency", "US", ALL3, 1, json!({})));
    assert!(
        emergency.contains("Not honoured as an emergency"),
        "{emergency}"
    );
    let treaty = text(case(
        "search_warrant",
        "US",
        ALL3,
        1,
        json!({"received_via": "mlat_doj", "requesting_country": "DE"}),
    ));
    assert!(treaty.contains("counted under Germany (DE)"), "{treaty}");
    let renewal = text(case(
        "preservation",
        "US",
        ALL3,
        1,
        json!({"renewal": true, "prior_renewals": 1}),
    ));
    assert!(renewal.contains("renewal number 2"), "{renewal}");
}

#[test]
fn every_decision_cites_a_rule_and_basis() {
    let p = default_profile();
    for process in LegalProcess::ALL {
        let a = assess(&p, case(process.as_str(), "US", ALL3, 1, json!({})));
        assert!(
            !a.route_rule.is_empty() && !a.route_basis.is_empty(),
            "{process}"
        );
        assert!(
            !a.notice_rule.is_empty() && !a.notice_basis.is_empty(),
            "{process}"
        );
        assert_eq!(a.categories.len(), 3, "{process}");
        for d in a.categories.values() {
            assert!(!d.rule.is_empty() && !d.basis.is_empty(), "{process}");
        }
    }
}

// --- check_json -------------------------------------------------------------------------

#[test]
fn check_json_answers_an_array_in_order() {
    let p = default_profile();
    let input = json!([
        case("subpoena", "US", &["content"], 1, json!({})),
        case("search_warrant", "DE", ALL3, 1, json!({})),
        case("preservation", "US", &[], 1, json!({"renewal": true})),
    ])
    .to_string();
    let out: Value = serde_json::from_str(&check_json(&p, &input, now()).unwrap()).unwrap();
    let routes: Vec<&str> = out
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["route"].as_str().unwrap())
        .collect();
    assert_eq!(routes, ["process", "redirect_mlat", "preserve_only"]);
    assert_eq!(out[0]["categories"]["content"]["decision"], "withhold");
    assert_eq!(
        out[0]["categories"]["content"]["rule"],
        "subpoena.no_content"
    );
    assert_eq!(out[1]["counted_under"], "DE");
    assert_eq!(out[2]["preserve_days"], 90);
}

#[test]
fn check_json_answers_one_object_with_the_public_fields() {
    let p = default_profile();
    let input = case("epoc", "DE", &["subscriber"], 1, json!({})).to_string();
    let out: Value = serde_json::from_str(&check_json(&p, &input, now()).unwrap()).unwrap();
    for field in [
        "route",
        "categories",
        "customer_notice",
        "preserve_days",
        "respond_by",
        "explanation",
        "counted_under",
        "rules_applied",
        "emergency_honoured",
        "notice_after",
    ] {
        assert!(out.get(field).is_some(), "missing {field}: {out}");
    }
    assert_eq!(out["respond_by"], "2026-03-12T09:00:00Z");
    assert!(out["explanation"].as_array().unwrap().len() >= 3);
}

#[test]
fn check_json_names_the_bad_field() {
    let p = default_profile();
    let err = |v: Value| {
        check_json(&p, &v.to_string(), now())
            .unwrap_err()
            .to_string()
    };
    let good = case("subpoena", "US", &["subscriber"], 1, json!({}));
    let mut no_process = good.clone();
    no_process.as_object_mut().unwrap().remove("process");
    assert_eq!(
        err(json!([good.clone(), good.clone(), no_process])),
        "[2].process: is required"
    );
    let mut bad_cat = good.clone();
    bad_cat["categories"] = json!(["messages"]);
    assert!(err(json!([good.clone(), bad_cat])).starts_with("[1].categories[0]: unknown data"));
    let mut extra = good.clone();
    extra["warrant_number"] = json!("X1");
    assert!(err(extra).starts_with("warrant_number: unknown field"));
    let mut bad_process = good.clone();
    bad_process["process"] = json!("warrant");
    assert!(err(bad_process).starts_with("process: unknown process 'warrant'"));
    assert!(err(json!([good, 7])).starts_with("[1]: a case is a JSON object"));
    assert!(err(json!("subpoena")).starts_with("input: a case is a JSON object"));
    let not_json = check_json(&p, "{process:", now()).unwrap_err();
    assert_eq!(not_json.field, "input");
}

// --- profiles ---------------------------------------------------------------------------

#[test]
fn builtin_profiles_parse() {
    let names = PolicyProfile::builtin_names();
    assert!(names.contains(&"provider-default") && names.contains(&"notify-all"));
    for name in names {
        let p = PolicyProfile::builtin(name).unwrap();
        assert_eq!(p.name, name);
        assert_eq!(p.process.len(), LegalProcess::ALL.len());
    }
    assert_eq!(default_profile().name, PolicyProfile::DEFAULT);
    let unknown = PolicyProfile::builtin("lenient").unwrap_err();
    assert_eq!(unknown.key, "profile");
    assert!(unknown.message.contains("provider-default"));
}

#[test]
fn notify_all_differs_only_in_notice() {
    let d = default_profile();
    let n = notify_all();
    assert_eq!(d.process, n.process);
    assert_eq!(d.gates, n.gates);
    assert_eq!(n.notice.non_content, NonContentNotice::Notify);
    assert_eq!(d.notice.non_content, NonContentNotice::NotRequired);
}

#[test]
fn the_rule_ids_other_systems_cite_are_stable() {
    let p = default_profile();
    let mut ids = vec![
        p.gates.redirect_mlat.rule.clone(),
        p.gates.overbroad.rule.clone(),
    ];
    for pp in p.process.values() {
        ids.push(pp.route_rule.rule.clone());
        ids.extend(pp.categories.values().map(|c| c.rule.clone()));
    }
    for id in [
        "subpoena.no_content",
        "search_warrant.content",
        "jurisdiction.redirect_mlat",
        "overbreadth.no_target",
        "civil_subpoena.subscriber",
        "national_security_letter.subscriber",
        "fraud_referral.transactional",
        "device_return.contact_owner",
    ] {
        assert!(ids.iter().any(|i| i == id), "{id}");
    }
}

fn default_toml() -> &'static str {
    include_str!("../../profiles/provider-default.toml")
}

#[test]
fn from_toml_rejects_an_unknown_key_by_name() {
    let top = format!("colour = \"blue\"\n{}", default_toml());
    let e = PolicyProfile::from_toml(&top).unwrap_err();
    assert_eq!(e.key, "colour", "{e}");
    assert!(e.message.contains("unknown field"), "{e}");

    let nested = default_toml().replace(
        "[process.subpoena.categories.content]\n",
        "[process.subpoena.categories.content]\nsometimes = true\n",
    );
    let e = PolicyProfile::from_toml(&nested).unwrap_err();
    assert_eq!(
        e.key, "process.subpoena.categories.content.sometimes",
        "{e}"
    );

    let bad_process = "extends = \"provider-default\"\n[process.warrant]\nissuer = \"us\"\n";
    let e = PolicyProfile::from_toml(bad_process).unwrap_err();
    assert!(e.message.contains("unknown process 'warrant'"), "{e}");
}

#[test]
fn from_toml_refuses_content_the_law_forbids() {
    let src = "extends = \"provider-default\"\nname = \"loose\"\n\
               [process.subpoena.categories.content]\ndecision = \"disclose\"\n";
    let e = PolicyProfile::from_toml(src).unwrap_err();
    assert_eq!(e.key, "process.subpoena.categories.content.decision");
}

#[test]
fn from_toml_refuses_incomplete_or_odd_profiles() {
    let no_removal = &default_toml()[..default_toml().find("[process.removal]").unwrap()];
    let e = PolicyProfile::from_toml(no_removal).unwrap_err();
    assert_eq!(e.key, "process.removal");

    let bad_id = "extends = \"provider-default\"\n\
                  [process.subpoena.categories.content]\nrule = \"Subpoena No Content\"\n";
    let e = PolicyProfile::from_toml(bad_id).unwrap_err();
    assert_eq!(e.key, "process.subpoena.categories.content.rule");

    let review = "extends = \"provider-default\"\n[notice]\nndo_review_days = 700\n";
    let e = PolicyProfile::from_toml(review).unwrap_err();
    assert_eq!(e.key, "notice.ndo_review_days");

    let preserve_discloses = "extends = \"provider-default\"\n\
                              [process.preservation.categories.subscriber]\n\
                              decision = \"disclose\"\n";
    let e = PolicyProfile::from_toml(preserve_discloses).unwrap_err();
    assert_eq!(e.key, "process.preservation.categories.subscriber.decision");

    let e = PolicyProfile::from_toml("extends = \"lenient\"\n").unwrap_err();
    assert_eq!(e.key, "profile");
    let e = PolicyProfile::from_toml("name = ").unwrap_err();
    assert!(e.key.is_empty() && e.to_string().contains("line 1"), "{e}");
}

#[test]
fn a_profile_may_extend_a_builtin_and_change_one_clock() {
    let src = "extends = \"provider-default\"\nname = \"short-hold\"\n\
               [process.preservation.preserve]\ndays = 30\n";
    let p = PolicyProfile::from_toml(src).unwrap();
    assert_eq!(p.name, "short-hold");
    let a = evaluate(
        &p,
        &PolicyCase::new(LegalProcess::Preservation, Country::US, vec![], 1),
        now(),
    );
    assert_eq!(a.preserve_days, Some(30));
    assert_eq!(a.profile, "short-hold");
}

#[test]
fn a_profile_round_trips_through_toml() {
    for name in PolicyProfile::builtin_names() {
        let p = PolicyProfile::builtin(name).unwrap();
        let again = PolicyProfile::from_toml(&p.to_toml().unwrap()).unwrap();
        assert_eq!(p, again);
    }
}

#[test]
fn the_law_overrides_a_profile_built_in_code() {
    let mut p = default_profile();
    if let Some(pp) = p.process.get_mut(&LegalProcess::Subpoena) {
        if let Some(c) = pp.categories.get_mut(&C) {
            c.decision = Decision::Disclose;
        }
    }
    let a = evaluate(
        &p,
        &PolicyCase::new(LegalProcess::Subpoena, Country::US, vec![C], 1),
        now(),
    );
    assert!(!a.discloses(C));
    assert_eq!(a.categories[&C].rule, "law.content_ceiling");

    p.process.remove(&LegalProcess::Removal);
    let a = evaluate(
        &p,
        &PolicyCase::new(LegalProcess::Removal, Country::US, vec![C], 1),
        now(),
    );
    assert_eq!(a.route, Route::Reject);
    assert_eq!(a.route_rule, "profile.no_rule");
}

// --- explain ----------------------------------------------------------------------------

#[test]
fn explain_says_what_a_process_can_and_cannot_obtain() {
    let p = default_profile();
    let s = explain(&p, LegalProcess::Subpoena);
    assert!(s.starts_with("Subpoena (subpoena)"), "{s}");
    assert!(s.contains("What it can obtain:\n- subscriber data"), "{s}");
    assert!(s.contains("What it cannot obtain:\n- content"), "{s}");
    assert!(s.contains("subpoena.no_content"), "{s}");
    assert!(s.contains("search warrant"), "{s}");

    let s = explain(&p, LegalProcess::Preservation);
    assert!(s.contains("Preservation: 90 days"), "{s}");
    assert!(s.contains("renewed once, by 90 days"), "{s}");

    let s = explain(&p, LegalProcess::Epoc);
    assert!(s.contains("issued or validated by a judge"), "{s}");
    assert!(s.contains("Deadline: 10 days"), "{s}");

    let s = explain(&p, LegalProcess::ForeignDirect);
    assert!(s.contains("notice.nothing_disclosed"), "{s}");
    assert!(!s.contains("notice.before_content"), "{s}");

    let s = explain(&p, LegalProcess::NationalSecurityLetter);
    assert!(s.contains("national_security_letter.gag"), "{s}");

    for process in LegalProcess::ALL {
        for name in PolicyProfile::builtin_names() {
            let s = explain(&PolicyProfile::builtin(name).unwrap(), *process);
            assert!(s.contains(process.label()), "{s}");
            assert!(s.contains("Customer notice"), "{s}");
        }
    }
}

// --- properties -------------------------------------------------------------------------

fn arb_case() -> impl Strategy<Value = PolicyCase> {
    let countries = ["US", "DE", "GB", "FR", "BR", "JP", "IE"];
    (
        prop::sample::select(LegalProcess::ALL.to_vec()),
        prop::sample::select(countries.to_vec()),
        prop::sample::select(ReceivedVia::ALL.to_vec()),
        prop::option::of(prop::sample::select(countries.to_vec())),
        prop::collection::vec(prop::sample::select(DataCategory::ALL.to_vec()), 0..5),
        0u32..4,
        prop::option::of((any::<bool>(), any::<bool>())),
        prop::option::of(prop::option::of(-400i64..800)),
        any::<[bool; 4]>(),
        0u32..4,
        prop::option::of(-1000i64..1000),
    )
        .prop_map(
            |(process, issuer, via, requesting, categories, targets, em, ndo, flags, prior, at)| {
                let mut c = PolicyCase::new(
                    process,
                    Country::parse(issuer).unwrap(),
                    categories,
                    targets,
                );
                c.received_via = via;
                c.requesting_country = requesting.map(|r| Country::parse(r).unwrap());
                c.emergency = em.map(|(danger, supervisor)| EmergencyClaim {
                    danger_of_death_or_serious_injury: danger,
                    supervisor_contact: supervisor,
                });
                c.ndo_until = ndo.map(|d| match d {
                    Some(days) => {
                        NonDisclosureOrder::Until(now().date_naive() + Duration::days(days))
                    }
                    None => NonDisclosureOrder::Indefinite,
                });
                c.illegal_conduct_indicated = flags[0];
                c.target_is_us_person = flags[1];
                c.judicial_authorisation = flags[2];
                c.renewal = flags[3];
                c.prior_renewals = prior;
                c.received_at = at.map(|h| now() + Duration::hours(h));
                c
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn no_input_yields_content_a_process_cannot_reach(case in arb_case()) {
        for profile in [default_profile(), notify_all()] {
            let a = evaluate(&profile, &case, now());
            if a.discloses(C) {
                prop_assert!(
                    matches!(
                        case.process,
                        LegalProcess::Wiretap
                            | LegalProcess::SearchWarrant
                            | LegalProcess::FisaOrder
                            | LegalProcess::Emergency
                            | LegalProcess::CloudActOrder
                            | LegalProcess::Epoc
                    ),
                    "{} disclosed content: {:?}", case.process, a.explanation
                );
            }
        }
    }

    #[test]
    fn assessments_hold_together(case in arb_case()) {
        for profile in [default_profile(), notify_all()] {
            let a = evaluate(&profile, &case, now());
            // One decision per requested category, and nothing that was not asked for.
            let mut requested = case.categories.clone();
            requested.sort();
            requested.dedup();
            let decided: Vec<DataCategory> = a.categories.keys().copied().collect();
            prop_assert_eq!(decided, requested);
            // Only a demand that passed every check discloses anything.
            if a.route != Route::Process {
                prop_assert_eq!(a.disclosed().count(), 0);
            }
            if a.disclosed().count() > 0 {
                prop_assert!(case.targets > 0);
            }
            // Content never leaves without the customer's notice being decided for it.
            if a.discloses(C) {
                prop_assert_ne!(a.customer_notice, CustomerNotice::NotRequired);
            }
            if case.process.is_national_security() && a.disclosed().count() > 0 {
                prop_assert_eq!(a.customer_notice, CustomerNotice::ProhibitedByStatute);
            }
            if case.process == LegalProcess::CivilSubpoena && a.disclosed().count() > 0 {
                prop_assert_eq!(a.customer_notice, CustomerNotice::BeforeDisclosure);
            }
            if case.process == LegalProcess::Emergency && a.route == Route::Process {
                prop_assert_eq!(a.emergency_honoured, Some(true));
            }
            if a.route == Route::PreserveOnly {
                prop_assert!(a.preserve_days.is_some());
            } else {
                prop_assert!(a.preserve_days.is_none());
            }
            if case.process == LegalProcess::Preservation && case.prior_renewals >= 1 {
                prop_assert_ne!(a.route, Route::PreserveOnly);
            }
            // Every rule cited in the answer is listed, and every listed rule is explained.
            prop_assert!(a.rules_applied.contains(&a.route_rule));
            prop_assert!(a.rules_applied.contains(&a.notice_rule));
            for d in a.categories.values() {
                prop_assert!(a.rules_applied.contains(&d.rule));
            }
            let text = a.explanation.join(" ");
            for r in &a.rules_applied {
                prop_assert!(text.contains(r.as_str()), "{} unexplained", r);
            }
            // The answer survives the JSON contract both ways.
            let json = serde_json::to_string(&a).unwrap();
            let back: Assessment = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back, a);
        }
    }

    #[test]
    fn cases_round_trip_through_check_json(case in arb_case()) {
        // Cases the parser refuses as contradictory are the intake's business, not this test's.
        let v = serde_json::to_value(&case).unwrap();
        if let Ok(parsed) = PolicyCase::from_json_value(v) {
            prop_assert_eq!(parsed, case);
        }
    }
}

/// Notice follows what the reviewer decided to disclose, not the engine's recommendation.
#[test]
fn notice_follows_the_decision_as_made() {
    let pc = |v: Value| PolicyCase::from_json_value(v).unwrap();
    let warrant = pc(case(
        "search_warrant",
        "US",
        &["subscriber", "content"],
        1,
        json!({}),
    ));
    let p = default_profile();
    assert_eq!(
        notice_for_disclosure(&p, &warrant, &[S, C], now()).customer_notice,
        N::BeforeDisclosure
    );
    // The reviewer withheld the content: nothing that needs notice is disclosed.
    assert_eq!(
        notice_for_disclosure(&p, &warrant, &[S], now()).customer_notice,
        N::NotRequired
    );
    assert_eq!(
        notice_for_disclosure(&notify_all(), &warrant, &[S], now()).customer_notice,
        N::BeforeDisclosure
    );
    let gagged = pc(case(
        "search_warrant",
        "US",
        &["content"],
        1,
        json!({"ndo_until": "2026-06-30"}),
    ));
    let n = notice_for_disclosure(&p, &gagged, &[C], now());
    assert_eq!(n.customer_notice, N::AfterNdo);
    assert_eq!(n.notice_after, NaiveDate::from_ymd_opt(2026, 6, 30));
    let conduct = pc(case(
        "search_warrant",
        "US",
        &["content"],
        1,
        json!({"illegal_conduct_indicated": true}),
    ));
    let n = notice_for_disclosure(&p, &conduct, &[C], now());
    assert_eq!(n.customer_notice, N::WithheldIllegalConduct);
    assert_eq!(n.rule, "notice.illegal_conduct");
    let emergency = pc(case(
        "emergency",
        "US",
        &["subscriber", "content"],
        1,
        json!({"emergency": {"danger_of_death_or_serious_injury": true, "supervisor_contact": true}}),
    ));
    assert_eq!(
        notice_for_disclosure(&p, &emergency, &[C], now()).customer_notice,
        N::AfterEmergency
    );
    let civil = pc(case("civil_subpoena", "US", &["subscriber"], 1, json!({})));
    assert_eq!(
        notice_for_disclosure(&p, &civil, &[S], now()).customer_notice,
        N::BeforeDisclosure
    );
}

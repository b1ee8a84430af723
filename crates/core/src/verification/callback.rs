//! The call-back: before an emergency disclosure, a reviewer telephones the agency to confirm
//! that the officer exists and sent the request.
//!
//! The number comes from the provider's own directory, entered by an admin from an independent
//! source when the agency was verified, never from the request: a forger puts their own
//! accomplice's number in the request and on the signature block. The request's number is kept
//! only to warn the reviewer when it differs, which is itself worth mentioning on the call.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::risk::{RiskAssessment, RiskCode, RiskLevel};
use crate::{named_enum, FieldError, Target, TargetKind};

named_enum! {
    /// What the reviewer learned on the call.
    pub enum CallbackOutcome ("call-back outcome") {
        /// The agency confirmed the officer and that the officer sent this request.
        Confirmed = "confirmed",
        /// The agency says it did not send the request: very likely a forgery.
        NotConfirmed = "not_confirmed",
        /// The agency does not know the officer.
        OfficerUnknown = "officer_unknown",
        /// No one answered; try again.
        NoAnswer = "no_answer",
        /// The directory number did not reach the agency; an admin must correct the directory.
        NumberMismatch = "number_mismatch",
    }
}

impl CallbackOutcome {
    /// The agency itself said the request is not theirs.
    pub fn suggests_forgery(self) -> bool {
        matches!(
            self,
            CallbackOutcome::NotConfirmed | CallbackOutcome::OfficerUnknown
        )
    }
}

/// A phone number reduced to its digits, with `+` kept, for comparison.
fn normalise(raw: &str) -> Option<String> {
    Target::parse(TargetKind::Phone, raw).ok().map(|t| t.value)
}

/// Whether two normalised numbers are the same line. A number written without its country or
/// area code is the same line when the longer one ends with it; seven digits is the shortest
/// subscriber number that still says something.
fn same_line(a: &str, b: &str) -> bool {
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let (a, b) = (digits(a), digits(b));
    let (long, short) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    short.len() >= 7 && long.ends_with(&short)
}

/// The call a reviewer must make for one emergency request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbackTask {
    /// The agency's number from the provider's directory: the only number to call.
    pub directory_phone: String,
    /// The number given in the request, kept only to warn when it differs.
    #[serde(default)]
    pub request_phone: Option<String>,
}

impl CallbackTask {
    /// A task to call `directory_phone`. Refuses a directory entry that is not a phone number,
    /// since the call-back is worthless without one; an unreadable request number is kept as
    /// given and always warned about.
    pub fn new(directory_phone: &str, request_phone: Option<&str>) -> Result<Self, FieldError> {
        let directory_phone = normalise(directory_phone).ok_or_else(|| {
            FieldError::new(
                "directory_phone",
                format!(
                    "'{directory_phone}' is not a telephone number; the agency's directory entry \
                     must be corrected before a call-back can be made"
                ),
            )
        })?;
        let request_phone = request_phone
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| normalise(p).unwrap_or_else(|| p.to_string()));
        Ok(CallbackTask {
            directory_phone,
            request_phone,
        })
    }

    /// What the reviewer is told to do.
    pub fn instructions(&self) -> String {
        format!(
            "Call the agency at {}, the number in the provider's directory. Do not use any number \
             given in the request. Ask for the officer's supervisor and confirm that the officer \
             works there and sent this request.",
            self.directory_phone
        )
    }

    /// A warning when the request gives a different number from the directory's.
    pub fn warning(&self) -> Option<String> {
        let given = self.request_phone.as_deref()?;
        if same_line(given, &self.directory_phone) {
            return None;
        }
        Some(format!(
            "The request gives {given} as the number to call, which is not the agency's number in \
             the directory ({}). Do not call it; mention it to the agency on the call-back.",
            self.directory_phone
        ))
    }

    /// What the reviewer records after calling `called`.
    pub fn record(
        &self,
        called: &str,
        outcome: CallbackOutcome,
        reviewer: Uuid,
        called_at: DateTime<Utc>,
        spoke_with: Option<String>,
        note: Option<String>,
    ) -> CallbackRecord {
        CallbackRecord {
            outcome,
            directory_phone: self.directory_phone.clone(),
            called_number: normalise(called).unwrap_or_else(|| called.trim().to_string()),
            reviewer,
            called_at,
            spoke_with,
            note,
        }
    }
}

/// The reviewer's record of a call-back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbackRecord {
    pub outcome: CallbackOutcome,
    /// The directory number the task said to call.
    pub directory_phone: String,
    /// The number the reviewer actually called.
    pub called_number: String,
    pub reviewer: Uuid,
    pub called_at: DateTime<Utc>,
    /// Who at the agency answered, e.g. the watch commander's name and rank.
    #[serde(default)]
    pub spoke_with: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

impl CallbackRecord {
    /// Whether the reviewer called the directory number rather than another.
    pub fn called_directory_number(&self) -> bool {
        same_line(&self.called_number, &self.directory_phone)
    }
}

/// Something that still stands between a request and a disclosure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Blocker {
    /// No call-back has been recorded.
    NoCallback,
    /// A call-back was recorded, but it did not confirm the request.
    CallbackNotConfirmed { outcome: CallbackOutcome },
    /// The reviewer called a number other than the directory's.
    CallbackNotToDirectory { called: String, directory: String },
    /// The risk is high and no approver has cleared it.
    HighRiskNotCleared { score: u32 },
    /// Reasons that no approver can clear.
    HardBlock { reasons: Vec<RiskCode> },
}

impl Blocker {
    /// A sentence for the reviewer saying what is missing and what to do.
    pub fn describe(&self) -> String {
        match self {
            Blocker::NoCallback => "No call-back has been recorded: call the agency at the \
                                    number in the directory and record the result."
                .to_string(),
            Blocker::CallbackNotConfirmed { outcome } if outcome.suggests_forgery() => format!(
                "The call-back did not confirm the request ({outcome}): treat it as a possible \
                 forgery and tell an admin."
            ),
            Blocker::CallbackNotConfirmed { outcome } => format!(
                "The call-back did not confirm the request ({outcome}): call again at the \
                 directory number."
            ),
            Blocker::CallbackNotToDirectory { called, directory } => format!(
                "The call-back went to {called}, not to the agency's directory number \
                 {directory}: call the directory number."
            ),
            Blocker::HighRiskNotCleared { score } => format!(
                "The risk score is high ({score}): an approver must review the reasons and \
                 clear the request."
            ),
            Blocker::HardBlock { reasons } => {
                let names: Vec<&str> = reasons.iter().map(|r| r.as_str()).collect();
                format!(
                    "Disclosure is blocked whatever an approver decides ({}): an admin must \
                     resolve this first.",
                    names.join(", ")
                )
            }
        }
    }
}

impl std::fmt::Display for Blocker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// What the risk assessment alone still blocks, for any disclosure: reasons no approver can
/// clear, or a high score an approver has not cleared.
pub fn risk_blockers(risk: &RiskAssessment, approver_cleared: bool) -> Vec<Blocker> {
    let hard: Vec<RiskCode> = risk.hard_blocks().map(|r| r.code).collect();
    if !hard.is_empty() {
        return vec![Blocker::HardBlock { reasons: hard }];
    }
    if risk.level == RiskLevel::High && !approver_cleared {
        return vec![Blocker::HighRiskNotCleared { score: risk.score }];
    }
    Vec::new()
}

/// Whether an emergency disclosure may go ahead, or everything that still blocks it: a
/// confirmed call-back to the directory number, and a risk assessment that does not block
/// (or that an approver has cleared, where clearing is allowed).
pub fn emergency_disclosure_allowed(
    callback: Option<&CallbackRecord>,
    risk: &RiskAssessment,
    approver_cleared: bool,
) -> Result<(), Vec<Blocker>> {
    let mut blockers = Vec::new();
    match callback {
        None => blockers.push(Blocker::NoCallback),
        Some(record) => {
            if !record.called_directory_number() {
                blockers.push(Blocker::CallbackNotToDirectory {
                    called: record.called_number.clone(),
                    directory: record.directory_phone.clone(),
                });
            }
            if record.outcome != CallbackOutcome::Confirmed {
                blockers.push(Blocker::CallbackNotConfirmed {
                    outcome: record.outcome,
                });
            }
        }
    }
    blockers.extend(risk_blockers(risk, approver_cleared));
    if blockers.is_empty() {
        Ok(())
    } else {
        Err(blockers)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::verification::risk::RiskReason;

    fn low() -> RiskAssessment {
        RiskAssessment {
            score: 0,
            level: RiskLevel::Low,
            reasons: vec![],
            blocks_disclosure: false,
            hard_blocked: false,
        }
    }

    fn high(hard: bool) -> RiskAssessment {
        let code = if hard {
            RiskCode::AgencySuspended
        } else {
            RiskCode::UnusualNetwork
        };
        RiskAssessment {
            score: 60,
            level: RiskLevel::High,
            reasons: vec![RiskReason {
                code,
                weight: 60,
                text: String::new(),
            }],
            blocks_disclosure: true,
            hard_blocked: hard,
        }
    }

    fn task() -> CallbackTask {
        CallbackTask::new("+1 (217) 555-0100", Some("217-555-0199")).unwrap()
    }

    fn record(called: &str, outcome: CallbackOutcome) -> CallbackRecord {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        task().record(
            called,
            outcome,
            Uuid::nil(),
            at,
            Some("Lt. Diaz".into()),
            None,
        )
    }

    #[test]
    fn the_directory_number_is_the_one_to_call() {
        let t = task();
        assert_eq!(t.directory_phone, "+12175550100");
        assert!(t.instructions().contains("+12175550100"));
        let warning = t.warning().unwrap();
        assert!(warning.contains("2175550199"), "{warning}");
        assert!(warning.contains("Do not call it"), "{warning}");
        let same = CallbackTask::new("+1 217 555 0100", Some("(217) 555-0100")).unwrap();
        assert_eq!(same.warning(), None);
        assert!(CallbackTask::new("call the front desk", None).is_err());
        let none = CallbackTask::new("+12175550100", Some("  ")).unwrap();
        assert_eq!(none.request_phone, None);
    }

    #[test]
    fn a_confirmed_call_to_the_directory_number_allows_an_emergency_disclosure() {
        let r = record("217.555.0100", CallbackOutcome::Confirmed);
        assert_eq!(
            emergency_disclosure_allowed(Some(&r), &low(), false),
            Ok(())
        );
    }

    #[test]
    fn every_missing_piece_is_named() {
        assert_eq!(
            emergency_disclosure_allowed(None, &low(), false),
            Err(vec![Blocker::NoCallback])
        );
        let r = record("217-555-0199", CallbackOutcome::Confirmed);
        assert_eq!(
            emergency_disclosure_allowed(Some(&r), &low(), false),
            Err(vec![Blocker::CallbackNotToDirectory {
                called: "2175550199".into(),
                directory: "+12175550100".into()
            }])
        );
        for outcome in CallbackOutcome::ALL
            .iter()
            .filter(|o| **o != CallbackOutcome::Confirmed)
        {
            let r = record("+12175550100", *outcome);
            assert_eq!(
                emergency_disclosure_allowed(Some(&r), &low(), true),
                Err(vec![Blocker::CallbackNotConfirmed { outcome: *outcome }])
            );
        }
        let r = record("+12175550100", CallbackOutcome::Confirmed);
        assert_eq!(
            emergency_disclosure_allowed(Some(&r), &high(false), false),
            Err(vec![Blocker::HighRiskNotCleared { score: 60 }])
        );
        assert_eq!(
            emergency_disclosure_allowed(Some(&r), &high(false), true),
            Ok(())
        );
        assert_eq!(
            emergency_disclosure_allowed(Some(&r), &high(true), true),
            Err(vec![Blocker::HardBlock {
                reasons: vec![RiskCode::AgencySuspended]
            }])
        );
    }

    #[test]
    fn blockers_explain_themselves_and_serialise_with_a_code() {
        let b = Blocker::CallbackNotConfirmed {
            outcome: CallbackOutcome::NotConfirmed,
        };
        assert!(b.to_string().contains("possible forgery"));
        assert_eq!(
            serde_json::to_value(&b).unwrap(),
            serde_json::json!({"code": "callback_not_confirmed", "outcome": "not_confirmed"})
        );
        let r = record("+12175550100", CallbackOutcome::Confirmed);
        let back: CallbackRecord =
            serde_json::from_value(serde_json::to_value(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }
}

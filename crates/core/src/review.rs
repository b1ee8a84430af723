//! The reviewer's decision on a request, category by category, and the two-person rule that
//! guards the most intrusive disclosures (DESIGN.md: an approver is the second pair of eyes on
//! every content disclosure and every emergency disclosure).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::policy::{law_permits_content, Decision};
use crate::{DataCategory, FieldError, LegalProcess};

/// One category's ruling. Withholding needs a reason the agency will read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CategoryRuling {
    pub decision: Decision,
    #[serde(default)]
    pub reason: Option<String>,
}

/// A reviewer's decision as submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReviewDecision {
    /// One ruling per requested category.
    pub categories: BTreeMap<DataCategory, CategoryRuling>,
    /// A clear indication of illegal conduct in connection with the use of the provider's
    /// products, which withholds customer notice; the reviewer must say why.
    #[serde(default)]
    pub illegal_conduct_reason: Option<String>,
}

impl ReviewDecision {
    /// Checks the decision against what was asked and what the law allows this process.
    pub fn validate(
        mut self,
        process: LegalProcess,
        requested: &[DataCategory],
    ) -> Result<ReviewDecision, FieldError> {
        for (category, ruling) in &mut self.categories {
            let field = format!("categories.{category}");
            if !requested.contains(category) {
                return Err(FieldError::new(
                    field,
                    "was not requested; a decision covers only what the demand asks for",
                ));
            }
            ruling.reason = ruling
                .reason
                .take()
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty());
            if ruling.decision == Decision::Withhold && ruling.reason.is_none() {
                return Err(FieldError::new(
                    format!("{field}.reason"),
                    "say why the category is withheld; the agency reads it",
                ));
            }
            if ruling.decision == Decision::Disclose && process == LegalProcess::DeviceReturn {
                return Err(FieldError::new(
                    field,
                    "a device return discloses nothing about the owner; contact the owner instead",
                ));
            }
            if ruling.decision == Decision::Disclose
                && category.is_content()
                && !law_permits_content(process)
            {
                return Err(FieldError::new(
                    field,
                    format!(
                        "a {} can never reach content (the law's ceiling, whatever the profile)",
                        process.label().to_lowercase()
                    ),
                ));
            }
        }
        if let Some(missing) = requested.iter().find(|c| !self.categories.contains_key(c)) {
            return Err(FieldError::new(
                format!("categories.{missing}"),
                "needs a ruling (disclose or withhold)",
            ));
        }
        self.illegal_conduct_reason = self
            .illegal_conduct_reason
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty());
        Ok(self)
    }

    pub fn discloses(&self, category: DataCategory) -> bool {
        self.categories
            .get(&category)
            .is_some_and(|r| r.decision == Decision::Disclose)
    }

    pub fn discloses_anything(&self) -> bool {
        self.categories
            .values()
            .any(|r| r.decision == Decision::Disclose)
    }

    /// A content disclosure, or any disclosure in an emergency, needs a second person.
    pub fn needs_approval(&self, emergency: bool) -> bool {
        self.discloses(DataCategory::Content) || (emergency && self.discloses_anything())
    }
}

/// Why an approval is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    #[error("the reviewer who decided cannot also approve (two-person rule)")]
    SamePerson,
    #[error("this decision needs no approval")]
    NotRequired,
    #[error("the decision is already approved")]
    AlreadyApproved,
}

/// The two-person rule, as a pure check.
pub fn check_approval(
    decided_by: uuid::Uuid,
    approver: uuid::Uuid,
    needs_approval: bool,
    already_approved: bool,
) -> Result<(), ApprovalError> {
    if !needs_approval {
        return Err(ApprovalError::NotRequired);
    }
    if already_approved {
        return Err(ApprovalError::AlreadyApproved);
    }
    if decided_by == approver {
        return Err(ApprovalError::SamePerson);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use DataCategory::*;

    fn decision(rulings: &[(DataCategory, Decision, Option<&str>)]) -> ReviewDecision {
        ReviewDecision {
            categories: rulings
                .iter()
                .map(|(c, d, r)| {
                    (
                        *c,
                        CategoryRuling {
                            decision: *d,
                            reason: r.map(str::to_string),
                        },
                    )
                })
                .collect(),
            illegal_conduct_reason: None,
        }
    }

    #[test]
    fn every_requested_category_needs_a_ruling_and_withholding_a_reason() {
        let d = decision(&[(Subscriber, Decision::Disclose, None)]);
        let err = d
            .validate(LegalProcess::Subpoena, &[Subscriber, Transactional])
            .unwrap_err();
        assert_eq!(err.field, "categories.transactional");
        let d = decision(&[(Subscriber, Decision::Withhold, Some("  "))]);
        let err = d
            .validate(LegalProcess::Subpoena, &[Subscriber])
            .unwrap_err();
        assert_eq!(err.field, "categories.subscriber.reason");
        let d = decision(&[(Content, Decision::Withhold, Some("no"))]);
        let err = d
            .validate(LegalProcess::Subpoena, &[Subscriber])
            .unwrap_err();
        assert_eq!(err.field, "categories.content");
    }

    #[test]
    fn content_beyond_the_law_is_refused_even_by_a_reviewer() {
        let d = decision(&[(Content, Decision::Disclose, None)]);
        assert!(d
            .clone()
            .validate(LegalProcess::Subpoena, &[Content])
            .is_err());
        assert!(d.validate(LegalProcess::SearchWarrant, &[Content]).is_ok());
    }

    #[test]
    fn content_and_emergency_disclosures_need_a_second_person() {
        let content = decision(&[(Content, Decision::Disclose, None)]);
        assert!(content.needs_approval(false));
        let subscriber = decision(&[(Subscriber, Decision::Disclose, None)]);
        assert!(!subscriber.needs_approval(false));
        assert!(subscriber.needs_approval(true));
        let nothing = decision(&[(Subscriber, Decision::Withhold, Some("no data"))]);
        assert!(!nothing.needs_approval(true));

        let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        assert_eq!(
            check_approval(a, a, true, false),
            Err(ApprovalError::SamePerson)
        );
        assert_eq!(
            check_approval(a, b, false, false),
            Err(ApprovalError::NotRequired)
        );
        assert_eq!(
            check_approval(a, b, true, true),
            Err(ApprovalError::AlreadyApproved)
        );
        assert_eq!(check_approval(a, b, true, false), Ok(()));
    }
}

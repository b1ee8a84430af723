//! What the orchestrator tells the builder: the request, each record, the custodian's sign-off.

use chrono::NaiveDate;
use custodian_core::request::DateRange;
use custodian_core::{DataCategory, LegalProcess, RequestNumber, Target};

use crate::PackageError;

/// The decided request a package answers, as the manifest and certificate state it.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestFacts {
    /// The provider's number for the request (`LE-2026-000123`).
    pub number: RequestNumber,
    /// The legal process served.
    pub process: LegalProcess,
    /// The requesting agency's name.
    pub agency: String,
    /// The agency's own reference, if it gave one.
    pub case_reference: Option<String>,
    /// Exactly the categories decided 'disclose'; every record must be of one of them.
    pub categories: Vec<DataCategory>,
    /// The targets as the demand named them.
    pub targets: Vec<Target>,
    /// The period of records the demand asked for.
    pub date_range: Option<DateRange>,
    /// The reviewer who decided.
    pub decided_by: String,
    /// The approver, where the two-person rule asked for one.
    pub approved_by: Option<String>,
}

/// Text fields longer than this are refused; they end up on one line of the certificate.
const MAX_TEXT: usize = 500;

impl RequestFacts {
    /// The checks that make the manifest and the certificate truthful: something to disclose,
    /// named targets, a sensible date range.
    pub(crate) fn validate(mut self) -> Result<RequestFacts, PackageError> {
        let invalid = |field, message: &str| {
            Err(PackageError::InvalidFacts {
                field,
                message: message.to_string(),
            })
        };
        self.categories.sort();
        self.categories.dedup();
        if self.categories.is_empty() {
            return invalid(
                "categories",
                "no category was decided for disclosure, so there is nothing to produce",
            );
        }
        if self.targets.is_empty() {
            return invalid("targets", "a production names the targets of the demand");
        }
        if let Some(range) = self.date_range {
            if range.from > range.to {
                return invalid("date_range", "'from' must not be after 'to'");
            }
        }
        for (field, value) in [
            ("agency", Some(&self.agency)),
            ("decided_by", Some(&self.decided_by)),
            ("approved_by", self.approved_by.as_ref()),
            ("case_reference", self.case_reference.as_ref()),
        ] {
            if let Some(v) = value {
                check_text(
                    field,
                    v,
                    field != "approved_by" && field != "case_reference",
                )?;
            }
        }
        Ok(self)
    }
}

fn check_text(field: &'static str, value: &str, required: bool) -> Result<(), PackageError> {
    let message = if required && value.trim().is_empty() {
        "must not be empty"
    } else if value.len() > MAX_TEXT {
        "is too long"
    } else if value.chars().any(char::is_control) {
        "must be one line of text"
    } else {
        return Ok(());
    };
    Err(PackageError::InvalidFacts {
        field,
        message: message.to_string(),
    })
}

/// The custodian of records' sign-off on the business-records certificate.
#[derive(Debug, Clone, PartialEq)]
pub struct SignOff {
    /// The custodian's full name.
    pub name: String,
    /// Their title (`Custodian of Records`).
    pub title: String,
    /// The provider's legal name.
    pub provider: String,
    /// The date the certificate is executed.
    pub date: NaiveDate,
    /// Where it is executed (`Seattle, Washington`), if the provider states it.
    pub place: Option<String>,
}

impl SignOff {
    pub(crate) fn validate(&self) -> Result<(), PackageError> {
        check_text("name", &self.name, true)?;
        check_text("title", &self.title, true)?;
        check_text("provider", &self.provider, true)?;
        if let Some(place) = &self.place {
            check_text("place", place, true)?;
        }
        Ok(())
    }
}

/// One record to put in the package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its category; it is filed under `records/<category>/`.
    pub category: DataCategory,
    /// Its path below the category's directory, with `/` between components
    /// (`jane@example.com/photos/IMG_0001.jpg`).
    pub path: String,
    /// Its size in bytes when known. A record of unknown size is spooled to a temporary file
    /// first (a tar header states the size before the bytes).
    pub size: Option<u64>,
}

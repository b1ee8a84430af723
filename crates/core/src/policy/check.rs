//! `custodian policy check`: cases in as JSON, assessments out as JSON, with no I/O here so the
//! CLI and the tests share it.

use chrono::{DateTime, Utc};

use crate::FieldError;

use super::case::PolicyCase;
use super::evaluate::evaluate;
use super::profile::PolicyProfile;

/// Assesses one case (a JSON object) or several (an array), answering in the same shape and
/// order. An invalid case is reported by its field, under its index for arrays (`[2].process`).
pub fn check_json(
    profile: &PolicyProfile,
    input: &str,
    now: DateTime<Utc>,
) -> Result<String, FieldError> {
    let value: serde_json::Value = serde_json::from_str(input)
        .map_err(|e| FieldError::new("input", format!("is not JSON: {e}")))?;
    // Serialised straight from the structs so that fields keep their documented order.
    let answer = match value {
        serde_json::Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                let case =
                    PolicyCase::from_json_value(item).map_err(|e| e.under(&format!("[{i}]")))?;
                out.push(evaluate(profile, &case, now));
            }
            serde_json::to_string_pretty(&out)
        }
        other => {
            let case = PolicyCase::from_json_value(other).map_err(|e| {
                if e.field.is_empty() {
                    FieldError::new("input", e.message)
                } else {
                    e
                }
            })?;
            serde_json::to_string_pretty(&evaluate(profile, &case, now))
        }
    };
    answer.map_err(|e| FieldError::new("output", e.to_string()))
}

//! Device return (LEGAL.md, process table, `device_return`): an officer holds a device that was
//! found or recovered and gives its serial number; the provider finds the owner and passes on
//! the officer's contact details and message. The officer learns only whether the owner was
//! contacted or the device is not known; never who the owner is.
//!
//! The provider acts when a reviewer presses "contact the owner" on a request in review (not
//! automatically at intake): a forged request could otherwise make the provider mail any
//! device's owner on a stranger's behalf, and issue 6 asks that requesters be checked before
//! anything is done.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{named_enum, FieldError, RequestStatus, TargetKind};

const MAX_FIELD: usize = 200;
const MAX_MESSAGE: usize = 2_000;

/// The officer's contact details and message for the owner, as the intake records them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OfficerContact {
    pub name: String,
    pub agency: String,
    pub phone: String,
    pub email: String,
    pub case_reference: String,
    /// What the officer wants the owner to read (where the device is, how to collect it).
    pub message: String,
}

impl OfficerContact {
    /// Trims every field and checks that each is present, not too long, and that the phone and
    /// e-mail look like a phone number and an e-mail address. Errors name the field under
    /// `device_return.`.
    pub fn validate(self) -> Result<OfficerContact, FieldError> {
        let field = |name: &str, value: String, max: usize| -> Result<String, FieldError> {
            let v = value.trim().to_string();
            if v.is_empty() {
                return Err(FieldError::new(
                    format!("device_return.{name}"),
                    "must not be empty; the owner needs it to reach the officer",
                ));
            }
            if v.chars().count() > max {
                return Err(FieldError::new(
                    format!("device_return.{name}"),
                    format!("at most {max} characters"),
                ));
            }
            Ok(v)
        };
        let c = OfficerContact {
            name: field("name", self.name, MAX_FIELD)?,
            agency: field("agency", self.agency, MAX_FIELD)?,
            phone: field("phone", self.phone, MAX_FIELD)?,
            email: field("email", self.email, MAX_FIELD)?,
            case_reference: field("case_reference", self.case_reference, MAX_FIELD)?,
            message: field("message", self.message, MAX_MESSAGE)?,
        };
        crate::Target::parse(TargetKind::Phone, &c.phone)
            .map_err(|e| FieldError::new("device_return.phone", e.message))?;
        crate::Target::parse(TargetKind::Email, &c.email)
            .map_err(|e| FieldError::new("device_return.email", e.message))?;
        Ok(c)
    }
}

named_enum! {
    /// What the officer learns, and all they learn.
    pub enum DeviceReturnOutcome ("device return outcome") {
        /// The owner was found and sent the officer's contact details.
        OwnerContacted = "owner_contacted",
        /// No account holds or held the device.
        DeviceNotKnown = "device_not_known",
    }
}

impl DeviceReturnOutcome {
    /// The sentence the officer reads (request page, JSON, letter).
    pub fn officer_message(self) -> &'static str {
        match self {
            DeviceReturnOutcome::OwnerContacted => {
                "The owner of the device was contacted and given your contact details and \
                 message. The provider does not disclose who the owner is; the owner decides \
                 whether to get in touch."
            }
            DeviceReturnOutcome::DeviceNotKnown => {
                "The device is not known to us: no customer account holds a device with this \
                 serial number."
            }
        }
    }

    /// The audit action of the outcome (its details name nobody).
    pub fn audit_action(self) -> &'static str {
        match self {
            DeviceReturnOutcome::OwnerContacted => "device_return.owner_contacted",
            DeviceReturnOutcome::DeviceNotKnown => "device_return.device_not_known",
        }
    }
}

/// One account's registration of the device, as the data source records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration<A> {
    pub account: A,
    pub registered_at: DateTime<Utc>,
    pub deregistered_at: Option<DateTime<Utc>>,
}

/// The owner to contact among the accounts that ever registered the device: the account that
/// holds it now (the latest registration still in force); if every registration has ended
/// (owners often deregister a stolen device), the account that registered it last.
pub fn owner_of<A>(registrations: &[Registration<A>]) -> Option<&A> {
    let current = registrations
        .iter()
        .filter(|r| r.deregistered_at.is_none())
        .max_by_key(|r| r.registered_at);
    current
        .or_else(|| registrations.iter().max_by_key(|r| r.registered_at))
        .map(|r| &r.account)
}

/// Checks the intake of a device return: exactly one target, a device serial number; the
/// officer's contact details; no data categories (nothing is disclosed). Other process may not
/// carry device-return contact details.
pub fn check_intake(intake: &mut crate::RequestIntake) -> Result<(), FieldError> {
    if intake.process != crate::LegalProcess::DeviceReturn {
        if intake.device_return.is_some() {
            return Err(FieldError::new(
                "device_return",
                "only a device return request (process device_return) carries the officer's \
                 contact details for the owner",
            ));
        }
        return Ok(());
    }
    match intake.targets.as_slice() {
        [t] if t.kind == TargetKind::DeviceSerial => {}
        _ => {
            return Err(FieldError::new(
                "targets",
                "a device return names exactly one target: the device's serial number \
                 (type device_serial)",
            ))
        }
    }
    if !intake.categories.is_empty() {
        return Err(FieldError::new(
            "categories",
            "a device return asks for no data: nothing about the owner is disclosed",
        ));
    }
    let contact = intake.device_return.take().ok_or_else(|| {
        FieldError::new(
            "device_return",
            "a device return needs the officer's contact details for the owner: name, agency, \
             phone, email, case_reference, message",
        )
    })?;
    intake.device_return = Some(contact.validate()?);
    Ok(())
}

/// The states a request passes through, from `from`, to end as a completed device return:
/// it is decided (the owner contacted, or not known) and closed, as the lifecycle allows.
pub fn path_to_closed(from: RequestStatus) -> Option<&'static [RequestStatus]> {
    use RequestStatus::*;
    match from {
        Received => Some(&[InReview, Decided, Closed]),
        InReview => Some(&[Decided, Closed]),
        _ => None,
    }
}

/// The e-mail the owner receives: the officer's details and message, and nothing about how the
/// provider found them. Returns (subject, body).
pub fn owner_mail(
    provider: &str,
    serial: &str,
    number: &str,
    contact: &OfficerContact,
) -> (String, String) {
    let subject = format!("A law enforcement officer has your device {serial}");
    let body = format!(
        "Hello,\n\n\
         A law enforcement officer has a device registered to your account with {provider}: \
         serial number {serial}. The officer asked us to pass on their contact details and the \
         message below. We have not told the officer who you are or how to reach you; whether \
         you get in touch is up to you.\n\n\
         Officer: {name}\n\
         Agency: {agency}\n\
         Phone: {phone}\n\
         E-mail: {email}\n\
         Case reference: {case}\n\n\
         The officer's message:\n{message}\n\n\
         Before you reply, you may want to check the agency's number independently (for example \
         on the agency's own website): we pass on what the officer gave us.\n\n\
         {provider} legal team (reference {number})\n",
        name = contact.name,
        agency = contact.agency,
        phone = contact.phone,
        email = contact.email,
        case = contact.case_reference,
        message = contact.message,
    );
    (subject, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LegalProcess, RequestIntake};
    use chrono::TimeZone;

    fn contact() -> serde_json::Value {
        serde_json::json!({
            "name": " Det. Ana Alvarez ",
            "agency": "Springfield Police Department",
            "phone": "+1 217 555 0142",
            "email": "a.alvarez@springfieldpd.gov",
            "case_reference": "2026-PROP-118",
            "message": "Your tablet was handed in at our front desk; bring ID to collect it."
        })
    }

    fn intake(extra: serde_json::Value) -> Result<RequestIntake, String> {
        let mut j = serde_json::json!({
            "process": "device_return",
            "issuing_authority": "Springfield Police Department",
            "issuing_country": "US",
            "targets": [{"type": "device_serial", "value": "fx12345678"}],
            "device_return": contact(),
        });
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                j.as_object_mut().unwrap().remove(k);
            } else {
                j[k] = v.clone();
            }
        }
        let r: RequestIntake = serde_json::from_value(j).map_err(|e| e.to_string())?;
        r.validate().map(|r| r.intake).map_err(|e| e.to_string())
    }

    #[test]
    fn a_device_return_needs_one_serial_and_the_officers_contact() {
        let ok = intake(serde_json::json!({})).unwrap();
        assert_eq!(ok.targets[0].value, "FX12345678");
        assert_eq!(ok.device_return.unwrap().name, "Det. Ana Alvarez");

        let err = intake(serde_json::json!({"targets": [
            {"type": "email", "value": "owner@example.com"}
        ]}))
        .unwrap_err();
        assert!(err.starts_with("targets:"), "{err}");
        let err = intake(serde_json::json!({"targets": [
            {"type": "device_serial", "value": "A1"}, {"type": "device_serial", "value": "B2"}
        ]}))
        .unwrap_err();
        assert!(err.starts_with("targets:"), "{err}");
        let err = intake(serde_json::json!({"device_return": null})).unwrap_err();
        assert!(err.starts_with("device_return:"), "{err}");
        let err = intake(serde_json::json!({"categories": ["subscriber"]})).unwrap_err();
        assert!(err.starts_with("categories:"), "{err}");
        let mut c = contact();
        c["phone"] = "".into();
        let err = intake(serde_json::json!({ "device_return": c })).unwrap_err();
        assert!(err.starts_with("device_return.phone:"), "{err}");
        let mut c = contact();
        c["email"] = "not an address".into();
        let err = intake(serde_json::json!({ "device_return": c })).unwrap_err();
        assert!(err.starts_with("device_return.email:"), "{err}");
    }

    #[test]
    fn other_process_carries_no_contact_details() {
        let err = intake(serde_json::json!({"process": "subpoena"})).unwrap_err();
        assert!(err.starts_with("device_return:"), "{err}");
    }

    #[test]
    fn the_owner_is_the_current_holder_else_the_last_one() {
        let t = |d: u32| Utc.with_ymd_and_hms(2026, 1, d, 0, 0, 0).unwrap();
        let reg = |a: &'static str, from: u32, to: Option<u32>| Registration {
            account: a,
            registered_at: t(from),
            deregistered_at: to.map(t),
        };
        assert_eq!(owner_of::<&str>(&[]), None);
        let sold = [reg("first", 1, Some(5)), reg("second", 6, None)];
        assert_eq!(owner_of(&sold), Some(&"second"));
        let reversed = [reg("second", 6, None), reg("first", 1, Some(5))];
        assert_eq!(owner_of(&reversed), Some(&"second"));
        let stolen = [reg("first", 1, Some(5)), reg("victim", 6, Some(9))];
        assert_eq!(owner_of(&stolen), Some(&"victim"));
    }

    #[test]
    fn the_lifecycle_ends_closed_from_received_or_review() {
        for from in [RequestStatus::Received, RequestStatus::InReview] {
            let path = path_to_closed(from).unwrap();
            let mut at = from;
            for next in path {
                at = at.transition(*next).unwrap();
            }
            assert_eq!(at, RequestStatus::Closed);
        }
        assert!(path_to_closed(RequestStatus::Closed).is_none());
        assert!(path_to_closed(RequestStatus::Decided).is_none());
    }

    #[test]
    fn the_owners_mail_carries_the_officer_and_not_the_other_way_round() {
        let c: OfficerContact = serde_json::from_value(contact()).unwrap();
        let c = c.validate().unwrap();
        let (subject, body) = owner_mail("Example Provider", "FX1", "LE-2026-000001", &c);
        assert!(subject.contains("FX1"));
        for part in [
            &c.name,
            &c.agency,
            &c.phone,
            &c.email,
            &c.case_reference,
            &c.message,
        ] {
            assert!(body.contains(part.as_str()), "{part}");
        }
        assert!(DeviceReturnOutcome::DeviceNotKnown
            .officer_message()
            .contains("not known"));
        assert_eq!(LegalProcess::DeviceReturn.as_str(), "device_return");
    }
}

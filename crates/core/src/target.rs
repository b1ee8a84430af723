//! Targets: the specific identifiers a demand names. A demand must name at least one; a demand
//! that names no one is overbroad (LEGAL.md, "Overbreadth").

use serde::{Deserialize, Serialize};

use crate::{named_enum, FieldError};

named_enum! {
    /// The kind of identifier a target is given as.
    pub enum TargetKind ("target type") {
        Email = "email",
        Phone = "phone",
        AccountId = "account_id",
        DeviceSerial = "device_serial",
        OrderId = "order_id",
        IpAddress = "ip_address",
    }
}

/// One identifier named in a demand, normalised so that the same person is found however the
/// officer typed it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Target {
    #[serde(rename = "type")]
    pub kind: TargetKind,
    pub value: String,
}

impl Target {
    /// Checks the value against its kind and returns the normalised target.
    pub fn parse(kind: TargetKind, raw: &str) -> Result<Target, FieldError> {
        let value = raw.trim();
        let bad = |msg: &str| Err(FieldError::new("value", format!("{msg}: '{value}'")));
        if value.is_empty() {
            return Err(FieldError::new("value", "must not be empty"));
        }
        if value.len() > 254 {
            return Err(FieldError::new("value", "is longer than 254 characters"));
        }
        let normalised = match kind {
            TargetKind::Email => {
                let Some((local, domain)) = value.rsplit_once('@') else {
                    return bad("not an e-mail address");
                };
                let domain_ok = domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && domain
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
                if local.is_empty() || local.chars().any(char::is_whitespace) || !domain_ok {
                    return bad("not an e-mail address");
                }
                format!("{local}@{}", domain.to_ascii_lowercase())
            }
            TargetKind::Phone => {
                let plus = value.starts_with('+');
                let digits: String = value.chars().filter(char::is_ascii_digit).collect();
                let allowed = value
                    .chars()
                    .all(|c| c.is_ascii_digit() || " +-().".contains(c));
                if !allowed || !(7..=15).contains(&digits.len()) {
                    return bad("not a telephone number (7 to 15 digits, optionally with +)");
                }
                if plus {
                    format!("+{digits}")
                } else {
                    digits
                }
            }
            TargetKind::AccountId | TargetKind::OrderId | TargetKind::DeviceSerial => {
                let ok = value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.:/#".contains(c));
                if !ok {
                    return bad("may hold only letters, digits and - _ . : / #");
                }
                if kind == TargetKind::DeviceSerial {
                    value.to_ascii_uppercase()
                } else {
                    value.to_string()
                }
            }
            TargetKind::IpAddress => match value.parse::<std::net::IpAddr>() {
                Ok(ip) => ip.to_string(),
                Err(_) => return bad("not an IPv4 or IPv6 address"),
            },
        };
        Ok(Target {
            kind,
            value: normalised,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_normalised() {
        let t = Target::parse(TargetKind::Email, " Jane.Doe@Example.COM ").unwrap();
        assert_eq!(t.value, "Jane.Doe@example.com");
        let t = Target::parse(TargetKind::Phone, "+1 (555) 010-9999").unwrap();
        assert_eq!(t.value, "+15550109999");
        let t = Target::parse(TargetKind::IpAddress, "2001:db8:0::1").unwrap();
        assert_eq!(t.value, "2001:db8::1");
        let t = Target::parse(TargetKind::DeviceSerial, "c02xk1abc").unwrap();
        assert_eq!(t.value, "C02XK1ABC");
    }

    #[test]
    fn malformed_values_are_refused() {
        assert!(Target::parse(TargetKind::Email, "no-at-sign").is_err());
        assert!(Target::parse(TargetKind::Email, "a@localhost").is_err());
        assert!(Target::parse(TargetKind::Phone, "12").is_err());
        assert!(Target::parse(TargetKind::IpAddress, "300.1.1.1").is_err());
        assert!(Target::parse(TargetKind::AccountId, "a b").is_err());
        assert!(Target::parse(TargetKind::OrderId, "").is_err());
    }
}

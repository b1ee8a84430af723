//! The records a source hands over, per data category (LEGAL.md, "Data categories"). They
//! serialise to JSON (fields in declaration order, lists in the source's stable order) and to
//! CSV tables ([`SubscriberRecord::tables`], [`TransactionalRecords::tables`],
//! [`content_table`]), so that the same records always give the same bytes and digests.

use std::net::IpAddr;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use custodian_core::format::csv::Table;
use custodian_core::request::DateRange;
use serde::{Deserialize, Serialize};

use crate::AccountId;

/// Subscriber information: who holds the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriberRecord {
    pub account_id: AccountId,
    pub name: String,
    pub email: String,
    /// E.164 (`+15550123456`).
    pub phone: Option<String>,
    pub created_at: DateTime<Utc>,
    /// `active`, `suspended` or `closed`.
    pub status: String,
    pub addresses: Vec<PostalAddress>,
    pub payment_methods: Vec<PaymentMethod>,
    /// The services the account uses and since when (length and types of service).
    pub services: Vec<Service>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostalAddress {
    /// `home`, `billing` or `shipping`.
    pub kind: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub added_on: NaiveDate,
}

/// A payment instrument as a provider discloses it: never the full number, only its brand,
/// last four digits and expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentMethod {
    /// The provider's id of the instrument, which orders refer to.
    pub id: String,
    /// `Visa`, `Mastercard`, `American Express`, ...
    pub brand: String,
    pub last_four: String,
    /// `YYYY-MM`.
    pub expires: String,
    pub billing_name: String,
    pub added_on: NaiveDate,
}

impl PaymentMethod {
    /// `Visa ending in 4242`.
    pub fn masked(&self) -> String {
        format!("{} ending in {}", self.brand, self.last_four)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub name: String,
    pub plan: Option<String>,
    pub since: NaiveDate,
    pub until: Option<NaiveDate>,
}

/// Transactional records within a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransactionalRecords {
    pub account_id: AccountId,
    /// The range asked for (None: the whole history).
    pub date_range: Option<DateRange>,
    /// Orders placed in the period, oldest first.
    pub orders: Vec<OrderRecord>,
    /// Devices registered to the account at any time in the period.
    pub devices: Vec<DeviceRecord>,
    /// Sign-ins (and failed attempts) in the period, oldest first.
    pub sign_ins: Vec<SignInRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderRecord {
    pub order_id: String,
    pub placed_at: DateTime<Utc>,
    /// `delivered`, `shipped`, `cancelled`, `returned`.
    pub status: String,
    pub items: Vec<OrderItem>,
    /// In minor units of `currency` (cents).
    pub total_minor: i64,
    /// ISO 4217.
    pub currency: String,
    /// The instrument charged, masked (`Visa ending in 4242`).
    pub payment: String,
    /// Where it was sent: city and country only.
    pub ship_to: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderItem {
    pub description: String,
    pub quantity: u32,
    pub unit_price_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceRecord {
    /// Upper case, as on the label.
    pub serial: String,
    pub model: String,
    pub registered_at: DateTime<Utc>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub deregistered_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignInRecord {
    pub at: DateTime<Utc>,
    pub ip_address: IpAddr,
    /// `success` or `failed`.
    pub outcome: String,
    /// `password`, `passkey`, `password+otp`.
    pub method: String,
    pub user_agent: String,
}

/// One stored file, without its bytes ([`crate::DataSource::open_file`] streams them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentFile {
    /// The source's id of the file, for `open_file`.
    pub id: String,
    /// Where the customer sees it in their account (`Photos/2025/IMG_0412.png`).
    pub path: String,
    pub size: u64,
    pub media_type: String,
    pub created_at: DateTime<Utc>,
}

fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn opt_time(t: &Option<DateTime<Utc>>) -> String {
    t.as_ref().map(time).unwrap_or_default()
}

fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_default()
}

impl SubscriberRecord {
    /// `subscriber.csv`, `addresses.csv`, `payment_methods.csv`, `services.csv`.
    pub fn tables(&self) -> Vec<Table> {
        let id = self.account_id.to_string();
        vec![
            Table {
                name: "subscriber",
                title: "Subscriber",
                columns: vec![
                    ("account_id", "string"),
                    ("name", "string"),
                    ("email", "string"),
                    ("phone", "string"),
                    ("created_at", "datetime"),
                    ("status", "string"),
                ],
                rows: vec![vec![
                    id.clone(),
                    self.name.clone(),
                    self.email.clone(),
                    opt(&self.phone),
                    time(&self.created_at),
                    self.status.clone(),
                ]],
            },
            Table {
                name: "addresses",
                title: "Postal addresses",
                columns: vec![
                    ("account_id", "string"),
                    ("kind", "string"),
                    ("line1", "string"),
                    ("line2", "string"),
                    ("city", "string"),
                    ("region", "string"),
                    ("postal_code", "string"),
                    ("country", "string"),
                    ("added_on", "date"),
                ],
                rows: self
                    .addresses
                    .iter()
                    .map(|a| {
                        vec![
                            id.clone(),
                            a.kind.clone(),
                            a.line1.clone(),
                            opt(&a.line2),
                            a.city.clone(),
                            opt(&a.region),
                            a.postal_code.clone(),
                            a.country.clone(),
                            a.added_on.to_string(),
                        ]
                    })
                    .collect(),
            },
            Table {
                name: "payment_methods",
                title: "Payment methods (masked)",
                columns: vec![
                    ("account_id", "string"),
                    ("payment_method_id", "string"),
                    ("brand", "string"),
                    ("last_four", "string"),
                    ("expires", "yearmonth"),
                    ("billing_name", "string"),
                    ("added_on", "date"),
                ],
                rows: self
                    .payment_methods
                    .iter()
                    .map(|p| {
                        vec![
                            id.clone(),
                            p.id.clone(),
                            p.brand.clone(),
                            p.last_four.clone(),
                            p.expires.clone(),
                            p.billing_name.clone(),
                            p.added_on.to_string(),
                        ]
                    })
                    .collect(),
            },
            Table {
                name: "services",
                title: "Services",
                columns: vec![
                    ("account_id", "string"),
                    ("service", "string"),
                    ("plan", "string"),
                    ("since", "date"),
                    ("until", "date"),
                ],
                rows: self
                    .services
                    .iter()
                    .map(|s| {
                        vec![
                            id.clone(),
                            s.name.clone(),
                            opt(&s.plan),
                            s.since.to_string(),
                            s.until.map(|d| d.to_string()).unwrap_or_default(),
                        ]
                    })
                    .collect(),
            },
        ]
    }
}

impl TransactionalRecords {
    /// These records narrowed to `range`, selected as a source selects them (orders placed and
    /// sign-ins made in the range; devices registered at any time in it): a legal hold's
    /// snapshot answering a demand for a shorter period. The caller checks that the records
    /// cover the range at all.
    pub fn within(&self, range: Option<DateRange>) -> crate::SourceResult<TransactionalRecords> {
        let period = crate::Period::of(range)?;
        Ok(TransactionalRecords {
            account_id: self.account_id.clone(),
            date_range: range,
            orders: self
                .orders
                .iter()
                .filter(|o| period.contains(o.placed_at))
                .cloned()
                .collect(),
            devices: self
                .devices
                .iter()
                .filter(|d| period.overlaps(d.registered_at, d.deregistered_at))
                .cloned()
                .collect(),
            sign_ins: self
                .sign_ins
                .iter()
                .filter(|s| period.contains(s.at))
                .cloned()
                .collect(),
        })
    }

    /// `orders.csv`, `order_items.csv`, `devices.csv`, `sign_ins.csv`.
    pub fn tables(&self) -> Vec<Table> {
        let id = self.account_id.to_string();
        vec![
            Table {
                name: "orders",
                title: "Orders",
                columns: vec![
                    ("account_id", "string"),
                    ("order_id", "string"),
                    ("placed_at", "datetime"),
                    ("status", "string"),
                    ("total_minor", "integer"),
                    ("currency", "string"),
                    ("payment", "string"),
                    ("ship_to", "string"),
                ],
                rows: self
                    .orders
                    .iter()
                    .map(|o| {
                        vec![
                            id.clone(),
                            o.order_id.clone(),
                            time(&o.placed_at),
                            o.status.clone(),
                            o.total_minor.to_string(),
                            o.currency.clone(),
                            o.payment.clone(),
                            o.ship_to.clone(),
                        ]
                    })
                    .collect(),
            },
            Table {
                name: "order_items",
                title: "Order items",
                columns: vec![
                    ("order_id", "string"),
                    ("line", "integer"),
                    ("description", "string"),
                    ("quantity", "integer"),
                    ("unit_price_minor", "integer"),
                    ("currency", "string"),
                ],
                rows: self
                    .orders
                    .iter()
                    .flat_map(|o| {
                        o.items.iter().enumerate().map(|(i, item)| {
                            vec![
                                o.order_id.clone(),
                                (i + 1).to_string(),
                                item.description.clone(),
                                item.quantity.to_string(),
                                item.unit_price_minor.to_string(),
                                o.currency.clone(),
                            ]
                        })
                    })
                    .collect(),
            },
            Table {
                name: "devices",
                title: "Devices",
                columns: vec![
                    ("account_id", "string"),
                    ("serial", "string"),
                    ("model", "string"),
                    ("registered_at", "datetime"),
                    ("last_seen_at", "datetime"),
                    ("deregistered_at", "datetime"),
                ],
                rows: self
                    .devices
                    .iter()
                    .map(|d| {
                        vec![
                            id.clone(),
                            d.serial.clone(),
                            d.model.clone(),
                            time(&d.registered_at),
                            opt_time(&d.last_seen_at),
                            opt_time(&d.deregistered_at),
                        ]
                    })
                    .collect(),
            },
            Table {
                name: "sign_ins",
                title: "Sign-ins and IP addresses",
                columns: vec![
                    ("account_id", "string"),
                    ("at", "datetime"),
                    ("ip_address", "string"),
                    ("outcome", "string"),
                    ("method", "string"),
                    ("user_agent", "string"),
                ],
                rows: self
                    .sign_ins
                    .iter()
                    .map(|s| {
                        vec![
                            id.clone(),
                            time(&s.at),
                            s.ip_address.to_string(),
                            s.outcome.clone(),
                            s.method.clone(),
                            s.user_agent.clone(),
                        ]
                    })
                    .collect(),
            },
        ]
    }
}

/// `files.csv`: the listing of an account's content, for a manifest.
pub fn content_table(account: &AccountId, files: &[ContentFile]) -> Table {
    Table {
        name: "files",
        title: "Stored files",
        columns: vec![
            ("account_id", "string"),
            ("file_id", "string"),
            ("path", "string"),
            ("size", "integer"),
            ("media_type", "string"),
            ("created_at", "datetime"),
        ],
        rows: files
            .iter()
            .map(|f| {
                vec![
                    account.to_string(),
                    f.id.clone(),
                    f.path.clone(),
                    f.size.to_string(),
                    f.media_type.clone(),
                    time(&f.created_at),
                ]
            })
            .collect(),
    }
}

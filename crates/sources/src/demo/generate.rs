//! The demo's customers, made up deterministically from a seed: first a plan of every record
//! and file (pure), then the files written and the rows inserted.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use custodian_core::request::DateRange;
use custodian_core::{Target, TargetKind};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::media::{minimum_size, Media};
use super::people::{self, Country, COUNTRIES};
use crate::records::{
    DeviceRecord, OrderItem, OrderRecord, PaymentMethod, PostalAddress, Service, SignInRecord,
    SubscriberRecord,
};
use crate::AccountId;

/// The size and shape of a demo customer-data store. The same value always generates the same
/// data (`as_of` anchors the dates).
#[derive(Debug, Clone, PartialEq)]
pub struct DemoSize {
    pub seed: u64,
    /// The last day of the generated history, which covers the two years up to it.
    pub as_of: NaiveDate,
    /// Made-up customers, besides those the `named` identifiers call for.
    pub accounts: usize,
    /// About how many bytes of content an ordinary customer keeps (some keep none).
    pub content_per_account: u64,
    /// Identifiers that must find an account (the demo requests' targets): an e-mail, phone or
    /// account id becomes an account's own, a device serial or order id one of its devices or
    /// orders.
    pub named: Vec<Target>,
    /// The account with the large content, found by this identifier (None: a made-up one).
    pub large_account: Option<Target>,
    /// The large account's content in bytes: documents, photos, voice recordings and videos.
    pub large_account_content: u64,
    /// When the large account's files were created (None: across its history), so that a
    /// demand for that period reaches all of them.
    pub large_account_period: Option<DateRange>,
}

const MIB: u64 = 1024 * 1024;

impl DemoSize {
    /// What `serve --demo` generates: 150 customers, one of them with 320 MiB of content.
    pub fn full(as_of: NaiveDate) -> DemoSize {
        DemoSize {
            seed: 2026,
            as_of,
            accounts: 150,
            content_per_account: 256 * 1024,
            named: Vec::new(),
            large_account: None,
            large_account_content: 320 * MIB,
            large_account_period: None,
        }
    }

    /// A store small enough for tests: a dozen customers, a few MiB in all.
    pub fn small(as_of: NaiveDate) -> DemoSize {
        DemoSize {
            seed: 7,
            as_of,
            accounts: 12,
            content_per_account: 24 * 1024,
            named: Vec::new(),
            large_account: None,
            large_account_content: 3 * MIB,
            large_account_period: None,
        }
    }
}

pub(super) struct PlannedOrder {
    pub record: OrderRecord,
    pub payment_method_id: String,
    /// Index into the account's addresses.
    pub ship_to: usize,
}

pub(super) struct PlannedFile {
    pub id: String,
    pub path: String,
    pub media: Media,
    pub size: u64,
    pub created_at: DateTime<Utc>,
    /// Which ChaCha stream fills it, so that each file's bytes depend only on the seed and it.
    pub stream: u64,
    /// For documents: which text.
    pub document: usize,
}

pub(super) struct AccountPlan {
    pub subscriber: SubscriberRecord,
    pub orders: Vec<PlannedOrder>,
    pub devices: Vec<DeviceRecord>,
    pub sign_ins: Vec<SignInRecord>,
    pub files: Vec<PlannedFile>,
}

pub(super) struct Plan {
    pub accounts: Vec<AccountPlan>,
    pub large_account: AccountId,
}

/// Digits of a telephone number, the form lookups compare.
pub(super) fn phone_digits(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}

struct Generator<'a> {
    size: &'a DemoSize,
    rng: ChaCha8Rng,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    ids: HashSet<String>,
    emails: HashSet<String>,
    phones: HashSet<String>,
    serials: HashSet<String>,
    orders: HashSet<String>,
    payment_ids: HashSet<String>,
    files: u64,
}

/// A string from a pattern: `#` a digit, `%` a digit from 2 to 9, `@` a capital letter.
fn fill(rng: &mut ChaCha8Rng, pattern: &str) -> String {
    pattern
        .chars()
        .map(|c| match c {
            '#' => char::from(b'0' + rng.gen_range(0..10u8)),
            '%' => char::from(b'0' + rng.gen_range(2..10u8)),
            '@' => char::from(b'A' + rng.gen_range(0..26u8)),
            other => other,
        })
        .collect()
}

/// An ASCII e-mail local part from a name (`Müller` becomes `mueller`).
fn ascii_local(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        match c {
            'ä' | 'Ä' => out.push_str("ae"),
            'ö' | 'Ö' => out.push_str("oe"),
            'ü' | 'Ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            'é' | 'è' | 'ê' | 'É' => out.push('e'),
            c if c.is_ascii_alphanumeric() => out.push(c.to_ascii_lowercase()),
            _ => {}
        }
    }
    out
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// `jordan.smith42@example.com` was made for Jordan Smith.
fn name_from_email(email: &str) -> Option<String> {
    let local = email.split('@').next()?;
    let (first, last) = local.split_once(['.', '_'])?;
    let last: String = last.chars().filter(|c| c.is_alphabetic()).collect();
    let first: String = first.chars().filter(|c| c.is_alphabetic()).collect();
    (first.len() > 1 && last.len() > 1)
        .then(|| format!("{} {}", capitalise(&first), capitalise(&last)))
}

impl<'a> Generator<'a> {
    fn new(size: &'a DemoSize) -> Self {
        let end = size
            .as_of
            .succ_opt()
            .unwrap_or(size.as_of)
            .and_time(NaiveTime::MIN)
            .and_utc();
        Generator {
            size,
            rng: ChaCha8Rng::seed_from_u64(size.seed),
            start: end - Duration::days(730),
            end,
            ids: HashSet::new(),
            emails: HashSet::new(),
            phones: HashSet::new(),
            serials: HashSet::new(),
            orders: HashSet::new(),
            payment_ids: HashSet::new(),
            files: 0,
        }
    }

    fn between(&mut self, from: DateTime<Utc>, to: DateTime<Utc>) -> DateTime<Utc> {
        let span = (to - from).num_seconds().max(1);
        from + Duration::seconds(self.rng.gen_range(0..span))
    }

    fn unique(&mut self, used: fn(&mut Self) -> &mut HashSet<String>, pattern: &str) -> String {
        loop {
            let v = fill(&mut self.rng, pattern);
            if used(self).insert(v.clone()) {
                return v;
            }
        }
    }

    fn country(&mut self) -> &'static Country {
        let total: u32 = COUNTRIES.iter().map(|(w, _)| w).sum();
        let mut pick = self.rng.gen_range(0..total);
        for (w, c) in COUNTRIES {
            if pick < *w {
                return c;
            }
            pick -= w;
        }
        &COUNTRIES[0].1
    }

    fn address(&mut self, c: &Country, kind: &str, added_on: NaiveDate) -> PostalAddress {
        let (city, region, postal) = c.cities[self.rng.gen_range(0..c.cities.len())];
        let street = c.streets[self.rng.gen_range(0..c.streets.len())];
        let number = self.rng.gen_range(1..240);
        // German addresses put the number after the street.
        let line1 = if c.code == "DE" {
            format!("{street} {number}")
        } else {
            format!("{number} {street}")
        };
        let line2 = (self.rng.gen_range(0..4) == 0).then(|| match c.code {
            "US" => format!("Apt {}", self.rng.gen_range(1..40)),
            "DE" => format!("{}. OG", self.rng.gen_range(1..6)),
            _ => format!("Flat {}", self.rng.gen_range(1..30)),
        });
        PostalAddress {
            kind: kind.to_string(),
            line1,
            line2,
            city: city.to_string(),
            region: region.map(str::to_string),
            postal_code: fill(&mut self.rng, postal),
            country: c.code.to_string(),
            added_on,
        }
    }

    fn ip(&mut self, v6: bool) -> IpAddr {
        if v6 {
            let r = &mut self.rng;
            IpAddr::V6(Ipv6Addr::new(
                0x2001,
                0x0db8,
                r.gen(),
                r.gen(),
                0,
                0,
                r.gen(),
                r.gen_range(1..u16::MAX),
            ))
        } else {
            let nets = [[192, 0, 2], [198, 51, 100], [203, 0, 113]];
            let n = nets[self.rng.gen_range(0..3)];
            IpAddr::V4(Ipv4Addr::new(n[0], n[1], n[2], self.rng.gen_range(1..255)))
        }
    }

    /// A customer, with the given identifiers where the demo requests name them.
    fn account(
        &mut self,
        id: Option<&str>,
        email: Option<&str>,
        phone: Option<&str>,
        named: bool,
    ) -> AccountPlan {
        let c = self.country();
        let id = match id {
            Some(v) => {
                self.ids.insert(v.to_string());
                v.to_string()
            }
            None => self.unique(|g| &mut g.ids, "acct-######"),
        };
        let name = email.and_then(name_from_email).unwrap_or_else(|| {
            format!(
                "{} {}",
                people::FIRST_NAMES.choose(&mut self.rng).unwrap_or(&"Alex"),
                people::LAST_NAMES.choose(&mut self.rng).unwrap_or(&"Doe")
            )
        });
        let email = match email {
            Some(e) => {
                self.emails.insert(e.to_ascii_lowercase());
                e.to_ascii_lowercase()
            }
            None => loop {
                let (first, last) = name.split_once(' ').unwrap_or((&name, ""));
                let domain = c.domains[self.rng.gen_range(0..c.domains.len())];
                let local = match self.rng.gen_range(0..4) {
                    0 => format!("{}.{}", ascii_local(first), ascii_local(last)),
                    1 => format!("{}{}", ascii_local(first), self.rng.gen_range(1..99)),
                    2 => format!(
                        "{}{}{}",
                        &ascii_local(first)[..1],
                        ascii_local(last),
                        self.rng.gen_range(70..99)
                    ),
                    _ => format!(
                        "{}.{}{}",
                        ascii_local(first),
                        ascii_local(last),
                        self.rng.gen_range(1..999)
                    ),
                };
                let e = format!("{local}@{domain}");
                if self.emails.insert(e.clone()) {
                    break e;
                }
            },
        };
        let phone = match phone {
            Some(p) => {
                self.phones.insert(phone_digits(p));
                Some(p.to_string())
            }
            None if self.rng.gen_range(0..100) < 85 => loop {
                let p = fill(&mut self.rng, c.phone);
                if self.phones.insert(phone_digits(&p)) {
                    break Some(p);
                }
            },
            None => None,
        };
        // Named accounts predate the history so that every demand's period finds records.
        let created_at = if named {
            self.start - Duration::days(self.rng.gen_range(30..2000))
        } else {
            let from = self.end - Duration::days(8 * 365);
            let to = self.end - Duration::days(40);
            self.between(from, to)
        };
        let active_from = created_at.max(self.start);
        let created_on = created_at.date_naive();

        let mut addresses = vec![self.address(c, "home", created_on)];
        if self.rng.gen_range(0..10) < 4 {
            let added = self.between(created_at, self.end).date_naive();
            addresses.push(self.address(c, "shipping", added));
        }
        let mut payment_methods = Vec::new();
        for _ in 0..self.rng.gen_range(1..4) {
            let brand = match self.rng.gen_range(0..20) {
                0..=9 => "Visa",
                10..=16 => "Mastercard",
                _ => "American Express",
            };
            let added = self
                .between(created_at, self.end - Duration::days(30))
                .date_naive();
            let expires = added + Duration::days(self.rng.gen_range(400..1800));
            payment_methods.push(PaymentMethod {
                id: self.unique(|g| &mut g.payment_ids, "pm-########"),
                brand: brand.to_string(),
                last_four: fill(&mut self.rng, "####"),
                expires: format!("{:04}-{:02}", expires.year(), expires.month()),
                billing_name: name.clone(),
                added_on: added,
            });
        }
        payment_methods.sort_by(|a, b| (a.added_on, &a.id).cmp(&(b.added_on, &b.id)));

        let mut services = vec![Service {
            name: "Shop".into(),
            plan: None,
            since: created_on,
            until: None,
        }];
        if self.rng.gen_range(0..10) < 3 {
            let since = self.between(created_at, self.end).date_naive();
            let until = (self.rng.gen_range(0..3) == 0)
                .then(|| since + Duration::days(self.rng.gen_range(30..400)))
                .filter(|u| *u < self.size.as_of);
            services.push(Service {
                name: "Music Unlimited".into(),
                plan: Some(["Individual", "Family"][self.rng.gen_range(0..2)].into()),
                since,
                until,
            });
        }

        let mut devices = Vec::new();
        for _ in 0..self.rng.gen_range(0..3) {
            let serial = self.unique(|g| &mut g.serials, "FX########");
            devices.push(self.device(serial, active_from));
        }

        let home_ips: Vec<IpAddr> = (0..self.rng.gen_range(1..4))
            .map(|_| {
                let v6 = self.rng.gen_range(0..10) < 4;
                self.ip(v6)
            })
            .collect();
        let agents: Vec<&str> = (0..self.rng.gen_range(1..4))
            .map(|_| people::USER_AGENTS[self.rng.gen_range(0..people::USER_AGENTS.len())])
            .collect();
        let method = ["password", "password", "passkey", "password+otp"][self.rng.gen_range(0..4)];
        let per_hundred_days = if named { 40 } else { self.rng.gen_range(5..40) };
        let days = (self.end - active_from).num_days().max(1);
        let mut sign_ins = Vec::new();
        for _ in 0..(days * per_hundred_days / 100) {
            let at = self.between(active_from, self.end);
            let ip = if self.rng.gen_range(0..10) < 8 {
                home_ips[self.rng.gen_range(0..home_ips.len())]
            } else {
                let v6 = self.rng.gen();
                self.ip(v6)
            };
            sign_ins.push(SignInRecord {
                at,
                ip_address: ip,
                outcome: if self.rng.gen_range(0..100) < 6 {
                    "failed"
                } else {
                    "success"
                }
                .into(),
                method: method.into(),
                user_agent: agents[self.rng.gen_range(0..agents.len())].into(),
            });
        }

        let mut plan = AccountPlan {
            subscriber: SubscriberRecord {
                account_id: AccountId(id),
                name,
                email,
                phone,
                created_at,
                status: "active".into(),
                addresses,
                payment_methods,
                services,
            },
            orders: Vec::new(),
            devices,
            sign_ins,
            files: Vec::new(),
        };
        for _ in 0..self.rng.gen_range(0..24) {
            let id = self.unique(|g| &mut g.orders, "112-#######-#######");
            self.order(&mut plan, id, active_from, c.currency);
        }
        plan
    }

    fn device(&mut self, serial: String, active_from: DateTime<Utc>) -> DeviceRecord {
        let registered_at = self.between(active_from, self.end - Duration::days(2));
        let deregistered_at =
            (self.rng.gen_range(0..100) < 15).then(|| self.between(registered_at, self.end));
        let last_seen_at = Some(self.between(registered_at, deregistered_at.unwrap_or(self.end)));
        DeviceRecord {
            serial,
            model: people::DEVICE_MODELS[self.rng.gen_range(0..people::DEVICE_MODELS.len())]
                .to_string(),
            registered_at,
            last_seen_at,
            deregistered_at,
        }
    }

    fn order(&mut self, plan: &mut AccountPlan, id: String, from: DateTime<Utc>, currency: &str) {
        let placed_at = self.between(from, self.end);
        let mut items = Vec::new();
        for _ in 0..self.rng.gen_range(1..4) {
            let (description, price) =
                people::CATALOGUE[self.rng.gen_range(0..people::CATALOGUE.len())];
            items.push(OrderItem {
                description: description.to_string(),
                quantity: if self.rng.gen_range(0..5) == 0 { 2 } else { 1 },
                unit_price_minor: price,
            });
        }
        let total_minor = items
            .iter()
            .map(|i| i64::from(i.quantity) * i.unit_price_minor)
            .sum();
        let status = if self.end - placed_at < Duration::days(5) {
            "shipped"
        } else {
            match self.rng.gen_range(0..20) {
                0 => "cancelled",
                1 => "returned",
                _ => "delivered",
            }
        };
        let sub = &plan.subscriber;
        let pm = &sub.payment_methods[self.rng.gen_range(0..sub.payment_methods.len())];
        let ship_to = self.rng.gen_range(0..sub.addresses.len());
        let a = &sub.addresses[ship_to];
        plan.orders.push(PlannedOrder {
            record: OrderRecord {
                order_id: id,
                placed_at,
                status: status.into(),
                items,
                total_minor,
                currency: currency.into(),
                payment: pm.masked(),
                ship_to: format!("{}, {}", a.city, a.country),
            },
            payment_method_id: pm.id.clone(),
            ship_to,
        });
    }

    /// Files worth about `budget` bytes, created within `[from, to)`.
    fn content(
        &mut self,
        plan: &mut AccountPlan,
        budget: u64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        large: bool,
    ) {
        // (kind, share of the budget, typical size of one file)
        let mix: &[(Media, f64, u64)] = if large {
            &[
                (Media::Video, 0.55, 40 * MIB),
                (Media::Photo, 0.30, 3 * MIB + MIB / 2),
                (Media::Voice, 0.15, 3 * MIB),
            ]
        } else if self.rng.gen_range(0..5) == 0 {
            &[
                (Media::Photo, 0.45, 96 * 1024),
                (Media::Video, 0.55, 256 * 1024),
            ]
        } else {
            &[
                (Media::Photo, 0.7, 64 * 1024),
                (Media::Voice, 0.3, 48 * 1024),
            ]
        };
        let documents = if large { 8 } else { self.rng.gen_range(1..4) };
        for _ in 0..documents {
            let document = self.rng.gen_range(0..people::DOCUMENTS.len());
            self.file(plan, Media::Document, 0, from, to, document);
        }
        for &(media, share, typical) in mix {
            let share = (budget as f64 * share) as u64;
            let count = (share / typical).clamp(1, 500);
            let each = share / count;
            for _ in 0..count {
                let size = each * self.rng.gen_range(70..131) / 100;
                if size >= minimum_size(media) {
                    self.file(plan, media, size, from, to, 0);
                }
            }
        }
        plan.files
            .sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    }

    fn file(
        &mut self,
        plan: &mut AccountPlan,
        media: Media,
        size: u64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        document: usize,
    ) {
        self.files += 1;
        let created_at = self.between(from, to);
        let stamp = created_at.format("%Y%m%d_%H%M%S");
        let year = created_at.year();
        let base = match media {
            Media::Photo => format!("Photos/{year}/IMG_{stamp}"),
            Media::Video => format!("Videos/{year}/VID_{stamp}"),
            Media::Voice => format!(
                "Voice Memos/Recording {}",
                created_at.format("%Y-%m-%d %H.%M.%S")
            ),
            Media::Document => format!(
                "Documents/{} {}",
                people::DOCUMENTS[document].0,
                created_at.format("%Y-%m-%d")
            ),
        };
        let mut path = format!("{base}.{}", media.extension());
        let mut n = 2;
        while plan.files.iter().any(|f| f.path == path) {
            path = format!("{base} ({n}).{}", media.extension());
            n += 1;
        }
        plan.files.push(PlannedFile {
            id: format!("file-{:07}", self.files),
            path,
            media,
            size,
            created_at,
            stream: self.files,
            document,
        });
    }

    fn plan(mut self) -> Plan {
        let mut accounts: Vec<AccountPlan> = Vec::new();
        let mut found: HashMap<Target, usize> = HashMap::new();
        let mut named: Vec<&Target> = self.size.large_account.iter().collect();
        named.extend(self.size.named.iter());
        for t in named {
            if found.contains_key(t) {
                continue;
            }
            let v = t.value.as_str();
            let taken = match t.kind {
                TargetKind::Email => self.emails.contains(&v.to_ascii_lowercase()),
                TargetKind::Phone => self.phones.contains(&phone_digits(v)),
                TargetKind::AccountId => self.ids.contains(v),
                TargetKind::DeviceSerial => self.serials.contains(v),
                TargetKind::OrderId => self.orders.contains(v),
                TargetKind::IpAddress => false,
            };
            if taken {
                continue;
            }
            let mut a = match t.kind {
                TargetKind::Email => self.account(None, Some(v), None, true),
                TargetKind::Phone => self.account(None, None, Some(v), true),
                TargetKind::AccountId => self.account(Some(v), None, None, true),
                _ => self.account(None, None, None, true),
            };
            let active_from = a.subscriber.created_at.max(self.start);
            match t.kind {
                TargetKind::DeviceSerial => {
                    self.serials.insert(v.to_string());
                    let d = self.device(v.to_string(), active_from);
                    a.devices.push(d);
                }
                TargetKind::OrderId => {
                    self.orders.insert(v.to_string());
                    let currency = match a.subscriber.addresses[0].country.as_str() {
                        "US" => "USD",
                        "GB" => "GBP",
                        _ => "EUR",
                    };
                    self.order(&mut a, v.to_string(), active_from, currency);
                }
                TargetKind::IpAddress => {
                    if let Ok(ip) = v.parse() {
                        for s in a.sign_ins.iter_mut().step_by(3) {
                            s.ip_address = ip;
                        }
                    }
                }
                _ => {}
            }
            found.insert(t.clone(), accounts.len());
            accounts.push(a);
        }
        for _ in 0..self.size.accounts {
            let a = self.account(None, None, None, false);
            accounts.push(a);
        }
        let large = self
            .size
            .large_account
            .as_ref()
            .and_then(|t| found.get(t).copied())
            .unwrap_or(0);
        for (i, a) in accounts.iter_mut().enumerate() {
            let active_from = a.subscriber.created_at.max(self.start);
            if i == large {
                let (from, to) = match self.size.large_account_period {
                    Some(r) => (
                        r.from.and_time(NaiveTime::MIN).and_utc().max(active_from),
                        r.to.succ_opt()
                            .unwrap_or(r.to)
                            .and_time(NaiveTime::MIN)
                            .and_utc()
                            .min(self.end),
                    ),
                    None => (active_from, self.end),
                };
                let (from, to) = if from < to {
                    (from, to)
                } else {
                    (active_from, self.end)
                };
                self.content(a, self.size.large_account_content, from, to, true);
            } else if self.rng.gen_range(0..4) != 0 {
                let budget = self.size.content_per_account * self.rng.gen_range(25..176) / 100;
                self.content(a, budget, active_from, self.end, false);
            }
            if !a.files.is_empty() {
                // Files are in creation order: the service began with the first.
                let since = a.files[0].created_at.date_naive();
                let plan = if i == large { "2 TB" } else { "50 GB" };
                a.subscriber.services.push(Service {
                    name: "Cloud Photos & Files".into(),
                    plan: Some(plan.into()),
                    since,
                    until: None,
                });
            }
            if let Some(first) = a.devices.iter().map(|d| d.registered_at).min() {
                a.subscriber.services.push(Service {
                    name: "Smart Home".into(),
                    plan: None,
                    since: first.date_naive(),
                    until: None,
                });
            }
            a.subscriber
                .services
                .sort_by(|x, y| (x.since, &x.name).cmp(&(y.since, &y.name)));
            a.orders.sort_by(|x, y| {
                (x.record.placed_at, &x.record.order_id)
                    .cmp(&(y.record.placed_at, &y.record.order_id))
            });
            a.devices
                .sort_by(|x, y| (x.registered_at, &x.serial).cmp(&(y.registered_at, &y.serial)));
            a.sign_ins.sort_by_key(|s| s.at);
        }
        let large_account = accounts
            .get(large)
            .map(|a| a.subscriber.account_id.clone())
            .unwrap_or_else(|| AccountId("acct-000000".into()));
        Plan {
            accounts,
            large_account,
        }
    }
}

pub(super) fn plan(size: &DemoSize) -> Plan {
    Generator::new(size).plan()
}

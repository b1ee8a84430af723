//! The demonstration customer-data store: what a small online shop with cloud storage and
//! smart-home devices keeps about its customers, in its own SQLite database (`customer.db`)
//! beside a directory of the files they stored (`files/ACCOUNT/FILE`). `custodian serve --demo`
//! generates one; it is a [`DataSource`] like any other.

mod generate;
mod media;
mod people;

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use custodian_core::request::DateRange;
use custodian_core::{Target, TargetKind};
use futures::TryStreamExt;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use tokio_util::io::ReaderStream;

pub use generate::DemoSize;
use generate::{phone_digits, Plan};
use media::Media;

use crate::records::{
    ContentFile, DeviceRecord, OrderItem, OrderRecord, PaymentMethod, PostalAddress, Service,
    SignInRecord, SubscriberRecord, TransactionalRecords,
};
use crate::{
    AccountId, DataSource, FileStream, Period, SourceError, SourceIdentity, SourceResult,
    CHUNK_SIZE,
};

const DATABASE: &str = "customer.db";
const FILES: &str = "files";
const SCHEMA: &str = include_str!("schema.sql");

/// The demo customer-data store in a directory.
pub struct DemoStore {
    root: PathBuf,
    pool: SqlitePool,
}

/// What a demo store holds, for the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DemoSummary {
    pub accounts: u64,
    pub files: u64,
    pub content_bytes: u64,
    /// The account whose content production is the big one.
    pub large_account: AccountId,
    pub large_account_bytes: u64,
}

/// What a customer's "delete my account" removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeletedAccount {
    pub account_id: AccountId,
    pub files: u64,
    pub bytes: u64,
}

async fn pool(path: &Path, create: bool) -> SourceResult<SqlitePool> {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
        .create_if_missing(create)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(30));
    Ok(SqlitePoolOptions::new()
        .max_connections(if create { 1 } else { 4 })
        .connect_with(options)
        .await?)
}

fn time(secs: i64) -> SourceResult<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
        .ok_or_else(|| SourceError::Storage(format!("a stored time is out of range: {secs}")))
}

fn opt_time(secs: Option<i64>) -> SourceResult<Option<DateTime<Utc>>> {
    secs.map(time).transpose()
}

fn day(s: &str) -> SourceResult<NaiveDate> {
    s.parse()
        .map_err(|_| SourceError::Storage(format!("a stored day is malformed: {s}")))
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> SourceError {
    SourceError::Storage(format!("{what} {}: {e}", path.display()))
}

impl DemoStore {
    /// Whether `dir` holds a demo store.
    pub fn exists(dir: &Path) -> bool {
        dir.join(DATABASE).is_file()
    }

    /// Opens the demo store in `dir`.
    pub async fn open(dir: &Path) -> SourceResult<DemoStore> {
        if !DemoStore::exists(dir) {
            return Err(SourceError::Storage(format!(
                "{} holds no demo customer data (no {DATABASE})",
                dir.display()
            )));
        }
        Ok(DemoStore {
            root: dir.to_path_buf(),
            pool: pool(&dir.join(DATABASE), false).await?,
        })
    }

    /// Generates a demo store in `dir`, which must not exist yet or be empty. The data is
    /// built in a sibling directory and renamed into place when complete, so that `dir` never
    /// holds half a store.
    pub async fn generate(dir: &Path, size: &DemoSize) -> SourceResult<DemoStore> {
        let occupied = match std::fs::read_dir(dir) {
            Ok(mut entries) => entries.next().is_some(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(io_error("reading", dir, e)),
        };
        if occupied {
            return Err(SourceError::Invalid(format!(
                "{} is not empty; the demo store is generated only into a new directory",
                dir.display()
            )));
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "customer-data".into());
        let partial = dir.with_file_name(format!(".{name}.partial"));
        match std::fs::remove_dir_all(&partial) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(io_error("removing", &partial, e))
            }
            _ => {}
        }
        std::fs::create_dir_all(partial.join(FILES))
            .map_err(|e| io_error("creating", &partial, e))?;

        let size_owned = size.clone();
        let root = partial.clone();
        let plan = tokio::task::spawn_blocking(move || {
            let mut plan = generate::plan(&size_owned);
            write_files(&root, &mut plan, size_owned.seed).map(|()| plan)
        })
        .await
        .map_err(|e| SourceError::Storage(format!("the generator stopped: {e}")))??;

        let db = pool(&partial.join(DATABASE), true).await?;
        sqlx::raw_sql(SCHEMA).execute(&db).await?;
        insert(&db, &plan, size).await?;
        db.close().await;

        if dir.exists() {
            std::fs::remove_dir(dir).map_err(|e| io_error("replacing", dir, e))?;
        }
        std::fs::rename(&partial, dir).map_err(|e| io_error("moving into place", dir, e))?;
        DemoStore::open(dir).await
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every account, in id order.
    pub async fn account_ids(&self) -> SourceResult<Vec<AccountId>> {
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM accounts ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        ids.iter().map(|i| AccountId::parse(i)).collect()
    }

    pub async fn summary(&self) -> SourceResult<DemoSummary> {
        let accounts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
            .fetch_one(&self.pool)
            .await?;
        let (files, bytes): (i64, i64) =
            sqlx::query_as("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM files")
                .fetch_one(&self.pool)
                .await?;
        let large: String =
            sqlx::query_scalar("SELECT value FROM meta WHERE key = 'large_account'")
                .fetch_one(&self.pool)
                .await?;
        let large_bytes: i64 =
            sqlx::query_scalar("SELECT COALESCE(SUM(size), 0) FROM files WHERE account_id = ?")
                .bind(&large)
                .fetch_one(&self.pool)
                .await?;
        Ok(DemoSummary {
            accounts: accounts as u64,
            files: files as u64,
            content_bytes: bytes as u64,
            large_account: AccountId::parse(&large)?,
            large_account_bytes: large_bytes as u64,
        })
    }

    /// What the customer's own "delete my account" does: every row about the account goes in
    /// one transaction, then its files. (A crash between the two leaves files no row names,
    /// never a row without its file.) Custodian itself never calls this: a legal hold keeps its
    /// own copy, which this does not touch.
    pub async fn delete_account(&self, account: &AccountId) -> SourceResult<DeletedAccount> {
        let mut tx = self.pool.begin().await?;
        let exists: Option<String> = sqlx::query_scalar("SELECT id FROM accounts WHERE id = ?")
            .bind(account.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(SourceError::NotFound(format!("account {account}")));
        }
        let (files, bytes): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM files WHERE account_id = ?",
        )
        .bind(account.as_str())
        .fetch_one(&mut *tx)
        .await?;
        for sql in [
            "DELETE FROM order_items WHERE order_id IN (SELECT id FROM orders WHERE account_id = ?)",
            "DELETE FROM orders WHERE account_id = ?",
            "DELETE FROM sign_ins WHERE account_id = ?",
            "DELETE FROM devices WHERE account_id = ?",
            "DELETE FROM files WHERE account_id = ?",
            "DELETE FROM services WHERE account_id = ?",
            "DELETE FROM payment_methods WHERE account_id = ?",
            "DELETE FROM addresses WHERE account_id = ?",
            "DELETE FROM accounts WHERE id = ?",
        ] {
            sqlx::query(sql)
                .bind(account.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        let dir = self.root.join(FILES).join(account.as_str());
        match tokio::fs::remove_dir_all(&dir).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(io_error("removing", &dir, e))
            }
            _ => {}
        }
        Ok(DeletedAccount {
            account_id: account.clone(),
            files: files as u64,
            bytes: bytes as u64,
        })
    }

    async fn require_account(&self, account: &AccountId) -> SourceResult<()> {
        let found: Option<String> = sqlx::query_scalar("SELECT id FROM accounts WHERE id = ?")
            .bind(account.as_str())
            .fetch_optional(&self.pool)
            .await?;
        match found {
            Some(_) => Ok(()),
            None => Err(SourceError::NotFound(format!("account {account}"))),
        }
    }
}

/// Writes every planned file and records its size as written.
fn write_files(root: &Path, plan: &mut Plan, seed: u64) -> SourceResult<()> {
    for account in &mut plan.accounts {
        if account.files.is_empty() {
            continue;
        }
        let id = account.subscriber.account_id.clone();
        let dir = root.join(FILES).join(id.as_str());
        std::fs::create_dir_all(&dir).map_err(|e| io_error("creating", &dir, e))?;
        for f in &mut account.files {
            let path = dir.join(format!("{}.{}", f.id, f.media.extension()));
            let file = std::fs::File::create(&path).map_err(|e| io_error("creating", &path, e))?;
            let mut w = BufWriter::with_capacity(256 * 1024, file);
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(f.stream);
            let written = match f.media {
                Media::Photo => {
                    let (width, height) = media::photo_dimensions(f.size);
                    media::write_png(&mut w, width, height, &mut rng)
                }
                Media::Voice => media::write_wav(&mut w, f.size, &mut rng),
                Media::Video => {
                    media::write_mp4(&mut w, f.size, f.created_at.timestamp(), &mut rng)
                }
                Media::Document => {
                    let (title, body) = people::DOCUMENTS[f.document];
                    let mut lines = vec![
                        title.to_uppercase(),
                        format!("Prepared for {}", account.subscriber.name),
                        format!("Date: {}", f.created_at.format("%B %-d, %Y")),
                        String::new(),
                    ];
                    lines.extend(body.iter().map(|l| l.to_string()));
                    w.write_all(&custodian_core::format::pdf::text_pdf(&lines))
                }
            };
            let file = written
                .and_then(|()| w.into_inner().map_err(|e| e.into_error()))
                .map_err(|e| io_error("writing", &path, e))?;
            file.sync_all().map_err(|e| io_error("syncing", &path, e))?;
            f.size = file
                .metadata()
                .map_err(|e| io_error("measuring", &path, e))?
                .len();
        }
    }
    Ok(())
}

async fn insert(db: &SqlitePool, plan: &Plan, size: &DemoSize) -> SourceResult<()> {
    let mut tx = db.begin().await?;
    for (key, value) in [
        ("seed", size.seed.to_string()),
        ("as_of", size.as_of.to_string()),
        ("large_account", plan.large_account.to_string()),
    ] {
        sqlx::query("INSERT INTO meta (key, value) VALUES (?, ?)")
            .bind(key)
            .bind(value)
            .execute(&mut *tx)
            .await?;
    }
    let mut address_id = 0i64;
    for a in &plan.accounts {
        let s = &a.subscriber;
        let id = s.account_id.as_str();
        sqlx::query(
            "INSERT INTO accounts (id, name, email, phone, phone_digits, created_at, status) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(&s.name)
        .bind(&s.email)
        .bind(&s.phone)
        .bind(s.phone.as_deref().map(phone_digits))
        .bind(s.created_at.timestamp())
        .bind(&s.status)
        .execute(&mut *tx)
        .await?;
        let first_address = address_id + 1;
        for ad in &s.addresses {
            address_id += 1;
            sqlx::query(
                "INSERT INTO addresses (id, account_id, kind, line1, line2, city, region, \
                 postal_code, country, added_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(address_id)
            .bind(id)
            .bind(&ad.kind)
            .bind(&ad.line1)
            .bind(&ad.line2)
            .bind(&ad.city)
            .bind(&ad.region)
            .bind(&ad.postal_code)
            .bind(&ad.country)
            .bind(ad.added_on.to_string())
            .execute(&mut *tx)
            .await?;
        }
        for p in &s.payment_methods {
            sqlx::query(
                "INSERT INTO payment_methods (id, account_id, brand, last_four, expires, \
                 billing_name, added_on) VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&p.id)
            .bind(id)
            .bind(&p.brand)
            .bind(&p.last_four)
            .bind(&p.expires)
            .bind(&p.billing_name)
            .bind(p.added_on.to_string())
            .execute(&mut *tx)
            .await?;
        }
        for sv in &s.services {
            sqlx::query(
                "INSERT INTO services (account_id, name, plan, since, until) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(id)
            .bind(&sv.name)
            .bind(&sv.plan)
            .bind(sv.since.to_string())
            .bind(sv.until.map(|d| d.to_string()))
            .execute(&mut *tx)
            .await?;
        }
        for o in &a.orders {
            let r = &o.record;
            sqlx::query(
                "INSERT INTO orders (id, account_id, placed_at, status, total_minor, currency, \
                 payment_method_id, ship_to_address_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&r.order_id)
            .bind(id)
            .bind(r.placed_at.timestamp())
            .bind(&r.status)
            .bind(r.total_minor)
            .bind(&r.currency)
            .bind(&o.payment_method_id)
            .bind(first_address + o.ship_to as i64)
            .execute(&mut *tx)
            .await?;
            for (line, item) in r.items.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO order_items (order_id, line, description, quantity, \
                     unit_price_minor) VALUES (?, ?, ?, ?, ?)",
                )
                .bind(&r.order_id)
                .bind(line as i64 + 1)
                .bind(&item.description)
                .bind(i64::from(item.quantity))
                .bind(item.unit_price_minor)
                .execute(&mut *tx)
                .await?;
            }
        }
        for d in &a.devices {
            sqlx::query(
                "INSERT INTO devices (serial, account_id, model, registered_at, last_seen_at, \
                 deregistered_at) VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(&d.serial)
            .bind(id)
            .bind(&d.model)
            .bind(d.registered_at.timestamp())
            .bind(d.last_seen_at.map(|t| t.timestamp()))
            .bind(d.deregistered_at.map(|t| t.timestamp()))
            .execute(&mut *tx)
            .await?;
        }
        for si in &a.sign_ins {
            sqlx::query(
                "INSERT INTO sign_ins (account_id, at, ip_address, outcome, method, user_agent) \
                 VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(id)
            .bind(si.at.timestamp())
            .bind(si.ip_address.to_string())
            .bind(&si.outcome)
            .bind(&si.method)
            .bind(&si.user_agent)
            .execute(&mut *tx)
            .await?;
        }
        for f in &a.files {
            sqlx::query(
                "INSERT INTO files (id, account_id, path, media_type, size, created_at, \
                 stored_as) VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&f.id)
            .bind(id)
            .bind(&f.path)
            .bind(f.media.media_type())
            .bind(f.size as i64)
            .bind(f.created_at.timestamp())
            .bind(format!("{id}/{}.{}", f.id, f.media.extension()))
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// A demand's identifier as the demo store compares it, without echoing the value (errors end
/// up in logs).
fn normalise(target: &Target) -> SourceResult<Target> {
    Target::parse(target.kind, &target.value)
        .map_err(|_| SourceError::Invalid(format!("target: not a valid {}", target.kind)))
}

#[async_trait]
impl DataSource for DemoStore {
    fn identity(&self) -> SourceIdentity {
        SourceIdentity {
            kind: "demo".into(),
            name: "demo customer data".into(),
            location: self.root.display().to_string(),
        }
    }

    async fn find_accounts(&self, target: &Target) -> SourceResult<Vec<AccountId>> {
        let t = normalise(target)?;
        let ids: Vec<String> =
            match t.kind {
                TargetKind::Email => {
                    sqlx::query_scalar("SELECT id FROM accounts WHERE email = ? ORDER BY id")
                        .bind(t.value.to_lowercase())
                        .fetch_all(&self.pool)
                        .await?
                }
                TargetKind::Phone => {
                    let digits = phone_digits(&t.value);
                    // A national US number typed without +1 is the same line.
                    let alternative = if !t.value.starts_with('+') && digits.len() == 10 {
                        format!("1{digits}")
                    } else {
                        digits.clone()
                    };
                    sqlx::query_scalar(
                        "SELECT id FROM accounts WHERE phone_digits IN (?, ?) ORDER BY id",
                    )
                    .bind(digits)
                    .bind(alternative)
                    .fetch_all(&self.pool)
                    .await?
                }
                TargetKind::AccountId => {
                    sqlx::query_scalar("SELECT id FROM accounts WHERE id = ?")
                        .bind(&t.value)
                        .fetch_all(&self.pool)
                        .await?
                }
                TargetKind::DeviceSerial => sqlx::query_scalar(
                    "SELECT DISTINCT account_id FROM devices WHERE serial = ? ORDER BY account_id",
                )
                .bind(&t.value)
                .fetch_all(&self.pool)
                .await?,
                TargetKind::OrderId => {
                    sqlx::query_scalar("SELECT account_id FROM orders WHERE id = ?")
                        .bind(&t.value)
                        .fetch_all(&self.pool)
                        .await?
                }
                TargetKind::IpAddress => {
                    return Err(SourceError::Unsupported {
                        kind: TargetKind::IpAddress,
                        reason: "an address is shared (carrier NAT, VPNs, public Wi-Fi) and \
                             reassigned over time, so it does not identify an account here; \
                             name the account by e-mail, phone, account id, device serial or \
                             order id"
                            .into(),
                    })
                }
            };
        ids.iter().map(|i| AccountId::parse(i)).collect()
    }

    async fn subscriber(&self, account: &AccountId) -> SourceResult<SubscriberRecord> {
        let id = account.as_str();
        let row =
            sqlx::query("SELECT name, email, phone, created_at, status FROM accounts WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .ok_or_else(|| SourceError::NotFound(format!("account {account}")))?;
        let addresses = sqlx::query(
            "SELECT kind, line1, line2, city, region, postal_code, country, added_on \
             FROM addresses WHERE account_id = ? ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(PostalAddress {
                kind: r.try_get("kind")?,
                line1: r.try_get("line1")?,
                line2: r.try_get("line2")?,
                city: r.try_get("city")?,
                region: r.try_get("region")?,
                postal_code: r.try_get("postal_code")?,
                country: r.try_get("country")?,
                added_on: day(r.try_get("added_on")?)?,
            })
        })
        .collect::<SourceResult<Vec<_>>>()?;
        let payment_methods = sqlx::query(
            "SELECT id, brand, last_four, expires, billing_name, added_on FROM payment_methods \
             WHERE account_id = ? ORDER BY added_on, id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(PaymentMethod {
                id: r.try_get("id")?,
                brand: r.try_get("brand")?,
                last_four: r.try_get("last_four")?,
                expires: r.try_get("expires")?,
                billing_name: r.try_get("billing_name")?,
                added_on: day(r.try_get("added_on")?)?,
            })
        })
        .collect::<SourceResult<Vec<_>>>()?;
        let services = sqlx::query(
            "SELECT name, plan, since, until FROM services WHERE account_id = ? \
             ORDER BY since, name",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            let until: Option<String> = r.try_get("until")?;
            Ok(Service {
                name: r.try_get("name")?,
                plan: r.try_get("plan")?,
                since: day(r.try_get("since")?)?,
                until: until.as_deref().map(day).transpose()?,
            })
        })
        .collect::<SourceResult<Vec<_>>>()?;
        Ok(SubscriberRecord {
            account_id: account.clone(),
            name: row.try_get("name")?,
            email: row.try_get("email")?,
            phone: row.try_get("phone")?,
            created_at: time(row.try_get("created_at")?)?,
            status: row.try_get("status")?,
            addresses,
            payment_methods,
            services,
        })
    }

    async fn transactional(
        &self,
        account: &AccountId,
        range: Option<DateRange>,
    ) -> SourceResult<TransactionalRecords> {
        let period = Period::of(range)?;
        self.require_account(account).await?;
        let id = account.as_str();
        let (start, end) = period.seconds();
        let items = sqlx::query(
            "SELECT i.order_id, i.description, i.quantity, i.unit_price_minor \
             FROM order_items i JOIN orders o ON o.id = i.order_id \
             WHERE o.account_id = ? AND o.placed_at >= ? AND o.placed_at < ? \
             ORDER BY i.order_id, i.line",
        )
        .bind(id)
        .bind(start)
        .bind(end)
        .fetch_all(&self.pool)
        .await?;
        let mut items_of: std::collections::HashMap<String, Vec<OrderItem>> = Default::default();
        for r in &items {
            let quantity: i64 = r.try_get("quantity")?;
            items_of
                .entry(r.try_get("order_id")?)
                .or_default()
                .push(OrderItem {
                    description: r.try_get("description")?,
                    quantity: u32::try_from(quantity).unwrap_or(0),
                    unit_price_minor: r.try_get("unit_price_minor")?,
                });
        }
        let orders = sqlx::query(
            "SELECT o.id, o.placed_at, o.status, o.total_minor, o.currency, \
                    p.brand, p.last_four, a.city, a.country \
             FROM orders o \
             JOIN payment_methods p ON p.id = o.payment_method_id \
             JOIN addresses a ON a.id = o.ship_to_address_id \
             WHERE o.account_id = ? AND o.placed_at >= ? AND o.placed_at < ? \
             ORDER BY o.placed_at, o.id",
        )
        .bind(id)
        .bind(start)
        .bind(end)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            let order_id: String = r.try_get("id")?;
            let brand: String = r.try_get("brand")?;
            let last_four: String = r.try_get("last_four")?;
            let city: String = r.try_get("city")?;
            let country: String = r.try_get("country")?;
            Ok(OrderRecord {
                items: items_of.remove(&order_id).unwrap_or_default(),
                order_id,
                placed_at: time(r.try_get("placed_at")?)?,
                status: r.try_get("status")?,
                total_minor: r.try_get("total_minor")?,
                currency: r.try_get("currency")?,
                payment: format!("{brand} ending in {last_four}"),
                ship_to: format!("{city}, {country}"),
            })
        })
        .collect::<SourceResult<Vec<_>>>()?;
        let devices = sqlx::query(
            "SELECT serial, model, registered_at, last_seen_at, deregistered_at FROM devices \
             WHERE account_id = ? AND registered_at < ? \
               AND (deregistered_at IS NULL OR deregistered_at >= ?) \
             ORDER BY registered_at, serial",
        )
        .bind(id)
        .bind(end)
        .bind(start)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(DeviceRecord {
                serial: r.try_get("serial")?,
                model: r.try_get("model")?,
                registered_at: time(r.try_get("registered_at")?)?,
                last_seen_at: opt_time(r.try_get("last_seen_at")?)?,
                deregistered_at: opt_time(r.try_get("deregistered_at")?)?,
            })
        })
        .collect::<SourceResult<Vec<_>>>()?;
        let sign_ins = sqlx::query(
            "SELECT at, ip_address, outcome, method, user_agent FROM sign_ins \
             WHERE account_id = ? AND at >= ? AND at < ? ORDER BY at, id",
        )
        .bind(id)
        .bind(start)
        .bind(end)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            let ip: String = r.try_get("ip_address")?;
            Ok(SignInRecord {
                at: time(r.try_get("at")?)?,
                ip_address: ip
                    .parse()
                    .map_err(|_| SourceError::Storage("a stored IP address is malformed".into()))?,
                outcome: r.try_get("outcome")?,
                method: r.try_get("method")?,
                user_agent: r.try_get("user_agent")?,
            })
        })
        .collect::<SourceResult<Vec<_>>>()?;
        Ok(TransactionalRecords {
            account_id: account.clone(),
            date_range: range,
            orders,
            devices,
            sign_ins,
        })
    }

    async fn content(
        &self,
        account: &AccountId,
        range: Option<DateRange>,
    ) -> SourceResult<Vec<ContentFile>> {
        let period = Period::of(range)?;
        self.require_account(account).await?;
        let (start, end) = period.seconds();
        sqlx::query(
            "SELECT id, path, size, media_type, created_at FROM files \
             WHERE account_id = ? AND created_at >= ? AND created_at < ? \
             ORDER BY created_at, id",
        )
        .bind(account.as_str())
        .bind(start)
        .bind(end)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            let size: i64 = r.try_get("size")?;
            Ok(ContentFile {
                id: r.try_get("id")?,
                path: r.try_get("path")?,
                size: size as u64,
                media_type: r.try_get("media_type")?,
                created_at: time(r.try_get("created_at")?)?,
            })
        })
        .collect()
    }

    async fn open_file(&self, account: &AccountId, file_id: &str) -> SourceResult<FileStream> {
        let row = sqlx::query(
            "SELECT size, media_type, stored_as FROM files WHERE account_id = ? AND id = ?",
        )
        .bind(account.as_str())
        .bind(file_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| SourceError::NotFound(format!("file {file_id} of account {account}")))?;
        let size: i64 = row.try_get("size")?;
        let media_type: String = row.try_get("media_type")?;
        let stored_as: String = row.try_get("stored_as")?;
        let path = self.root.join(FILES).join(stored_as);
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| io_error("opening", &path, e))?;
        let chunks = ReaderStream::with_capacity(file, CHUNK_SIZE).map_err(SourceError::from);
        Ok(FileStream::new(size as u64, media_type, chunks))
    }
}

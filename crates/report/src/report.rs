//! The report itself: built from counter cells (never from requests), in the published shape.

use std::collections::{BTreeMap, HashMap};

use custodian_core::{Country, LegalProcess};
use serde::{Deserialize, Serialize};

use crate::commit::{row_commitment, Acc};
use crate::facts::{dim, CellKey, Period};

/// A counter's value and the accumulator of the audit leaves counted in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellValue {
    pub key: CellKey,
    pub value: i64,
    pub acc: Acc,
}

/// National security process is published only in bands of this width.
pub const BAND: u64 = 250;

/// "0-249", "250-499", ...
pub fn band(n: u64) -> String {
    let low = n / BAND * BAND;
    format!("{low}-{}", low + BAND - 1)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessRow {
    pub process: String,
    pub label: String,
    pub received: u64,
    pub full: u64,
    pub partial: u64,
    pub none: u64,
    pub commitment: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountryRow {
    pub country: String,
    pub name: String,
    pub received: u64,
    pub content: u64,
    pub non_content: u64,
    pub no_data: u64,
    pub rejected: u64,
    pub commitment: String,
}

/// One country and process (and category, where the provider splits a process further):
/// requests, requests where some data was produced, accounts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountryProcessRow {
    pub country: String,
    pub process: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    pub received: u64,
    pub disclosed: u64,
    pub accounts: u64,
    pub commitment: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NationalSecurity {
    pub requests_band: String,
    pub accounts_band: String,
    pub commitment: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preservation {
    pub requests: u64,
    pub accounts: u64,
    pub commitment: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Emergency {
    pub received: u64,
    pub disclosed: u64,
    pub commitment: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notices {
    pub ndo_received: u64,
    pub sent: u64,
    pub delayed: u64,
    pub commitment: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub received: u64,
    pub accounts: u64,
    pub commitment: String,
}

/// What ties a report to the audit log (see docs/transparency-verification.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    pub scheme: String,
    /// The signed checkpoint (C2SP signed note) of the log the counts were taken from.
    pub checkpoint: String,
    pub log_size: u64,
    /// The log's public key in signed-note form, for convenience; an auditor should use the
    /// key the provider publishes.
    pub public_key: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub period: Period,
    pub from: String,
    pub to: String,
    pub by_process: Vec<ProcessRow>,
    pub by_country: Vec<CountryRow>,
    pub by_country_process: Vec<CountryProcessRow>,
    pub national_security: NationalSecurity,
    pub preservation: Preservation,
    pub emergency: Emergency,
    pub notices: Notices,
    pub median_days_to_respond: Option<f64>,
    pub totals: Totals,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
}

/// The cells of a period summed over its halves, by (dim, key, metric).
struct Sums(HashMap<(String, String, String), (i64, Acc)>);

impl Sums {
    fn new(cells: &[CellValue], period: &Period) -> Sums {
        let halves: Vec<String> = period.halves().iter().map(|p| p.to_string()).collect();
        let mut m: HashMap<(String, String, String), (i64, Acc)> = HashMap::new();
        for c in cells {
            if !halves.contains(&c.key.period) {
                continue;
            }
            let e = m
                .entry((c.key.dim.clone(), c.key.key.clone(), c.key.metric.clone()))
                .or_default();
            e.0 += c.value;
            e.1.merge(&c.acc);
        }
        Sums(m)
    }

    fn get(&self, d: &str, key: &str, metric: &str) -> (u64, Acc) {
        self.0
            .get(&(d.to_string(), key.to_string(), metric.to_string()))
            .map(|(v, a)| (u64::try_from(*v).unwrap_or(0), *a))
            .unwrap_or((0, Acc::ZERO))
    }

    fn keys(&self, d: &str) -> Vec<String> {
        let mut keys: Vec<String> = self
            .0
            .iter()
            .filter(|((dd, _, _), (v, _))| dd == d && *v != 0)
            .map(|((_, k, _), _)| k.clone())
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }

    /// Values and the row commitment for one row.
    fn row(&self, d: &str, key: &str, metrics: &[&str]) -> (Vec<u64>, String) {
        let mut values = Vec::with_capacity(metrics.len());
        let mut accs = Vec::with_capacity(metrics.len());
        for m in metrics {
            let (v, a) = self.get(d, key, m);
            values.push(v);
            accs.push((*m, a));
        }
        let name = if key.is_empty() {
            d.to_string()
        } else {
            format!("{d}/{key}")
        };
        (values, row_commitment(&name, &accs))
    }
}

impl Report {
    /// Builds the report of `period` from counter cells (cells of other periods are ignored).
    pub fn from_cells(period: Period, cells: &[CellValue]) -> Report {
        let s = Sums::new(cells, &period);
        let (from, to) = period.dates();

        let mut by_process = Vec::new();
        for key in s.keys(dim::PROCESS) {
            let (v, commitment) =
                s.row(dim::PROCESS, &key, &["received", "full", "partial", "none"]);
            let label = key
                .parse::<LegalProcess>()
                .map(|p| p.label().to_string())
                .unwrap_or_else(|_| key.clone());
            by_process.push(ProcessRow {
                process: key,
                label,
                received: v[0],
                full: v[1],
                partial: v[2],
                none: v[3],
                commitment,
            });
        }
        let mut by_country = Vec::new();
        for key in s.keys(dim::COUNTRY) {
            let (v, commitment) = s.row(
                dim::COUNTRY,
                &key,
                &["received", "content", "non_content", "no_data", "rejected"],
            );
            let name = Country::parse(&key)
                .map(|c| c.name().to_string())
                .unwrap_or_default();
            by_country.push(CountryRow {
                country: key,
                name,
                received: v[0],
                content: v[1],
                non_content: v[2],
                no_data: v[3],
                rejected: v[4],
                commitment,
            });
        }
        let mut by_country_process = Vec::new();
        for key in s.keys(dim::COUNTRY_PROCESS) {
            let (v, commitment) = s.row(
                dim::COUNTRY_PROCESS,
                &key,
                &["received", "disclosed", "accounts"],
            );
            let mut parts = key.splitn(3, '/');
            let country = parts.next().unwrap_or_default().to_string();
            let process = parts.next().unwrap_or_default().to_string();
            let category = parts.next().map(str::to_string);
            by_country_process.push(CountryProcessRow {
                country,
                process,
                category,
                received: v[0],
                disclosed: v[1],
                accounts: v[2],
                commitment,
            });
        }
        let (ns, ns_c) = s.row(dim::NATIONAL_SECURITY, "", &["requests", "accounts"]);
        let (pr, pr_c) = s.row(dim::PRESERVATION, "", &["requests", "accounts"]);
        let (em, em_c) = s.row(dim::EMERGENCY, "", &["received", "disclosed"]);
        let (no, no_c) = s.row(dim::NOTICES, "", &["ndo_received", "sent", "delayed"]);
        let (to_v, to_c) = s.row(dim::TOTAL, "", &["received", "accounts"]);

        let mut days: BTreeMap<i64, u64> = BTreeMap::new();
        for key in s.keys(dim::DAYS) {
            if let Ok(d) = key.parse::<i64>() {
                days.insert(d, s.get(dim::DAYS, &key, "requests").0);
            }
        }

        Report {
            period,
            from: from.to_string(),
            to: to.to_string(),
            by_process,
            by_country,
            by_country_process,
            national_security: NationalSecurity {
                requests_band: band(ns[0]),
                accounts_band: band(ns[1]),
                commitment: ns_c,
            },
            preservation: Preservation {
                requests: pr[0],
                accounts: pr[1],
                commitment: pr_c,
            },
            emergency: Emergency {
                received: em[0],
                disclosed: em[1],
                commitment: em_c,
            },
            notices: Notices {
                ndo_received: no[0],
                sent: no[1],
                delayed: no[2],
                commitment: no_c,
            },
            median_days_to_respond: median(&days),
            totals: Totals {
                received: to_v[0],
                accounts: to_v[1],
                commitment: to_c,
            },
            verification: None,
        }
    }

    /// The report without its verification block, for comparing counts.
    pub fn without_verification(&self) -> Report {
        Report {
            verification: None,
            ..self.clone()
        }
    }
}

/// The median of a histogram of whole days (the mean of the two middle values when even).
pub fn median(hist: &BTreeMap<i64, u64>) -> Option<f64> {
    let n: u64 = hist.values().sum();
    if n == 0 {
        return None;
    }
    let nth = |k: u64| {
        let mut seen = 0;
        for (d, c) in hist {
            seen += c;
            if seen > k {
                return *d;
            }
        }
        0
    };
    let lo = nth((n - 1) / 2);
    let hi = nth(n / 2);
    Some((lo + hi) as f64 / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_are_250_wide() {
        assert_eq!(band(0), "0-249");
        assert_eq!(band(249), "0-249");
        assert_eq!(band(250), "250-499");
        assert_eq!(band(1000), "1000-1249");
    }

    #[test]
    fn median_of_histograms() {
        let h: BTreeMap<i64, u64> = [(1, 1), (3, 1), (10, 1)].into_iter().collect();
        assert_eq!(median(&h), Some(3.0));
        let h: BTreeMap<i64, u64> = [(1, 1), (4, 1)].into_iter().collect();
        assert_eq!(median(&h), Some(2.5));
        assert_eq!(median(&BTreeMap::new()), None);
    }
}

//! A small demo store for the tests, with one identifier of every kind that a demand names.
#![allow(dead_code)]

use std::path::Path;

use custodian_core::request::DateRange;
use custodian_core::{Target, TargetKind};
use custodian_sources::{DemoSize, DemoStore};

pub fn target(kind: TargetKind, value: &str) -> Target {
    Target::parse(kind, value).expect("a valid test target")
}

pub fn day(s: &str) -> chrono::NaiveDate {
    s.parse().expect("a day")
}

pub const AS_OF: &str = "2026-03-31";

/// The identifiers the tests look up, as a demand would name them.
pub fn named() -> Vec<Target> {
    vec![
        target(TargetKind::Email, "jordan.smith42@example.com"),
        target(TargetKind::Phone, "+1 555 0142 7788"),
        target(TargetKind::AccountId, "acct-424242"),
        target(TargetKind::DeviceSerial, "FX12345678"),
        target(TargetKind::OrderId, "112-1234567-7654321"),
    ]
}

/// The period the large account's files were created in.
pub fn large_period() -> DateRange {
    DateRange {
        from: day("2025-09-01"),
        to: day("2025-12-31"),
    }
}

pub fn size() -> DemoSize {
    let mut size = DemoSize::small(day(AS_OF));
    size.named = named();
    size.large_account = Some(named()[0].clone());
    size.large_account_period = Some(large_period());
    size
}

pub async fn store(dir: &Path) -> DemoStore {
    DemoStore::generate(&dir.join("customer-data"), &size())
        .await
        .expect("the demo store generates")
}

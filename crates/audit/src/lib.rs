//! Custodian's append-only audit log.

mod canonical;
pub mod entry;
pub mod merkle;

//! Custodian's append-only audit log.

pub mod merkle;

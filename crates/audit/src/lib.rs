//! Custodian's append-only audit log.

mod canonical;
pub mod checkpoint;
pub mod entry;
pub mod merkle;
pub mod verify;

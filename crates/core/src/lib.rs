//! The domain of Custodian: what a legal demand is, who serves and reviews it, the states it
//! moves through and the rules that decide what may be disclosed. Pure functions and plain data;
//! nothing here touches a database, a file or the network.

pub mod agency;
pub mod category;
pub mod country;
pub mod deadline;
pub mod document;
pub mod error;
pub mod format;
pub mod letters;
pub mod lifecycle;
mod names;
pub mod notice;
pub mod number;
pub mod policy;
pub mod preservation;
pub mod process;
pub mod reimbursement;
pub mod request;
pub mod review;
pub mod role;
pub mod routes;
pub mod target;
pub mod verification;

pub use agency::{AgencyKind, AgencyStatus};
pub use category::DataCategory;
pub use country::Country;
pub use error::FieldError;
pub use lifecycle::{IllegalTransition, RequestStatus};
pub use number::RequestNumber;
pub use process::{LegalProcess, ReceivedVia};
pub use request::{EmergencyAttestation, NewLegalRequest, NonDisclosureOrder, RequestIntake};
pub use role::Role;
pub use target::{Target, TargetKind};

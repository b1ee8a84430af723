//! The special routes of issue 6 (LEGAL.md, process table): demands that are not answered by
//! disclosing what a category ruling allows, or that are disclosed on another footing.

pub mod device_return;
pub mod fraud_referral;

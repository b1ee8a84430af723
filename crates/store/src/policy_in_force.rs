//! The policy profile in force. An admin may switch profile while servers run (the choice is a
//! row in `settings`, so every server sharing the database follows it); every part of Custodian
//! that applies the policy (the review API, holds, customer notice) asks here, so that none of
//! them keeps applying the profile the server happened to start with.

use std::sync::{Arc, OnceLock};

use custodian_core::policy::PolicyProfile;

use crate::{Store, POLICY_PROFILE_SETTING};

/// The admin's choice where one is stored, else `started_with` (the profile given on the
/// command line or in the config file). A stored name this build does not know, or a database
/// that does not answer, falls back to `started_with`: the stricter default is never weakened
/// by an unreadable setting.
pub async fn policy_in_force(
    store: &dyn Store,
    started_with: &Arc<PolicyProfile>,
) -> Arc<PolicyProfile> {
    match store.admin().setting(POLICY_PROFILE_SETTING).await {
        Ok(Some(name)) if name != started_with.name => match builtin_profile(&name) {
            Some(p) => p,
            None => {
                tracing::warn!(profile = %name, "the chosen policy profile is unknown to this build");
                started_with.clone()
            }
        },
        Ok(_) => started_with.clone(),
        Err(e) => {
            tracing::error!(error = %e, "reading the chosen policy profile");
            started_with.clone()
        }
    }
}

/// A built-in profile, parsed once per process.
fn builtin_profile(name: &str) -> Option<Arc<PolicyProfile>> {
    type Builtins = Vec<(&'static str, Arc<PolicyProfile>)>;
    static BUILTINS: OnceLock<Builtins> = OnceLock::new();
    BUILTINS
        .get_or_init(|| {
            PolicyProfile::builtin_names()
                .into_iter()
                .filter_map(|n| PolicyProfile::builtin(n).ok().map(|p| (n, Arc::new(p))))
                .collect()
        })
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, p)| p.clone())
}

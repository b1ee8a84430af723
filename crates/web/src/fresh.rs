//! Settings that intake reads for every request and admins change rarely (the risk policy, the
//! deadline calendars), kept for [`FRESHNESS`] so that a request costs no read of them. An edit
//! made through this server clears them at once; one made elsewhere (another server on the
//! same database, the CLI) applies within that second.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a value read from the store is used before it is read again.
pub const FRESHNESS: Duration = Duration::from_secs(1);

/// More keys than any provider has countries times years: past it, everything is read again.
const MAX_ENTRIES: usize = 1024;

/// Values read from the store at most [`FRESHNESS`] ago, by key.
pub struct Fresh<K, V> {
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K, V> Default for Fresh<K, V> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash, V: Clone> Fresh<K, V> {
    /// The value under `key`, if it was read less than [`FRESHNESS`] ago.
    pub fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < FRESHNESS)
            .map(|(_, v)| v.clone())
    }

    /// Keeps `value`, just read, under `key`.
    pub fn put(&self, key: K, value: V) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (Instant::now(), value));
    }

    /// Forgets everything (after an edit through this server).
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_kept_until_cleared_or_stale() {
        let fresh: Fresh<&str, u32> = Fresh::default();
        assert_eq!(fresh.get(&"US"), None);
        fresh.put("US", 7);
        assert_eq!(fresh.get(&"US"), Some(7));
        fresh.clear();
        assert_eq!(fresh.get(&"US"), None);

        fresh.put("GB", 1);
        fresh.entries.lock().unwrap().get_mut(&"GB").unwrap().0 -= FRESHNESS;
        assert_eq!(fresh.get(&"GB"), None, "a second old: read again");
    }
}

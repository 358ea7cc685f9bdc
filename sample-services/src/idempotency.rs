//! Idempotency: a key is processed once; a repeat sees the first result.
//!
//! Used for `Idempotency-Key` on HTTP requests and for event keys in consumers, so that a
//! redelivered or duplicated message changes state once. Claims are atomic, so two copies
//! processed concurrently cannot both win.

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug)]
enum Entry<V> {
    InFlight,
    Done(V),
}

/// What a claim on a key found.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim<V> {
    /// First time: the caller does the work, then [`IdempotencyStore::complete`]s or
    /// [`IdempotencyStore::release`]s the key.
    New,
    /// Another copy is being processed right now.
    InFlight,
    /// Already done, with this result.
    Done(V),
}

#[derive(Debug)]
pub struct IdempotencyStore<V> {
    entries: Mutex<HashMap<String, Entry<V>>>,
}

impl<V> Default for IdempotencyStore<V> {
    fn default() -> Self {
        IdempotencyStore {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<V: Clone> IdempotencyStore<V> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry<V>>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn claim(&self, key: &str) -> Claim<V> {
        let mut entries = self.lock();
        match entries.get(key) {
            Some(Entry::InFlight) => Claim::InFlight,
            Some(Entry::Done(v)) => Claim::Done(v.clone()),
            None => {
                entries.insert(key.to_string(), Entry::InFlight);
                Claim::New
            }
        }
    }

    pub fn complete(&self, key: &str, value: V) {
        self.lock().insert(key.to_string(), Entry::Done(value));
    }

    /// Forgets the key whatever its state (a provider state being torn down).
    pub fn forget(&self, key: &str) {
        self.lock().remove(key);
    }

    /// Gives the key up after a failure, so that a retry can claim it again.
    pub fn release(&self, key: &str) {
        let mut entries = self.lock();
        if matches!(entries.get(key), Some(Entry::InFlight)) {
            entries.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_claimed_once_and_remembers_its_result() {
        let store = IdempotencyStore::default();
        assert_eq!(store.claim("k"), Claim::New);
        assert_eq!(store.claim("k"), Claim::InFlight);
        store.complete("k", 7);
        assert_eq!(store.claim("k"), Claim::Done(7));
    }

    #[test]
    fn a_released_key_can_be_claimed_again() {
        let store: IdempotencyStore<()> = IdempotencyStore::default();
        assert_eq!(store.claim("k"), Claim::New);
        store.release("k");
        assert_eq!(store.claim("k"), Claim::New);
    }
}

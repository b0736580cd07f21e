//! Refresh coordination: one refresh at a time per signed-in session, within a process.
//!
//! Logto rotates refresh tokens and revokes the whole grant when a rotated-out one is reused, so two
//! requests of one session must never refresh with the same refresh token. Requests of one session
//! may run through different [`LogtoClient`](crate::LogtoClient) values over different copies of
//! the session (a web framework loads the session per request), so the lock is keyed by the
//! session's id and lives in the shared configuration; the last rotation is kept with the lock so
//! that a waiter whose copy of the session is stale adopts the rotated tokens instead of reusing
//! the old refresh token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use crate::protocol::tokens::SessionTokens;

/// The refresh locks of every session currently refreshing or waiting to.
#[derive(Default)]
pub(crate) struct RefreshLocks {
    slots: Mutex<HashMap<String, Weak<Slot>>>,
}

/// One session's lock, holding the result of its last refresh.
#[derive(Default)]
pub(crate) struct Slot {
    pub(crate) last_rotation: tokio::sync::Mutex<Option<Rotation>>,
}

/// A refresh that happened: which refresh token it used up and the session it produced.
pub(crate) struct Rotation {
    pub(crate) used_refresh_token: String,
    pub(crate) tokens: SessionTokens,
}

impl RefreshLocks {
    /// The slot of `session_id`, shared with every concurrent caller for that session. Slots live
    /// as long as someone holds them; the map forgets dead ones as it grows.
    pub(crate) fn slot(&self, session_id: &str) -> Arc<Slot> {
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(slot) = slots.get(session_id).and_then(Weak::upgrade) {
            return slot;
        }
        if slots.len() >= 64 && slots.len().is_power_of_two() {
            slots.retain(|_, slot| slot.strong_count() > 0);
        }
        let slot = Arc::new(Slot::default());
        slots.insert(session_id.to_owned(), Arc::downgrade(&slot));
        slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_slot_per_live_session() {
        let locks = RefreshLocks::default();
        let a = locks.slot("s1");
        let b = locks.slot("s1");
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &locks.slot("s2")));
        drop((a, b));
        // A dead slot is replaced, not resurrected.
        let c = locks.slot("s1");
        assert_eq!(Arc::strong_count(&c), 1);
    }

    #[test]
    fn dead_slots_are_forgotten() {
        let locks = RefreshLocks::default();
        for i in 0..1000 {
            drop(locks.slot(&i.to_string()));
        }
        assert!(locks.slots.lock().unwrap().len() < 200);
    }
}

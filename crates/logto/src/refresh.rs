//! Refresh coordination: one refresh at a time per signed-in session, within a process.
//!
//! Logto rotates refresh tokens and revokes the whole grant when a rotated-out one is reused, so two
//! requests of one session must never refresh with the same refresh token. Requests of one session
//! may run through different [`LogtoClient`](crate::LogtoClient) values over different copies of
//! the session (a web framework loads the session per request), so the lock is keyed by the
//! session's id and lives in the shared runtime ([`LogtoHandle`](crate::LogtoHandle)); the last
//! rotation is kept with the lock so that a waiter whose copy of the session is stale adopts the
//! rotated tokens instead of reusing the old refresh token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::protocol::tokens::SessionTokens;

/// How long a session's last rotation is remembered after its last use. A copy of the session
/// saved by a slower request may reach the store after the rotated one; the next request then
/// still finds the rotation here instead of spending a used refresh token.
const KEEP_ROTATION_FOR: Duration = Duration::from_secs(600);

/// The refresh locks of the sessions that refreshed recently.
#[derive(Default)]
pub(crate) struct RefreshLocks {
    slots: Mutex<Slots>,
}

#[derive(Default)]
struct Slots {
    by_session: HashMap<String, (Arc<Slot>, Instant)>,
    /// Size at which the map is next swept of idle slots.
    sweep_at: usize,
}

/// One session's lock, holding the result of its last refresh.
#[derive(Default)]
pub(crate) struct Slot {
    pub(crate) last_rotation: tokio::sync::Mutex<Option<Rotation>>,
}

/// A refresh that rotated the refresh token: which refresh token it used up and the session it
/// produced (kept up to date by the refreshes that follow without rotating). Only a real rotation
/// is recorded: Logto gives a traditional web app the same refresh token back for most of its
/// lifetime, and a session still holding that token is not a stale copy.
pub(crate) struct Rotation {
    pub(crate) used_refresh_token: String,
    pub(crate) tokens: SessionTokens,
}

impl RefreshLocks {
    /// The slot of `session_id`, shared with every caller for that session. Slots idle for
    /// [`KEEP_ROTATION_FOR`] are swept as the map grows.
    pub(crate) fn slot(&self, session_id: &str) -> Arc<Slot> {
        self.slot_at(session_id, Instant::now())
    }

    /// The slot of `session_id` if it has one.
    pub(crate) fn existing(&self, session_id: &str) -> Option<Arc<Slot>> {
        let slots = self
            .slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        slots
            .by_session
            .get(session_id)
            .map(|(slot, _)| slot.clone())
    }

    fn slot_at(&self, session_id: &str, now: Instant) -> Arc<Slot> {
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((slot, last_used)) = slots.by_session.get_mut(session_id) {
            *last_used = now;
            return slot.clone();
        }
        if slots.by_session.len() >= slots.sweep_at {
            slots.by_session.retain(|_, (slot, last_used)| {
                Arc::strong_count(slot) > 1 || now.duration_since(*last_used) < KEEP_ROTATION_FOR
            });
            slots.sweep_at = (slots.by_session.len() * 2).max(64);
        }
        let slot = Arc::new(Slot::default());
        slots
            .by_session
            .insert(session_id.to_owned(), (slot.clone(), now));
        slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_slot_per_session_kept_after_use() {
        let locks = RefreshLocks::default();
        let a = locks.slot("s1");
        assert!(Arc::ptr_eq(&a, &locks.slot("s1")));
        assert!(!Arc::ptr_eq(&a, &locks.slot("s2")));
        drop(a);
        // Still there: a late, stale copy of the session must find the last rotation.
        let again = locks.slot("s1");
        assert_eq!(Arc::strong_count(&again), 2);
    }

    #[test]
    fn idle_slots_are_swept_as_the_map_grows() {
        let locks = RefreshLocks::default();
        let start = Instant::now();
        let held = locks.slot_at("held", start);
        for i in 0..100 {
            locks.slot_at(&i.to_string(), start);
        }
        let later = start + KEEP_ROTATION_FOR + Duration::from_secs(1);
        for i in 100..1000 {
            locks.slot_at(&i.to_string(), later);
        }
        let slots = locks.slots.lock().unwrap();
        assert!(!slots.by_session.contains_key("5"), "idle slot swept");
        assert!(
            slots.by_session.contains_key("held"),
            "a slot in use is kept"
        );
        assert!(slots.by_session.contains_key("999"));
        drop(held);
    }
}

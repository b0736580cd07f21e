//! Token records read together with their session, in the same store round trip.
//!
//! A signed-in request reads two records: the session, then the token record it names. With
//! [`RedisStore`](crate::RedisStore) the session store's `load` reads both at once and parks the
//! tokens here, under a slot number it writes into the loaded session (never the tokens
//! themselves: tower-sessions' `Session` prints its values in `Debug`). The visitor's
//! [`SessionStorage`](crate::SessionStorage) takes them from the slot the first time it needs
//! the tokens, instead of a second read.
//!
//! A slot is taken once, only for the token record it was read for, and never outlives
//! [`STALE`]: a request that loads its session but never asks for the tokens leaves a slot that
//! the next insertions sweep. The slot number is removed from every record the store saves.

#![cfg_attr(not(feature = "redis"), allow(dead_code))]

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tower_sessions::session::{Id, Record};

/// The session value holding the slot number (removed before the session is saved).
pub(crate) const SLOT_KEY: &str = "logto.tokens_prefetched";
/// How long a slot waits to be taken.
const STALE: Duration = Duration::from_secs(10);
/// At most this many slots wait at once; past it a load is not prefetched (read as usual).
const CAPACITY: usize = 4096;

/// The tokens read for one session load.
struct Parked {
    /// The token record they were read from.
    tokens_ref: Id,
    /// The tokens; `None`: the record did not exist (or had expired).
    tokens: Option<String>,
    parked: Instant,
}

/// The slots of one layer's store, shared by its session store and the extractors.
#[derive(Default)]
pub(crate) struct Prefetched {
    slots: Mutex<HashMap<u64, Parked>>,
    next: AtomicU64,
}

impl Prefetched {
    /// Parks the tokens read from record `tokens_ref` with `session`, and writes the slot into
    /// it. When the table is full of live slots, nothing is parked: the tokens are read again.
    pub(crate) fn park(&self, session: &mut Record, tokens_ref: Id, tokens: Option<String>) {
        let now = Instant::now();
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if slots.len() >= CAPACITY {
            slots.retain(|_, parked| now.duration_since(parked.parked) < STALE);
            if slots.len() >= CAPACITY {
                return;
            }
        }
        let slot = self.next.fetch_add(1, Ordering::Relaxed);
        slots.insert(
            slot,
            Parked {
                tokens_ref,
                tokens,
                parked: now,
            },
        );
        session.data.insert(SLOT_KEY.to_owned(), slot.into());
    }

    /// The tokens parked in `slot` for record `tokens_ref`, once: `Some(None)` when that record
    /// did not exist; `None` when nothing usable is parked (read the record).
    pub(crate) fn take(&self, slot: u64, tokens_ref: &Id) -> Option<Option<String>> {
        let parked = self
            .slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&slot)?;
        (parked.tokens_ref == *tokens_ref && parked.parked.elapsed() < STALE)
            .then_some(parked.tokens)
    }
}

/// `record` without its slot number, as it must be saved (borrowed when it has none).
pub(crate) fn without_slot(record: &Record) -> std::borrow::Cow<'_, Record> {
    if record.data.contains_key(SLOT_KEY) {
        let mut record = record.clone();
        record.data.remove(SLOT_KEY);
        std::borrow::Cow::Owned(record)
    } else {
        std::borrow::Cow::Borrowed(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_sessions::cookie::time::OffsetDateTime;

    fn session() -> Record {
        Record {
            id: Id::default(),
            data: HashMap::new(),
            expiry_date: OffsetDateTime::now_utc(),
        }
    }

    fn slot_of(record: &Record) -> u64 {
        record.data[SLOT_KEY].as_u64().unwrap()
    }

    #[test]
    fn a_slot_is_taken_once_and_only_for_its_record() {
        let table = Prefetched::default();
        let (mine, other) = (Id::default(), Id::default());
        let mut record = session();
        table.park(&mut record, mine, Some("tokens".into()));
        let slot = slot_of(&record);
        assert_eq!(table.take(slot, &other), None, "another record's slot");
        table.park(&mut record, mine, Some("tokens".into()));
        let slot = slot_of(&record);
        assert_eq!(table.take(slot, &mine), Some(Some("tokens".into())));
        assert_eq!(table.take(slot, &mine), None, "taken already");

        table.park(&mut record, mine, None);
        assert_eq!(table.take(slot_of(&record), &mine), Some(None), "no record");
    }

    #[test]
    fn a_full_table_parks_nothing_and_the_slot_is_never_saved() {
        let table = Prefetched::default();
        for _ in 0..CAPACITY {
            table.park(&mut session(), Id::default(), None);
        }
        let mut record = session();
        table.park(&mut record, Id::default(), Some("tokens".into()));
        assert!(!record.data.contains_key(SLOT_KEY), "full of live slots");

        let mut record = session();
        record.data.insert("kept".into(), 1.into());
        assert!(matches!(
            without_slot(&record),
            std::borrow::Cow::Borrowed(_)
        ));
        record.data.insert(SLOT_KEY.into(), 7.into());
        let saved = without_slot(&record);
        assert!(!saved.data.contains_key(SLOT_KEY));
        assert!(saved.data.contains_key("kept"));
    }
}

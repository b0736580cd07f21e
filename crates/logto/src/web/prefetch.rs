//! Token records read together with their session, in one store round trip.
//!
//! An adapter keeps the tokens in a record of their own, which the session names: a signed-in
//! request reads the session, then the token record. A session store on Redis can read both at
//! once (`load_with_tokens`, feature `redis`) and park the tokens in a [`Prefetched`] table,
//! under a slot number it writes into the loaded session: never the tokens themselves, since
//! session types print their values in `Debug`. The visitor's storage takes them from the slot
//! the first time it needs them, instead of a second read.
//!
//! A slot is taken once, only for the token record it was read for, and never outlives
//! [`STALE`]: a request that loads its session but never asks for the tokens leaves a slot that
//! later parkings sweep. The adapter removes the slot number from every session it saves.
//!
//! Which record a session names is known once the session is read. A store remembers it
//! (`RecordHints`, feature `redis`) from the sessions it reads and writes, and reads a session it
//! knows together with its record by one `MGET`; for the others a short Lua script finds the
//! record in the session. Both are one round trip, but moving 2–3 KB of tokens through Lua costs
//! Redis several times what `MGET` does. A hint only picks the key to read: the tokens are used
//! only when the session read names that very record.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The session value holding the slot number (to be removed before the session is saved).
pub const SLOT_KEY: &str = "logto.tokens_prefetched";
/// How long a slot waits to be taken.
pub const STALE: Duration = Duration::from_secs(10);
/// At most this many slots wait at once; past it nothing is parked (the tokens are read again).
const CAPACITY: usize = 4096;

/// The tokens read with one session.
struct Parked {
    /// The token record they were read from.
    tokens_ref: String,
    /// The tokens; `None`: the record did not exist (or had expired).
    tokens: Option<String>,
    parked: Instant,
}

/// The parked tokens of one app's session store, shared by the store and the visitors' storage.
///
/// ```
/// use logto::web::prefetch::Prefetched;
///
/// let table = Prefetched::default();
/// let slot = table.park("record-1", Some("tokens".into())).unwrap();
/// assert_eq!(table.take(slot, "record-2"), None); // only for the record read
/// assert_eq!(table.take(slot, "record-1"), None); // and taken once
/// let slot = table.park("record-1", None).unwrap();
/// assert_eq!(table.take(slot, "record-1"), Some(None)); // the record did not exist
/// ```
#[derive(Default)]
pub struct Prefetched {
    slots: Mutex<HashMap<u64, Parked>>,
    next: AtomicU64,
}

impl std::fmt::Debug for Prefetched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prefetched").finish_non_exhaustive()
    }
}

impl Prefetched {
    /// Parks the tokens read from record `tokens_ref`; the slot to write into the session, or
    /// `None` when the table is full of live slots (nothing parked: the tokens are read again).
    pub fn park(&self, tokens_ref: impl Into<String>, tokens: Option<String>) -> Option<u64> {
        let now = Instant::now();
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if slots.len() >= CAPACITY {
            slots.retain(|_, parked| now.duration_since(parked.parked) < STALE);
            if slots.len() >= CAPACITY {
                return None;
            }
        }
        let slot = self.next.fetch_add(1, Ordering::Relaxed);
        slots.insert(
            slot,
            Parked {
                tokens_ref: tokens_ref.into(),
                tokens,
                parked: now,
            },
        );
        Some(slot)
    }

    /// The tokens parked in `slot` for record `tokens_ref`, once: `Some(None)` when that record
    /// did not exist; `None` when nothing usable is parked there (read the record).
    pub fn take(&self, slot: u64, tokens_ref: &str) -> Option<Option<String>> {
        let parked = self
            .slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&slot)?;
        (parked.tokens_ref == tokens_ref && parked.parked.elapsed() < STALE)
            .then_some(parked.tokens)
    }
}

/// At most this many sessions are remembered by a [`RecordHints`]; past it, all are forgotten
/// (each is learnt again from its next read).
#[cfg(feature = "redis")]
const HINTS: usize = 65_536;

/// Which token record each session named when this process last read or wrote it (by session
/// key): lets [`load_with_tokens`] read both with one `MGET` instead of a script. About 60 bytes
/// a session, for at most 65 536 sessions.
///
/// ```
/// use logto::web::prefetch::RecordHints;
///
/// let hints = RecordHints::default();
/// hints.remember("app:session:abc", Some("record-1"));
/// assert_eq!(hints.record_of("app:session:abc").as_deref(), Some("record-1"));
/// hints.remember("app:session:abc", None); // signed out: no record
/// assert_eq!(hints.record_of("app:session:abc"), None);
/// hints.remember("app:session:abc", Some("not a record id")); // not `[A-Za-z0-9_-]`
/// assert_eq!(hints.record_of("app:session:abc"), None);
/// ```
#[cfg(feature = "redis")]
#[derive(Default)]
pub struct RecordHints {
    /// Record ids by a keyed hash of the session key: a collision only reads another record,
    /// which the caller then ignores (the session names its own).
    records: Mutex<HashMap<u64, Box<str>>>,
    keys: std::hash::RandomState,
}

#[cfg(feature = "redis")]
impl std::fmt::Debug for RecordHints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordHints").finish_non_exhaustive()
    }
}

#[cfg(feature = "redis")]
impl RecordHints {
    /// Records that the session at `session_key` names token record `record_id` (`None`: none,
    /// or the session is gone). An id that the script's pattern could not capture (characters
    /// outside `[A-Za-z0-9_-]`, or longer than 64) is not remembered.
    pub fn remember(&self, session_key: &str, record_id: Option<&str>) {
        let hash = std::hash::BuildHasher::hash_one(&self.keys, session_key);
        let valid = record_id.filter(|id| {
            (1..=64).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        });
        let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        match valid {
            Some(id) => {
                if records.get(&hash).is_some_and(|known| **known == *id) {
                    return;
                }
                if records.len() >= HINTS {
                    records.clear();
                }
                records.insert(hash, id.into());
            }
            None => {
                records.remove(&hash);
            }
        }
    }

    /// Records which token record the session `loaded` from `session_key` names (`held`, as
    /// decoded from it; `None` when it names none or could not be decoded). Nothing to do when
    /// the hint that read it was right, the common case: no second look-up.
    pub fn remember_loaded(
        &self,
        session_key: &str,
        loaded: &SessionWithTokens,
        held: Option<&str>,
    ) {
        let hint_right = loaded.hinted
            && loaded
                .tokens
                .as_ref()
                .is_some_and(|(id, _)| held == Some(id.as_str()));
        if !hint_right {
            self.remember(session_key, held);
        }
    }

    /// The token record the session at `session_key` named when last seen.
    pub fn record_of(&self, session_key: &str) -> Option<String> {
        let hash = std::hash::BuildHasher::hash_one(&self.keys, session_key);
        let records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        records.get(&hash).map(|id| id.to_string())
    }
}

/// Reads a session and, when it names a token record, that record. `ARGV[1]` is the key prefix
/// of token records, `ARGV[2]` a Lua pattern capturing the record's id from the session's JSON.
/// Returns false (no session), `{session}`, or `{session, id, record}` (`record` false when gone).
#[cfg(feature = "redis")]
const LOAD_WITH_TOKENS: &str = r"
local session = redis.call('GET', KEYS[1])
if not session then return false end
local ref = string.match(session, ARGV[2])
if ref then
  return {session, ref, redis.call('GET', ARGV[1] .. ref)}
end
return {session}
";

/// A session as [`load_with_tokens`] reads it.
#[cfg(feature = "redis")]
#[derive(Default)]
pub struct SessionWithTokens {
    /// The session's stored value.
    pub session: String,
    /// The id of the token record the session names, and its stored value (`None`: gone).
    pub tokens: Option<(String, Option<String>)>,
    /// Whether the record was read by the id [`RecordHints`] remembered.
    hinted: bool,
}

#[cfg(feature = "redis")]
impl std::fmt::Debug for SessionWithTokens {
    /// Never the stored values (sessions and tokens).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionWithTokens").finish_non_exhaustive()
    }
}

/// Reads the session at `session_key` and, in the same round trip, the token record
/// `<record_prefix><id>` it names: the one `hints` remembers for it (`MGET`), else the one whose
/// id the session's stored value holds where `pattern` (a Lua pattern with one capture of
/// `[%w_-]` characters) finds it (a Lua script, `EVALSHA`). `None`: no session.
///
/// The record read may not be the one the session names (a stale hint; a JSON session's string
/// members escape every `"` they hold, so a pattern anchored on `"` only finds the member itself,
/// but still): the caller checks the id against the decoded session, reads the record on its own
/// when they differ, and tells `hints` which record the session names
/// ([`RecordHints::remember_loaded`]). Bounded by
/// [`REDIS_COMMAND_TIMEOUT`](super::REDIS_COMMAND_TIMEOUT).
#[cfg(feature = "redis")]
pub async fn load_with_tokens(
    connection: &redis::aio::ConnectionManager,
    hints: &RecordHints,
    session_key: &str,
    record_prefix: &str,
    pattern: &str,
) -> Result<Option<SessionWithTokens>, crate::BoxError> {
    if let Some(record_id) = hints.record_of(session_key) {
        let mut connection = connection.clone();
        let mut mget = redis::cmd("MGET");
        mget.arg(session_key)
            .arg([record_prefix, &record_id].concat());
        let (session, record): (Option<String>, Option<String>) =
            super::redis_command(mget.query_async(&mut connection)).await?;
        let Some(session) = session else {
            hints.remember(session_key, None);
            return Ok(None);
        };
        return Ok(Some(SessionWithTokens {
            session,
            tokens: Some((record_id, record)),
            hinted: true,
        }));
    }
    static SCRIPT: std::sync::OnceLock<redis::Script> = std::sync::OnceLock::new();
    let script = SCRIPT.get_or_init(|| redis::Script::new(LOAD_WITH_TOKENS));
    let mut invocation = script.key(session_key);
    invocation.arg(record_prefix).arg(pattern);
    let mut connection = connection.clone();
    let values: Option<Vec<Option<String>>> =
        super::redis_command(invocation.invoke_async(&mut connection)).await?;
    let mut values = values.unwrap_or_default().into_iter();
    let Some(Some(session)) = values.next() else {
        return Ok(None);
    };
    let tokens = match (values.next().flatten(), values.next()) {
        (Some(id), Some(record)) => Some((id, record)),
        _ => None,
    };
    Ok(Some(SessionWithTokens {
        session,
        tokens,
        hinted: false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_table_parks_nothing() {
        let table = Prefetched::default();
        for i in 0..CAPACITY {
            assert!(table.park(i.to_string(), None).is_some());
        }
        assert_eq!(table.park("one more", Some("tokens".into())), None);
        // Taking frees a place.
        assert_eq!(table.take(0, "0"), Some(None));
        assert!(table.park("one more", None).is_some());
    }

    #[cfg(feature = "redis")]
    #[test]
    fn a_session_read_by_a_wrong_hint_corrects_it() {
        let hints = RecordHints::default();
        let key = "app:session:abc";
        hints.remember(key, Some("r1"));
        let read = |id: &str, hinted| SessionWithTokens {
            session: String::new(),
            tokens: Some((id.to_owned(), None)),
            hinted,
        };
        // The hint was right: nothing changes.
        hints.remember_loaded(key, &read("r1", true), Some("r1"));
        assert_eq!(hints.record_of(key).as_deref(), Some("r1"));
        // The session now names another record, or none.
        hints.remember_loaded(key, &read("r1", true), Some("r2"));
        assert_eq!(hints.record_of(key).as_deref(), Some("r2"));
        hints.remember_loaded(key, &read("r2", true), None);
        assert_eq!(hints.record_of(key), None);
        // Read by the script (no hint): learnt.
        hints.remember_loaded(key, &read("r3", false), Some("r3"));
        assert_eq!(hints.record_of(key).as_deref(), Some("r3"));
    }
}

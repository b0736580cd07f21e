//! The session tokens parsed (and their ID token's claims once decoded), shared by every client of
//! a [`LogtoHandle`](crate::LogtoHandle) and keyed by their exact stored text: a web app builds a client per request, and
//! without it every request of a signed-in visitor would parse the same text again.
//!
//! An entry is served only for the very text it was parsed from (compared in full, the hash only
//! picks the slot). Entries not used for [`IDLE`] are dropped as the cache is used, the text a
//! client replaces or deletes in its storage at once, and the cache holds at most
//! [`SHARDS`] × [`SHARD_CAPACITY`] sessions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::client::ParsedTokens;

const SHARDS: usize = 16;
const SHARD_CAPACITY: usize = 128;
/// How long an unused entry stays.
const IDLE: Duration = Duration::from_secs(60);

struct Shard {
    entries: HashMap<u64, Entry>,
    swept: Instant,
}

struct Entry {
    parsed: Arc<ParsedTokens>,
    used: Instant,
}

/// The cache of one [`LogtoHandle`](crate::LogtoHandle), shared by its clients.
pub(crate) struct ParsedCache {
    shards: Vec<Mutex<Shard>>,
}

impl Default for ParsedCache {
    fn default() -> Self {
        ParsedCache {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        entries: HashMap::new(),
                        swept: Instant::now(),
                    })
                })
                .collect(),
        }
    }
}

/// The shard of a text: the high bits of its hash (the low ones pick its slot in the shard).
pub(crate) fn shard_index(hash: u64) -> usize {
    (hash >> 60) as usize % SHARDS
}

impl Shard {
    /// Drops the entries unused for `IDLE`, at most once per half of it.
    fn sweep(&mut self, now: Instant) {
        if now.duration_since(self.swept) >= IDLE / 2 {
            self.entries
                .retain(|_, entry| now.duration_since(entry.used) < IDLE);
            self.swept = now;
        }
    }
}

/// A fast hash of the whole text (FxHash's mixing, eight bytes at a time).
pub(crate) fn hash(raw: &str) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mix = |h: u64, word: u64| (h.rotate_left(5) ^ word).wrapping_mul(K);
    let bytes = raw.as_bytes();
    let mut chunks = bytes.chunks_exact(8);
    let mut h = mix(0, bytes.len() as u64);
    for chunk in &mut chunks {
        h = mix(h, u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
    }
    let mut tail = [0u8; 8];
    tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    h = mix(h, u64::from_le_bytes(tail));
    // Spread the last mix into the high bits, which pick the shard.
    h ^ (h >> 29).wrapping_mul(K)
}

impl ParsedCache {
    fn shard(&self, hash: u64) -> MutexGuard<'_, Shard> {
        self.shards[shard_index(hash)]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The tokens parsed from exactly `raw` (whose [`hash`] is `hash`), if cached.
    pub(crate) fn get(&self, raw: &str, hash: u64) -> Option<Arc<ParsedTokens>> {
        let now = Instant::now();
        let mut shard = self.shard(hash);
        shard.sweep(now);
        let entry = shard.entries.get_mut(&hash)?;
        if *entry.parsed.raw != *raw || now.duration_since(entry.used) >= IDLE {
            return None;
        }
        entry.used = now;
        Some(Arc::clone(&entry.parsed))
    }

    /// Caches `parsed` under the [`hash`] of its text, replacing what was there.
    pub(crate) fn insert(&self, hash: u64, parsed: &Arc<ParsedTokens>) {
        let now = Instant::now();
        let mut shard = self.shard(hash);
        shard.sweep(now);
        if shard.entries.len() >= SHARD_CAPACITY && !shard.entries.contains_key(&hash) {
            // Full of entries in use: the least recently used one goes.
            let oldest = shard
                .entries
                .iter()
                .min_by_key(|(_, entry)| entry.used)
                .map(|(key, _)| *key);
            if let Some(oldest) = oldest {
                shard.entries.remove(&oldest);
            }
        }
        shard.entries.insert(
            hash,
            Entry {
                parsed: Arc::clone(parsed),
                used: now,
            },
        );
    }

    /// Drops the entry of exactly `raw`, if cached.
    pub(crate) fn forget(&self, raw: &str) {
        let hash = hash(raw);
        let mut shard = self.shard(hash);
        if shard
            .entries
            .get(&hash)
            .is_some_and(|entry| *entry.parsed.raw == *raw)
        {
            shard.entries.remove(&hash);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use super::*;
    use crate::protocol::tokens::SessionTokens;

    fn parsed(raw: &str) -> Arc<ParsedTokens> {
        Arc::new(ParsedTokens {
            raw: Arc::new(raw.to_owned()),
            tokens: SessionTokens::new("s".into(), "id".into(), None, Vec::new()),
            id_token_claims: OnceLock::new(),
            access_token_claims: Mutex::default(),
        })
    }

    fn shard_of(raw: &str) -> usize {
        shard_index(hash(raw))
    }

    #[test]
    fn serves_only_the_exact_text() {
        let cache = ParsedCache::default();
        let raw = format!("{{\"session_id\":\"1{}\"}}", "a".repeat(100));
        let hash = hash(&raw);
        cache.insert(hash, &parsed(&raw));
        assert!(cache.get(&raw, hash).is_some_and(|p| *p.raw == *raw));
        // Another text under the same hash (a collision) is a miss.
        let other = raw.replace('a', "b");
        assert!(cache.get(&other, hash).is_none());
        cache.forget(&other);
        assert!(cache.get(&raw, hash).is_some());
        cache.forget(&raw);
        assert!(cache.get(&raw, hash).is_none());
    }

    #[test]
    fn hash_sees_every_byte() {
        let raw = "x".repeat(1001);
        for i in [0, 7, 8, 500, 999, 1000] {
            let mut changed = raw.clone().into_bytes();
            changed[i] = b'y';
            let changed = String::from_utf8(changed).unwrap();
            assert_ne!(hash(&raw), hash(&changed), "byte {i}");
        }
        assert_ne!(hash("ab"), hash("ab\0"));
    }

    #[test]
    fn a_full_shard_drops_its_least_recently_used_entry() {
        let cache = ParsedCache::default();
        // Texts that all land in one shard.
        let mut texts = Vec::new();
        let mut i = 0u64;
        let target = shard_of("full-0");
        while texts.len() <= SHARD_CAPACITY {
            let raw = format!("full-{i}");
            if shard_of(&raw) == target {
                texts.push(raw);
            }
            i += 1;
        }
        for raw in &texts {
            cache.insert(hash(raw), &parsed(raw));
        }
        let len = cache.shard(hash(&texts[0])).entries.len();
        assert!(len <= SHARD_CAPACITY, "{len} entries");
        let last = texts.last().unwrap();
        assert!(cache.get(last, hash(last)).is_some());
    }
}

//! A bounded map from token to its validation result, honouring `exp` and the key set the token
//! was verified with.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use crate::AuthInfo;

const SHARDS: usize = 16;

pub(crate) struct TokenCache {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
}

#[derive(Default)]
struct Shard {
    /// Each result with the generation of the key set it was verified with, and its insertion
    /// number.
    map: HashMap<Arc<str>, (AuthInfo, u64, u64)>,
    /// Insertion order, for FIFO eviction: keys with their insertion number (an entry removed
    /// early, or replaced since, leaves a stale pair here, skipped when it comes up).
    order: VecDeque<(Arc<str>, u64)>,
    /// The next insertion number.
    next: u64,
}

impl TokenCache {
    /// `None` when `capacity` is zero (caching disabled).
    pub(crate) fn new(capacity: usize) -> Option<TokenCache> {
        if capacity == 0 {
            return None;
        }
        let shards = SHARDS.min(capacity);
        Some(TokenCache {
            shards: (0..shards).map(|_| Mutex::default()).collect(),
            per_shard: capacity.div_ceil(shards),
        })
    }

    fn shard(&self, token: &str) -> &Mutex<Shard> {
        let mut h = DefaultHasher::new();
        token.hash(&mut h);
        #[allow(clippy::cast_possible_truncation)]
        let i = (h.finish() as usize) % self.shards.len();
        &self.shards[i]
    }

    /// The cached result, if `token` is cached, still valid at `now`, and was verified with the
    /// key set of `generation` (a token signed by a key the issuer has since removed is not).
    pub(crate) fn get(
        &self,
        token: &str,
        now: u64,
        leeway: u64,
        generation: u64,
    ) -> Option<AuthInfo> {
        let mut shard = lock(self.shard(token));
        let (info, verified_with, _) = shard.map.get(token)?;
        if now < info.expires_at().saturating_add(leeway) && *verified_with == generation {
            return Some(info.clone());
        }
        shard.map.remove(token);
        None
    }

    /// Remembers `info` for `token`, verified with the key set of `generation`.
    pub(crate) fn insert(&self, token: &str, info: AuthInfo, generation: u64) {
        let mut shard = lock(self.shard(token));
        let shard = &mut *shard;
        let number = shard.next;
        shard.next += 1;
        if let Some(entry) = shard.map.get_mut(token) {
            *entry = (info, generation, entry.2);
            return;
        }
        // Evicts the oldest entries, O(1) each: a full cache (more distinct tokens than its
        // capacity) must not cost more per request than no cache. Expired entries go with their
        // age, or when looked up.
        while shard.map.len() >= self.per_shard {
            let Some((oldest, inserted)) = shard.order.pop_front() else {
                break;
            };
            if shard
                .map
                .get(&oldest)
                .is_some_and(|entry| entry.2 == inserted)
            {
                shard.map.remove(&oldest);
            }
        }
        let key: Arc<str> = Arc::from(token);
        shard.order.push_back((key.clone(), number));
        shard.map.insert(key, (info, generation, number));
        // Pairs left by entries removed on lookup stay in `order` until swept: keep it bounded
        // (a sweep every `per_shard` insertions at most, so O(1) per insertion on average).
        if shard.order.len() > 2 * self.per_shard {
            let map = &shard.map;
            shard
                .order
                .retain(|(key, inserted)| map.get(key).is_some_and(|entry| entry.2 == *inserted));
        }
    }
}

fn lock(m: &Mutex<Shard>) -> std::sync::MutexGuard<'_, Shard> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn info(expires_at: u64) -> AuthInfo {
        AuthInfo::new(None, None, Vec::new(), Vec::new(), expires_at, Map::new())
    }

    fn sizes(cache: &TokenCache) -> (usize, usize) {
        cache.shards.iter().fold((0, 0), |(map, order), shard| {
            let shard = lock(shard);
            (map + shard.map.len(), order + shard.order.len())
        })
    }

    #[test]
    fn stays_within_capacity_evicting_the_oldest() {
        let cache = TokenCache::new(16).unwrap();
        for i in 0..10_000 {
            cache.insert(&format!("t{i}"), info(u64::MAX / 2), 1);
            let (map, order) = sizes(&cache);
            assert!(map <= 16, "{map} entries");
            assert!(order <= 2 * 16 + 16, "{order} order pairs");
        }
        // The newest are there, the oldest gone.
        assert!(cache.get("t9999", 0, 0, 1).is_some());
        assert!(cache.get("t0", 0, 0, 1).is_none());
    }

    #[test]
    fn an_entry_inserted_again_is_not_evicted_by_its_old_place_in_line() {
        // One shard, room for two.
        let cache = TokenCache::new(1).unwrap();
        let cache = TokenCache {
            per_shard: 2,
            ..cache
        };
        cache.insert("a", info(100), 1);
        // Expired at lookup: removed, leaving a stale pair at the front of the line.
        assert!(cache.get("a", 200, 0, 1).is_none());
        cache.insert("b", info(u64::MAX / 2), 1);
        cache.insert("a", info(u64::MAX / 2), 1);
        // Full: the next insertion skips a's stale pair and evicts b, the oldest live entry.
        cache.insert("c", info(u64::MAX / 2), 1);
        assert!(cache.get("a", 0, 0, 1).is_some());
        assert!(cache.get("b", 0, 0, 1).is_none());
        assert!(cache.get("c", 0, 0, 1).is_some());
    }

    #[test]
    fn a_result_from_another_key_set_is_not_served() {
        let cache = TokenCache::new(4).unwrap();
        cache.insert("t", info(u64::MAX / 2), 1);
        assert!(cache.get("t", 0, 0, 2).is_none());
        assert!(
            cache.get("t", 0, 0, 1).is_none(),
            "removed when found stale"
        );
    }
}

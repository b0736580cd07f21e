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
    /// Each result with the generation of the key set it was verified with.
    map: HashMap<Arc<str>, (AuthInfo, u64)>,
    /// Insertion order, for FIFO eviction.
    order: VecDeque<Arc<str>>,
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
        let (info, verified_with) = shard.map.get(token)?;
        if now < info.expires_at().saturating_add(leeway) && *verified_with == generation {
            return Some(info.clone());
        }
        shard.map.remove(token);
        None
    }

    /// Remembers `info` for `token`, verified with the key set of `generation`.
    pub(crate) fn insert(
        &self,
        token: &str,
        info: AuthInfo,
        now: u64,
        leeway: u64,
        generation: u64,
    ) {
        let mut shard = lock(self.shard(token));
        let shard = &mut *shard;
        if let Some(entry) = shard.map.get_mut(token) {
            *entry = (info, generation);
            return;
        }
        if shard.map.len() >= self.per_shard {
            shard
                .map
                .retain(|_, (info, _)| now < info.expires_at().saturating_add(leeway));
            let map = &shard.map;
            shard.order.retain(|k| map.contains_key(k));
            while shard.map.len() >= self.per_shard {
                match shard.order.pop_front() {
                    Some(oldest) => {
                        shard.map.remove(&oldest);
                    }
                    None => break,
                }
            }
        }
        let key: Arc<str> = Arc::from(token);
        shard.order.push_back(key.clone());
        shard.map.insert(key, (info, generation));
        // Keys removed on expiry stay in `order` until swept; keep it bounded.
        if shard.order.len() > 2 * self.per_shard {
            let map = &shard.map;
            shard.order.retain(|k| map.contains_key(k));
        }
    }
}

fn lock(m: &Mutex<Shard>) -> std::sync::MutexGuard<'_, Shard> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

//! [`RedisStore`]: actix-session sessions, token records and a [`RefreshLock`] on one Redis
//! server.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration as TimeDuration;
use logto::web::prefetch::{Prefetched, RecordHints, SLOT_KEY, load_with_tokens};
use logto::{BoxFuture, LockGuard, RefreshLock};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, SetExpiry, SetOptions};

use crate::BoxError;
use crate::error::Error;
use crate::storage::TOKENS_REF;
use crate::store::{TokenStore, random_id, std_duration};

/// Sessions in Redis, shared by every process of the app: actix-session's `SessionStore`
/// (`<prefix>session:<key>`, JSON), the token records (`<prefix>record:<id>`) and the
/// [`RefreshLock`] (`<prefix>lock:<name>`). Everything expires with its session. Every command
/// has a 5-second timeout. Cheap to clone (one multiplexed connection that reconnects by itself).
/// Needs Redis 6.2 or later (a single server: not Redis Cluster).
///
/// Loading a signed-in session also reads its token record, in the same round trip (an `MGET`
/// for a session this process has seen, a short Lua script for the first read of the others). (Wrapped in an [`EncryptedStore`](crate::EncryptedStore), the session is sealed and
/// the token record is read on its own.)
///
/// actix-session's own `RedisSessionStore` keeps sessions only: the tokens and the lock need this
/// store.
///
/// ```no_run
/// use actix_web::App;
/// use logto::LogtoConfig;
/// use logto_actix::{Logto, RedisStore};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisStore::connect("redis://127.0.0.1:6379").await?;
/// let config = LogtoConfig::builder("https://tenant.logto.app", "app-id")
///     .app_secret("app-secret")
///     .build()?;
/// let logto = Logto::builder(config, "https://app.example.com")
///     .refresh_lock(store.clone())
///     .cookie_key_from_secret("app-secret")
///     .build()?;
/// let app = App::new()
///     .configure(|routes| logto.configure(routes))
///     .wrap(logto.middleware(store));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    prefix: String,
    /// `<prefix>record:`, the start of every token record's key.
    records: String,
    /// Token records read with their sessions, for the extractors.
    prefetched: Arc<Prefetched>,
    /// The token record each session named when last read or written here.
    hints: Arc<RecordHints>,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to the Redis server at `url` (`redis://[user:password@]host:port[/db]`, or
    /// `rediss://…` over TLS, the server's certificate checked against the system's roots), with
    /// keys prefixed `logto-actix:`.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        let client = redis::Client::open(url).map_err(|e| connect_error(url, &e))?;
        // Retries wait ~0.5 s at most (redis-rs multiplies `factor` by a 1 s base).
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(5))
            .set_response_timeout(Duration::from_secs(5))
            .set_number_of_retries(3)
            .set_factor(1)
            .set_max_delay(500);
        let connection = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| connect_error(url, &e))?;
        let store = RedisStore {
            connection,
            prefix: String::new(),
            records: String::new(),
            prefetched: Arc::default(),
            hints: Arc::default(),
        };
        Ok(store.with_prefix("logto-actix:"))
    }

    /// Replaces the key prefix (default `logto-actix:`), e.g. to share one Redis database between
    /// apps.
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self.records = self.key("record", "");
        self
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}:{id}", self.prefix)
    }

    fn record_key(&self, id: &str) -> String {
        [&self.records, id].concat()
    }

    /// Remembers the token record that session `key` (its Redis key) names in `state`.
    fn remember_record(&self, key: &str, state: Option<&HashMap<String, String>>) {
        self.hints
            .remember(key, state.and_then(named_record).as_deref());
    }

    /// `SET key value EX ttl` (`NX`: only if new, `XX`: only if it exists); whether it was set.
    async fn set(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
        condition: Option<redis::ExistenceCheck>,
    ) -> redis::RedisResult<bool> {
        let mut connection = self.connection.clone();
        let seconds = ttl.as_secs().max(1);
        let mut options = SetOptions::default().with_expiration(SetExpiry::EX(seconds));
        if let Some(condition) = condition {
            options = options.conditional_set(condition);
        }
        let written: Option<String> = connection.set_options(key, value, options).await?;
        Ok(written.is_some())
    }
}

fn connect_error(url: &str, error: &redis::RedisError) -> Error {
    Error::Session(
        format!(
            "could not connect to Redis at {} ({error})",
            logto::web::redacted_url(url)
        )
        .into(),
    )
}

impl TokenStore for RedisStore {
    fn load<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<String>, BoxError>> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            Ok(connection.get(self.record_key(id)).await?)
        })
    }

    fn save<'a>(
        &'a self,
        id: &'a str,
        value: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move {
            self.set(&self.record_key(id), value, ttl, None).await?;
            Ok(())
        })
    }

    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let _: () = connection.del(self.record_key(id)).await?;
            Ok(())
        })
    }

    fn take_prefetched(&self, slot: u64, id: &str) -> Option<Option<String>> {
        self.prefetched.take(slot, id)
    }
}

/// The id of the token record a session's `state` names.
fn named_record(state: &HashMap<String, String>) -> Option<String> {
    serde_json::from_str(state.get(TOKENS_REF)?).ok()
}

/// The Lua pattern that finds the token record's id in a session's stored JSON, whose values
/// are JSON text: the member `"logto.tokens_ref":"\"<id>\""`.
static TOKENS_REF_PATTERN: LazyLock<String> =
    LazyLock::new(|| format!(r#""{}":"\"([%w_-]+)\"""#, TOKENS_REF.replace('.', "%.")));

/// `state` as stored: without the slot of the tokens read with it.
fn stored_state(state: &HashMap<String, String>) -> serde_json::Result<String> {
    if !state.contains_key(SLOT_KEY) {
        return serde_json::to_string(state);
    }
    let kept: HashMap<&String, &String> = state.iter().filter(|(k, _)| *k != SLOT_KEY).collect();
    serde_json::to_string(&kept)
}

impl SessionStore for RedisStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<HashMap<String, String>>, LoadError> {
        let session_key = self.key("session", key.as_ref());
        let Some(loaded) = load_with_tokens(
            &self.connection,
            &self.hints,
            &session_key,
            &self.records,
            &TOKENS_REF_PATTERN,
        )
        .await
        .map_err(|e| LoadError::Other(anyhow::anyhow!(e)))?
        else {
            return Ok(None);
        };
        let parsed = serde_json::from_str::<HashMap<String, String>>(&loaded.session);
        let held = parsed.as_ref().ok().and_then(named_record);
        self.hints
            .remember_loaded(&session_key, &loaded, held.as_deref());
        let mut state = parsed.map_err(|e| LoadError::Deserialization(e.into()))?;
        // Only the id the session holds names the record read with it.
        if let Some((id, tokens)) = loaded.tokens {
            if held.as_deref() == Some(id.as_str()) {
                if let Some(slot) = self.prefetched.park(id, tokens) {
                    state.insert(SLOT_KEY.to_owned(), slot.to_string());
                }
            }
        }
        Ok(Some(state))
    }

    async fn save(
        &self,
        state: HashMap<String, String>,
        ttl: &TimeDuration,
    ) -> Result<SessionKey, SaveError> {
        let value = stored_state(&state).map_err(|e| SaveError::Serialization(e.into()))?;
        loop {
            let id = random_id();
            let session_key = self.key("session", &id);
            let written = self
                .set(
                    &session_key,
                    &value,
                    std_duration(ttl),
                    Some(redis::ExistenceCheck::NX),
                )
                .await
                .map_err(|e| SaveError::Other(e.into()))?;
            // A collision of 128-bit ids is not expected; try another.
            if written {
                self.remember_record(&session_key, Some(&state));
                return SessionKey::try_from(id).map_err(|e| SaveError::Other(e.into()));
            }
        }
    }

    async fn update(
        &self,
        key: SessionKey,
        state: HashMap<String, String>,
        ttl: &TimeDuration,
    ) -> Result<SessionKey, UpdateError> {
        let value = stored_state(&state).map_err(|e| UpdateError::Serialization(e.into()))?;
        let session_key = self.key("session", key.as_ref());
        let written = self
            .set(
                &session_key,
                &value,
                std_duration(ttl),
                Some(redis::ExistenceCheck::XX),
            )
            .await
            .map_err(|e| UpdateError::Other(e.into()))?;
        if written {
            self.remember_record(&session_key, Some(&state));
            return Ok(key);
        }
        self.remember_record(&session_key, None);
        // Expired meanwhile: a new key, as a new session.
        SessionStore::save(self, state, ttl)
            .await
            .map_err(|e| match e {
                SaveError::Serialization(e) => UpdateError::Serialization(e),
                SaveError::Other(e) => UpdateError::Other(e),
            })
    }

    async fn update_ttl(&self, key: &SessionKey, ttl: &TimeDuration) -> anyhow::Result<()> {
        let mut connection = self.connection.clone();
        let seconds = i64::try_from(std_duration(ttl).as_secs().max(1)).unwrap_or(i64::MAX);
        let _: () = connection
            .expire(self.key("session", key.as_ref()), seconds)
            .await?;
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> anyhow::Result<()> {
        let mut connection = self.connection.clone();
        let session_key = self.key("session", key.as_ref());
        let _: () = connection.del(&session_key).await?;
        self.remember_record(&session_key, None);
        Ok(())
    }
}

impl RefreshLock for RedisStore {
    fn lock<'a>(
        &'a self,
        name: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<LockGuard, BoxError>> {
        Box::pin(logto::web::redis_lock::lock(
            &self.connection,
            self.key("lock", name),
            ttl,
        ))
    }
}

//! [`RedisStore`]: a tower-sessions store and a [`RefreshLock`] on one Redis server.

use std::fmt::{self, Write as _};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use logto::web::prefetch::{RecordHints, load_with_tokens};
use logto::{BoxFuture, LockGuard, RefreshLock};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, SetExpiry, SetOptions};
use tower_sessions::cookie::time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use crate::BoxError;
use crate::error::Error;
use crate::storage::{TOKENS_REF, token_record, token_record_text};

/// Sessions in Redis, shared by every process of the app, and the [`RefreshLock`] those processes
/// need. Records are JSON under `<prefix>session:<id>` (token records:
/// `tokens:<expiry>:<tokens>`, the tokens being JSON already) and expire with the session; locks
/// are `<prefix>lock:<name>`. Needs Redis 6.2 or later (a single server: not Redis Cluster). Cheap to
/// clone (one multiplexed connection that reconnects by itself).
///
/// Under [`Logto::layer`](crate::Logto::layer), loading a signed-in session also reads its token
/// record in the same round trip, so a signed-in request costs one round trip to Redis, not two:
/// an `MGET` for a session this process has seen, a short Lua script for the first read of the
/// others. (Wrapped in an [`EncryptedStore`](crate::EncryptedStore), the session
/// is sealed and the token record is read on its own.)
///
/// ```no_run
/// use logto::LogtoConfig;
/// use logto_axum::{Logto, RedisStore};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisStore::connect("redis://127.0.0.1:6379").await?;
/// let config = LogtoConfig::builder("https://tenant.logto.app", "app-id").build()?;
/// let logto = Logto::builder(config, "https://app.example.com")
///     .refresh_lock(store.clone())
///     .build()?;
/// let app: axum::Router = logto.router().layer(logto.layer(store));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    prefix: String,
    /// `<prefix>session:`, the start of every record's key.
    records: String,
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
    /// keys prefixed `logto:`.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        let client = redis::Client::open(url).map_err(|e| connect_error(url, &e))?;
        Self::connect_client(url, client).await
    }

    /// Like [`connect`](Self::connect), for a `rediss://` server whose certificate chains to
    /// `root_certificate_pem` (such as the private CA a managed Redis service hands out) instead
    /// of the system's roots.
    pub async fn connect_with_root_certificate(
        url: &str,
        root_certificate_pem: &[u8],
    ) -> Result<Self, Error> {
        let certificates = redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(root_certificate_pem.to_vec()),
        };
        let client =
            redis::Client::build_with_tls(url, certificates).map_err(|e| connect_error(url, &e))?;
        Self::connect_client(url, client).await
    }

    async fn connect_client(url: &str, client: redis::Client) -> Result<Self, Error> {
        // Retries wait ~0.5 s at most: redis-rs hands `factor` to its backoff as a multiplier of a
        // 1 s base, so its default (100) waits 1 s, then 60 s (the cap), then 60 s… before an
        // unreachable or untrusted server is reported.
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
            hints: Arc::default(),
        };
        Ok(store.with_prefix("logto:"))
    }

    /// Replaces the key prefix (default `logto:`), e.g. to share one Redis database between apps.
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self.records = format!("{}session:", self.prefix);
        self
    }

    fn session_key(&self, id: &Id) -> String {
        // Sized up front: `format!` would grow the key twice.
        let mut key = String::with_capacity(self.records.len() + 24);
        key.push_str(&self.records);
        let _ = write!(key, "{id}");
        key
    }

    fn lock_key(&self, name: &str) -> String {
        format!("{}lock:{name}", self.prefix)
    }

    /// Writes `record`; `only_new`: fails (returns false) when the key exists.
    async fn write(&self, record: &Record, only_new: bool) -> session_store::Result<bool> {
        let key = self.session_key(&record.id);
        let mut connection = self.connection.clone();
        let expires = record.expiry_date.unix_timestamp();
        if expires <= OffsetDateTime::now_utc().unix_timestamp() {
            let _: () = connection.del(&key).await.map_err(backend)?;
            self.hints.remember(&key, None);
            return Ok(true);
        }
        let value = encode(record)?;
        if token_record_text(record).is_none() {
            let named = record
                .data
                .get(TOKENS_REF)
                .and_then(serde_json::Value::as_str);
            self.hints.remember(&key, named);
        }
        let mut options = SetOptions::default().with_expiration(SetExpiry::EXAT(expires as u64));
        if only_new {
            options = options.conditional_set(redis::ExistenceCheck::NX);
        }
        let written: Option<String> = connection
            .set_options(&key, value, options)
            .await
            .map_err(backend)?;
        Ok(written.is_some())
    }
}

/// A session and the token record it names, as [`RedisStore::load_with_tokens`] reads them.
pub(crate) struct WithTokens {
    pub(crate) session: Record,
    /// The token record's id (as the session holds it) and its tokens (`None`: gone or
    /// expired), when the session names one.
    pub(crate) tokens: Option<(String, Option<String>)>,
}

/// The Lua pattern that finds the token record's id in a session's JSON: its member
/// `"logto.tokens_ref":"<id>"`.
static TOKENS_REF_PATTERN: LazyLock<String> =
    LazyLock::new(|| format!(r#""{}":"([%w_-]+)""#, TOKENS_REF.replace('.', "%.")));

impl RedisStore {
    /// Loads session `id` and, in the same round trip, the token record it names (`MGET` when
    /// this store has seen the session, else a script: `EVALSHA`, loaded once).
    pub(crate) async fn load_with_tokens(
        &self,
        id: &Id,
    ) -> session_store::Result<Option<WithTokens>> {
        let session_key = self.session_key(id);
        let Some(mut loaded) = load_with_tokens(
            &self.connection,
            &self.hints,
            &session_key,
            &self.records,
            &TOKENS_REF_PATTERN,
        )
        .await
        .map_err(|e| session_store::Error::Backend(e.to_string()))?
        else {
            return Ok(None);
        };
        let Some(session) = live_record(id, std::mem::take(&mut loaded.session))? else {
            self.hints.remember(&session_key, None);
            return Ok(None);
        };
        let held = session
            .data
            .get(TOKENS_REF)
            .and_then(serde_json::Value::as_str);
        self.hints.remember_loaded(&session_key, &loaded, held);
        // Only the id the session holds, in its canonical form, names the record read with it.
        let tokens = match loaded.tokens {
            Some((raw_ref, value)) if held == Some(raw_ref.as_str()) && is_canonical(&raw_ref) => {
                match value.map(stored).transpose()? {
                    None => Some((raw_ref, None)),
                    Some(Stored::Tokens { expiry, tokens }) => Some((
                        raw_ref,
                        (expiry > OffsetDateTime::now_utc()).then_some(tokens),
                    )),
                    // An older JSON token record: left for the storage to read on its own.
                    Some(Stored::Json(_)) => None,
                }
            }
            _ => None,
        };
        Ok(Some(WithTokens { session, tokens }))
    }
}

/// Whether `raw` is a session id as the store writes it.
fn is_canonical(raw: &str) -> bool {
    raw.parse::<Id>().is_ok_and(|id| id.to_string() == raw)
}

/// How a token record's value starts (a JSON record starts with `{`).
const TOKENS_MARK: &str = "tokens:";

/// `record` as stored: a token record as `tokens:<expiry, unix seconds>:<tokens>` (its tokens are
/// JSON: nested in a JSON record they would be escaped on every write and unescaped on every
/// read), any other as JSON.
fn encode(record: &Record) -> session_store::Result<String> {
    match token_record_text(record) {
        Some(tokens) => Ok(format!(
            "{TOKENS_MARK}{}:{tokens}",
            record.expiry_date.unix_timestamp()
        )),
        None => {
            serde_json::to_string(record).map_err(|e| session_store::Error::Encode(e.to_string()))
        }
    }
}

/// A stored value, told apart by its start.
enum Stored {
    /// A token record: its expiry and its tokens.
    Tokens {
        expiry: OffsetDateTime,
        tokens: String,
    },
    /// Any other record (and token records written by earlier versions): JSON.
    Json(String),
}

/// `value` as stored (a token record's text is moved out of `value`, not copied).
fn stored(mut value: String) -> session_store::Result<Stored> {
    let Some(rest) = value.strip_prefix(TOKENS_MARK) else {
        return Ok(Stored::Json(value));
    };
    let undecodable = || session_store::Error::Decode("a token record without its expiry".into());
    let (expiry, tokens) = rest.split_once(':').ok_or_else(undecodable)?;
    let expiry = expiry
        .parse()
        .ok()
        .and_then(|unix| OffsetDateTime::from_unix_timestamp(unix).ok())
        .ok_or_else(undecodable)?;
    value.drain(..value.len() - tokens.len());
    Ok(Stored::Tokens {
        expiry,
        tokens: value,
    })
}

/// The record `id` stored as `value`, unless it has expired.
fn live_record(id: &Id, value: String) -> session_store::Result<Option<Record>> {
    let record = match stored(value)? {
        Stored::Tokens { expiry, tokens } => token_record(*id, tokens, expiry),
        Stored::Json(value) => {
            serde_json::from_str(&value).map_err(|e| session_store::Error::Decode(e.to_string()))?
        }
    };
    Ok((record.expiry_date > OffsetDateTime::now_utc()).then_some(record))
}

fn backend(error: redis::RedisError) -> session_store::Error {
    session_store::Error::Backend(format!("Redis: {error}"))
}

fn connect_error(url: &str, error: &redis::RedisError) -> Error {
    let tls_hint = if url.starts_with("rediss:") {
        "; over TLS its certificate must chain to the system's roots, or to the root certificate \
         given to RedisStore::connect_with_root_certificate"
    } else {
        ""
    };
    Error::Session(
        format!(
            "could not connect to Redis at {} ({error}){tls_hint}",
            logto::web::redacted_url(url)
        )
        .into(),
    )
}

#[async_trait::async_trait]
impl SessionStore for RedisStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A fresh random id until one is free (a collision of 128-bit ids is not expected).
        while !self.write(record, true).await? {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.write(record, false).await.map(drop)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let mut connection = self.connection.clone();
        let value: Option<String> = connection
            .get(self.session_key(id))
            .await
            .map_err(backend)?;
        value.map_or(Ok(None), |value| live_record(id, value))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let mut connection = self.connection.clone();
        let key = self.session_key(id);
        let _: () = connection.del(&key).await.map_err(backend)?;
        self.hints.remember(&key, None);
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
            self.lock_key(name),
            ttl,
        ))
    }
}

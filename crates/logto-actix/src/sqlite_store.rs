//! [`SqliteStore`]: actix-session sessions and token records in one SQLite database file.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration as TimeDuration;
use logto::BoxFuture;
use rusqlite::{Connection, OptionalExtension, params};

use crate::BoxError;
use crate::error::Error;
use crate::store::{TokenStore, random_id, std_duration};

/// The table of sessions (`session:<key>`) and token records (`record:<id>`).
const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS logto_actix_records (
        key TEXT PRIMARY KEY NOT NULL,
        value TEXT NOT NULL,
        expires INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS logto_actix_records_expires ON logto_actix_records (expires);
";

/// Sessions and token records in a SQLite database file (feature `sqlite`, SQLite compiled in):
/// they survive a restart of the app, for an app running as one process on one machine. Several
/// apps use several processes with `RedisStore` instead.
///
/// Each call runs on tokio's blocking threads, never on the server's. Expired records are deleted
/// whenever a new session starts. Cheap to clone (one connection, shared).
/// Wrap it in an [`EncryptedStore`](crate::EncryptedStore) so that the file holds no token in
/// clear.
///
/// ```no_run
/// use actix_web::App;
/// use logto::LogtoConfig;
/// use logto_actix::{EncryptedStore, Logto, SessionKey, SqliteStore};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let key = SessionKey::from_base64(&std::env::var("SESSION_KEY")?)?;
/// let store = EncryptedStore::new(SqliteStore::open("sessions.sqlite3").await?, key);
/// let config = LogtoConfig::builder("https://tenant.logto.app", "app-id").build()?;
/// let logto = Logto::builder(config, "https://app.example.com").build()?;
/// let app = App::new()
///     .configure(|routes| logto.configure(routes))
///     .wrap(logto.middleware(store));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SqliteStore {
    connection: Arc<Mutex<Connection>>,
    path: Arc<PathBuf>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Now, in milliseconds since the Unix epoch.
fn now() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// When a record written now with `ttl` expires (ms since the epoch).
fn expires(ttl: Duration) -> i64 {
    now().saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX))
}

impl SqliteStore {
    /// Opens (or creates) the database file at `path`, and its table `logto_actix_records`.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref().to_owned();
        let cannot = |e: &dyn fmt::Display, path: &Path| {
            Error::Session(
                format!(
                    "cannot open the session database {} ({e}); check the path and its \
                     permissions",
                    path.display()
                )
                .into(),
            )
        };
        let opened = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || -> rusqlite::Result<Connection> {
                let connection = Connection::open(&path)?;
                connection.busy_timeout(Duration::from_secs(5))?;
                connection.execute_batch(SCHEMA)?;
                Ok(connection)
            })
            .await
        };
        let connection = match opened {
            Ok(Ok(connection)) => connection,
            Ok(Err(e)) => return Err(cannot(&e, &path)),
            Err(e) => return Err(cannot(&e, &path)),
        };
        Ok(SqliteStore {
            connection: Arc::new(Mutex::new(connection)),
            path: Arc::new(path),
        })
    }

    /// Runs `query` on the connection, on a blocking thread.
    async fn run<T, F>(&self, query: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let connection = self.connection.clone();
        let result = tokio::task::spawn_blocking(move || {
            let connection = connection
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            query(&connection)
        })
        .await?;
        Ok(result?)
    }

    async fn get(&self, key: String) -> anyhow::Result<Option<String>> {
        self.run(move |connection| {
            connection
                .query_row(
                    "SELECT value FROM logto_actix_records WHERE key = ?1 AND expires > ?2",
                    params![key, now()],
                    |row| row.get(0),
                )
                .optional()
        })
        .await
    }

    /// Writes `key`; `only_if_live`: only if it exists and has not expired. Whether it was written.
    async fn put(
        &self,
        key: String,
        value: String,
        ttl: Duration,
        only_if_live: bool,
    ) -> anyhow::Result<bool> {
        self.run(move |connection| {
            let written = if only_if_live {
                connection.execute(
                    "UPDATE logto_actix_records SET value = ?2, expires = ?3 \
                     WHERE key = ?1 AND expires > ?4",
                    params![key, value, expires(ttl), now()],
                )?
            } else {
                connection.execute(
                    "INSERT OR REPLACE INTO logto_actix_records (key, value, expires) \
                     VALUES (?1, ?2, ?3)",
                    params![key, value, expires(ttl)],
                )?
            };
            Ok(written > 0)
        })
        .await
    }

    async fn remove(&self, key: String) -> anyhow::Result<()> {
        self.run(move |connection| {
            connection.execute(
                "DELETE FROM logto_actix_records WHERE key = ?1",
                params![key],
            )?;
            Ok(())
        })
        .await
    }
}

fn session_key(key: &str) -> String {
    format!("session:{key}")
}

fn record_key(id: &str) -> String {
    format!("record:{id}")
}

impl TokenStore for SqliteStore {
    fn load<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<String>, BoxError>> {
        Box::pin(async move { Ok(self.get(record_key(id)).await?) })
    }

    fn save<'a>(
        &'a self,
        id: &'a str,
        value: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move {
            self.put(record_key(id), value.to_owned(), ttl, false)
                .await?;
            Ok(())
        })
    }

    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move { Ok(self.remove(record_key(id)).await?) })
    }
}

impl SessionStore for SqliteStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<HashMap<String, String>>, LoadError> {
        let value = self
            .get(session_key(key.as_ref()))
            .await
            .map_err(LoadError::Other)?;
        value
            .map(|value| serde_json::from_str(&value))
            .transpose()
            .map_err(|e| LoadError::Deserialization(e.into()))
    }

    async fn save(
        &self,
        state: HashMap<String, String>,
        ttl: &TimeDuration,
    ) -> Result<SessionKey, SaveError> {
        let value =
            serde_json::to_string(&state).map_err(|e| SaveError::Serialization(e.into()))?;
        let ttl = std_duration(ttl);
        let id = random_id();
        let key = session_key(&id);
        self.run(move |connection| {
            // The expired sessions and records go as new ones come.
            connection.execute(
                "DELETE FROM logto_actix_records WHERE expires <= ?1",
                params![now()],
            )?;
            // A collision of 128-bit ids is not expected: it fails, rather than overwrite.
            connection.execute(
                "INSERT INTO logto_actix_records (key, value, expires) VALUES (?1, ?2, ?3)",
                params![key, value, expires(ttl)],
            )
        })
        .await
        .map_err(SaveError::Other)?;
        SessionKey::try_from(id).map_err(|e| SaveError::Other(e.into()))
    }

    async fn update(
        &self,
        key: SessionKey,
        state: HashMap<String, String>,
        ttl: &TimeDuration,
    ) -> Result<SessionKey, UpdateError> {
        let value =
            serde_json::to_string(&state).map_err(|e| UpdateError::Serialization(e.into()))?;
        let written = self
            .put(session_key(key.as_ref()), value, std_duration(ttl), true)
            .await
            .map_err(UpdateError::Other)?;
        if written {
            return Ok(key);
        }
        // Expired meanwhile: a new key, as a new session.
        SessionStore::save(self, state, ttl)
            .await
            .map_err(|e| match e {
                SaveError::Serialization(e) => UpdateError::Serialization(e),
                SaveError::Other(e) => UpdateError::Other(e),
            })
    }

    async fn update_ttl(&self, key: &SessionKey, ttl: &TimeDuration) -> anyhow::Result<()> {
        let key = session_key(key.as_ref());
        let ttl = std_duration(ttl);
        self.run(move |connection| {
            connection.execute(
                "UPDATE logto_actix_records SET expires = ?2 WHERE key = ?1 AND expires > ?3",
                params![key, expires(ttl), now()],
            )
        })
        .await?;
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> anyhow::Result<()> {
        self.remove(session_key(key.as_ref())).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sessions_and_records_survive_a_reopening_and_expire() {
        let dir = std::env::temp_dir().join(format!("logto-actix-sqlite-{}", random_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("sessions.sqlite3");
        let store = SqliteStore::open(&file).await.unwrap();
        let ttl = TimeDuration::minutes(5);
        let state = HashMap::from([("k".to_owned(), "\"v\"".to_owned())]);
        let key = SessionStore::save(&store, state.clone(), &ttl)
            .await
            .unwrap();
        TokenStore::save(&store, "r", "tokens", Duration::from_secs(60))
            .await
            .unwrap();
        TokenStore::save(&store, "gone", "tokens", Duration::ZERO)
            .await
            .unwrap();
        drop(store);

        let store = SqliteStore::open(&file).await.unwrap();
        let loaded = SessionStore::load(&store, &key).await.unwrap();
        assert_eq!(loaded.as_ref(), Some(&state));
        assert_eq!(
            TokenStore::load(&store, "r").await.unwrap().as_deref(),
            Some("tokens")
        );
        assert_eq!(TokenStore::load(&store, "gone").await.unwrap(), None);
        // Updating keeps the key; a session gone meanwhile gets a new one.
        let key_text = key.as_ref().to_owned();
        let same = SessionStore::update(&store, key, state.clone(), &ttl)
            .await
            .unwrap();
        assert_eq!(same.as_ref(), key_text);
        SessionStore::delete(&store, &same).await.unwrap();
        assert!(SessionStore::load(&store, &same).await.unwrap().is_none());
        let again = SessionStore::update(&store, same, state.clone(), &ttl)
            .await
            .unwrap();
        assert_ne!(again.as_ref(), key_text);
        assert!(SessionStore::load(&store, &again).await.unwrap().is_some());
        TokenStore::delete(&store, "r").await.unwrap();
        assert_eq!(TokenStore::load(&store, "r").await.unwrap(), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_database_that_cannot_be_opened_says_which() {
        let err = SqliteStore::open("/nonexistent-dir/sessions.sqlite3")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent-dir/sessions.sqlite3"), "{err}");
    }
}

//! The sample's settings, from environment variables.

use std::env;

/// Where the sessions live.
pub enum SessionStoreKind {
    /// In this process's memory (one process).
    Memory,
    /// A Redis server shared by every process of the app (`redis://…`, or `rediss://…` over TLS).
    Redis(String),
    /// A SQLite database file on this machine (`sqlite:<path>`): sessions survive a restart.
    Sqlite(std::path::PathBuf),
}

/// The default `SESSION_STORE`.
pub const DEFAULT_SESSION_STORE: &str = "sqlite:web-app-sessions.sqlite3";

/// Everything the app reads from the environment.
pub struct Settings {
    pub endpoint: String,
    pub app_id: String,
    pub app_secret: Option<String>,
    pub scopes: Vec<String>,
    pub resources: Vec<String>,
    pub host: String,
    pub port: u16,
    pub base_url: Option<String>,
    pub session_store: SessionStoreKind,
    /// `SESSION_KEY`: the base64 of 32 bytes that seal the sessions in the store.
    pub session_key: Option<String>,
    /// `SESSION_OLD_KEYS`: keys being rotated out, still accepted to read sessions.
    pub session_old_keys: Vec<String>,
    /// The extra sign-in buttons of the signed-out home page.
    pub connectors: Connectors,
}

/// The sign-in buttons that go past Logto's sign-in page, straight to one connector.
#[derive(Clone, Default)]
pub struct Connectors {
    /// A social connector: its target in Logto (`LOGTO_SOCIAL_TARGET`) and the name to show
    /// (`LOGTO_SOCIAL_NAME`, default: the target).
    pub social: Option<(String, String)>,
    /// An enterprise SSO connector's id (`LOGTO_SSO_CONNECTOR_ID`).
    pub sso_connector_id: Option<String>,
}

pub const HELP: &str = "\
Environment variables:
  LOGTO_ENDPOINT     Logto endpoint, e.g. https://your-tenant.logto.app (required)
  LOGTO_APP_ID       the app id of a \"Traditional web\" application in Logto Console (required)
  LOGTO_APP_SECRET   its app secret
  LOGTO_SCOPES       extra scopes, comma- or space-separated
                     (default: email custom_data identities urn:logto:scope:organizations)
  LOGTO_RESOURCES    API resource indicators, comma- or space-separated
  BASE_URL           the URL users open (default http://localhost:PORT); register BASE_URL/callback
                     as redirect URI and BASE_URL/ as post sign-out redirect URI in Logto Console
  PORT               port to listen on (default 3000; 0 picks a free one)
  HOST               address to listen on (default 127.0.0.1)
  SESSION_STORE      sqlite:<file> (default sqlite:web-app-sessions.sqlite3: sessions survive a
                     restart), memory, or a redis:// (rediss:// for TLS) URL shared by several
                     app processes
  SESSION_KEY        base64 of 32 random bytes (`openssl rand -base64 32`) that encrypt the
                     sessions in SQLite or Redis. Without it: SQLite keeps a generated key in
                     <file>.key; Redis stores sessions in clear (a warning says so)
  SESSION_OLD_KEYS   keys being rotated out, comma-separated: sessions sealed with them still
                     open (and are sealed again with SESSION_KEY)
  LOGTO_SOCIAL_TARGET
                     a social connector's target (its \"Identity provider name\" in Logto
                     Console, e.g. github): adds \"Continue with <name>\", straight to it
  LOGTO_SOCIAL_NAME  the provider's name on that button (default: the target)
  LOGTO_SSO_CONNECTOR_ID
                     an enterprise SSO connector's id: adds \"Sign in with SSO\", straight to it
                     (the work-email SSO form is always there: it opens Logto's SSO page)
Or run scripts/dev.sh, which starts a local test Logto and this app together.";

fn list(value: &str) -> Vec<String> {
    value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

fn var(name: &str) -> Option<String> {
    env::var(name).ok().filter(|value| !value.trim().is_empty())
}

impl Settings {
    pub fn from_env() -> Result<Settings, String> {
        let required = |name: &str| var(name).ok_or_else(|| format!("{name} is not set"));
        let port = match var("PORT") {
            Some(port) => port
                .parse()
                .map_err(|_| format!("PORT={port:?} is not a port number"))?,
            None => 3000,
        };
        let session_store = match var("SESSION_STORE")
            .as_deref()
            .unwrap_or(DEFAULT_SESSION_STORE)
        {
            "memory" => SessionStoreKind::Memory,
            url if url.starts_with("redis://") || url.starts_with("rediss://") => {
                SessionStoreKind::Redis(url.to_owned())
            }
            file if file.starts_with("sqlite:") && file.len() > "sqlite:".len() => {
                SessionStoreKind::Sqlite(file["sqlite:".len()..].into())
            }
            other => {
                return Err(format!(
                    "SESSION_STORE={other:?} must be sqlite:<file>, `memory`, or a redis:// or \
                     rediss:// URL"
                ));
            }
        };
        Ok(Settings {
            endpoint: required("LOGTO_ENDPOINT")?,
            app_id: required("LOGTO_APP_ID")?,
            app_secret: var("LOGTO_APP_SECRET"),
            scopes: list(&var("LOGTO_SCOPES").unwrap_or_else(|| {
                "email custom_data identities urn:logto:scope:organizations".into()
            })),
            resources: list(&var("LOGTO_RESOURCES").unwrap_or_default()),
            host: var("HOST").unwrap_or_else(|| "127.0.0.1".into()),
            port,
            base_url: var("BASE_URL"),
            session_store,
            session_key: var("SESSION_KEY"),
            session_old_keys: list(&var("SESSION_OLD_KEYS").unwrap_or_default()),
            connectors: Connectors {
                social: var("LOGTO_SOCIAL_TARGET").map(|target| {
                    let target = target.trim().to_owned();
                    let name = var("LOGTO_SOCIAL_NAME")
                        .map(|name| name.trim().to_owned())
                        .unwrap_or_else(|| target.clone());
                    (target, name)
                }),
                sso_connector_id: var("LOGTO_SSO_CONNECTOR_ID").map(|id| id.trim().to_owned()),
            },
        })
    }
}

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use url::Url;

use crate::{Error, KeySet, UnverifiedToken, VerifiedToken};

/// Largest JWKS document read from the network.
const MAX_JWKS_BYTES: usize = 512 * 1024;

/// Options of a [`JwksCache`].
///
/// ```
/// use std::time::Duration;
/// use logto_jwt::JwksOptions;
/// let options = JwksOptions::default()
///     .min_refresh_interval(Duration::from_secs(10))
///     .max_retry_interval(Duration::from_secs(120))
///     .max_age(Duration::from_secs(300))
///     .timeout(Duration::from_secs(5))
///     .max_token_len(8 * 1024);
/// assert!(format!("{options:?}").contains("timeout: 5s"));
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct JwksOptions {
    min_refresh_interval: Duration,
    max_retry_interval: Duration,
    max_age: Duration,
    timeout: Duration,
    max_token_len: usize,
}

impl Default for JwksOptions {
    fn default() -> Self {
        JwksOptions {
            min_refresh_interval: Duration::from_secs(30),
            max_retry_interval: Duration::from_secs(300),
            max_age: Duration::from_secs(600),
            timeout: Duration::from_secs(10),
            max_token_len: 16 * 1024,
        }
    }
}

impl JwksOptions {
    /// Shortest time between two fetches of the key set (default 30 s). A
    /// token with an unknown `kid` triggers a refetch only when the previous
    /// fetch is at least this old, so a flood of bad `kid`s costs the issuer
    /// at most one request per interval. Tokens received from the issuer
    /// itself ([`JwksCache::verify_from_issuer`]) are not held back by it.
    pub fn min_refresh_interval(mut self, interval: Duration) -> Self {
        self.min_refresh_interval = interval;
        self
    }

    /// Longest time between two fetches while fetches keep failing (default
    /// 5 min). After a failed fetch the next one waits the minimum refresh
    /// interval, and each further failure doubles the wait, up to this cap;
    /// a successful fetch resets it. This holds across requests (an issuer
    /// answering 5xx gets one request per wait, not one per token), and no
    /// request waits for it: in the meantime, verifications use the keys
    /// held, or fail at once with the last fetch error when none are held.
    /// Tokens received from the issuer itself
    /// ([`JwksCache::verify_from_issuer`]) are not held back by it. Never
    /// shorter than the minimum refresh interval.
    pub fn max_retry_interval(mut self, interval: Duration) -> Self {
        self.max_retry_interval = interval;
        self
    }

    /// How long a fetched key set is used before it is fetched again
    /// (default 10 min), so that a key the issuer removed stops verifying
    /// tokens. The refetch runs in the background: verifications go on with
    /// the keys held until the new set is complete, and keep them if the
    /// fetch fails (retried as [`max_retry_interval`](Self::max_retry_interval)
    /// says). Never
    /// shorter than the minimum refresh interval.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Time limit of one fetch, connection to last byte (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Longest token accepted, in bytes (default 16 KiB).
    pub fn max_token_len(mut self, len: usize) -> Self {
        self.max_token_len = len;
        self
    }
}

/// An issuer's key set, fetched from its `jwks_uri` when first needed,
/// refetched when a token names a key it does not hold (key rotation) and,
/// in the background, once it is older than
/// [`max_age`](JwksOptions::max_age) (key removal).
///
/// * Refetches on unknown keys happen at most once per
///   [`min_refresh_interval`](JwksOptions::min_refresh_interval), except for
///   tokens received from the issuer itself
///   ([`verify_from_issuer`](JwksCache::verify_from_issuer)).
/// * Concurrent misses share one request (single flight).
/// * Verifications with known keys never wait for a fetch: the key set is
///   swapped in when the new one is complete.
/// * Every fetch is bounded by [`timeout`](JwksOptions::timeout); a failed
///   fetch keeps the previous key set. Repeated failures back off
///   exponentially, from the minimum refresh interval up to
///   [`max_retry_interval`](JwksOptions::max_retry_interval).
///
/// Cloning is cheap and clones share the key set.
///
/// The `reqwest::Client` should not follow redirects
/// (`redirect::Policy::none()`).
///
/// ```no_run
/// # async fn run(token: &str) -> Result<(), logto_jwt::Error> {
/// use logto_jwt::{JwksCache, JwksOptions};
/// let jwks = JwksCache::new(
///     "https://tenant.logto.app/oidc/jwks".parse().unwrap(),
///     reqwest::Client::new(),
///     JwksOptions::default(),
/// );
/// let verified = jwks.verify(token).await?;
/// let claims: logto_jwt::RegisteredClaims = verified.claims()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct JwksCache {
    inner: Arc<Inner>,
}

struct Inner {
    uri: Url,
    http: reqwest::Client,
    options: JwksOptions,
    keys: RwLock<Option<Arc<KeySet>>>,
    /// When the key set in force goes stale, in nanoseconds since `created`
    /// (`u64::MAX` while none is held): an atomic, so that the check on
    /// every verification reads shared memory without writing to it.
    stale_at: AtomicU64,
    created: Instant,
    /// Number of completed fetch attempts; lets waiters see that a fetch
    /// happened while they queued.
    attempts: AtomicU64,
    /// Number of key sets stored so far (see [`JwksCache::generation`]).
    generation: AtomicU64,
    /// A background refetch of a stale key set is under way.
    revalidating: AtomicBool,
    fetch: tokio::sync::Mutex<FetchState>,
}

#[derive(Default)]
struct FetchState {
    last_attempt: Option<Instant>,
    last_error: Option<Error>,
    /// Fetches failed in a row since the last successful one.
    failures: u32,
    /// The document the key set in force was read from.
    last_document: Option<Vec<u8>>,
}

impl fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksCache")
            .field("uri", &self.inner.uri.as_str())
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

impl JwksCache {
    /// A cache for the key set at `jwks_uri`. Nothing is fetched until the
    /// first verification (or [`JwksCache::key_set`]).
    #[must_use]
    pub fn new(jwks_uri: Url, http: reqwest::Client, options: JwksOptions) -> JwksCache {
        JwksCache {
            inner: Arc::new(Inner {
                uri: jwks_uri,
                http,
                options,
                keys: RwLock::new(None),
                stale_at: AtomicU64::new(u64::MAX),
                created: Instant::now(),
                attempts: AtomicU64::new(0),
                generation: AtomicU64::new(0),
                revalidating: AtomicBool::new(false),
                fetch: tokio::sync::Mutex::new(FetchState::default()),
            }),
        }
    }

    /// The options in force.
    pub fn options(&self) -> &JwksOptions {
        &self.inner.options
    }

    /// Counts the key sets put in force so far: it changes whenever a
    /// different key set replaces the one in force (a refetch of the same
    /// document leaves it). A result derived from the keys (a cached
    /// verification, say) is current only while the generation is the one
    /// read before it was computed.
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// Starts a background refetch when the key set is older than
    /// [`max_age`](JwksOptions::max_age) (cheap otherwise). Verifications do
    /// this themselves; call it where verified results are reused without
    /// verifying (a cache of validated tokens).
    pub fn refresh_if_stale(&self) {
        let stale =
            self.nanos_since_created(Instant::now()) >= self.inner.stale_at.load(Ordering::Acquire);
        if !stale || self.inner.revalidating.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.inner.revalidating.store(false, Ordering::Release);
            return;
        };
        let cache = self.clone();
        let seen = self.inner.attempts.load(Ordering::Acquire);
        runtime.spawn(async move {
            // Errors are logged by the fetch and leave the keys in force.
            let _ = cache.refresh_after(seen).await;
            cache.inner.revalidating.store(false, Ordering::Release);
        });
    }

    fn nanos_since_created(&self, instant: Instant) -> u64 {
        let nanos = instant
            .saturating_duration_since(self.inner.created)
            .as_nanos();
        u64::try_from(nanos).unwrap_or(u64::MAX)
    }

    /// `after` from now, in nanoseconds since `created`.
    fn deadline(&self, after: Duration) -> u64 {
        Instant::now()
            .checked_add(after)
            .map_or(u64::MAX, |at| self.nanos_since_created(at))
    }

    fn current(&self) -> Option<Arc<KeySet>> {
        match self.inner.keys.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn store(&self, set: Arc<KeySet>) {
        match self.inner.keys.write() {
            Ok(mut g) => *g = Some(set),
            Err(poisoned) => *poisoned.into_inner() = Some(set),
        }
    }

    /// The key set, fetched first if none is held yet.
    ///
    /// # Errors
    /// [`Error::JwksFetch`] or [`Error::InvalidJwks`] when the first fetch
    /// fails.
    pub async fn key_set(&self) -> Result<Arc<KeySet>, Error> {
        let seen = self.inner.attempts.load(Ordering::Acquire);
        if let Some(set) = self.current() {
            self.refresh_if_stale();
            return Ok(set);
        }
        self.refresh_after(seen).await
    }

    /// Parses `token` (refusing it when over the size limit), picks its key
    /// and verifies its signature. Claims are not checked.
    ///
    /// # Errors
    /// Every token error of [`UnverifiedToken::parse`] and
    /// [`UnverifiedToken::verify`], [`Error::UnknownKey`], and the fetch
    /// errors when the key set had to be fetched and could not be.
    pub async fn verify(&self, token: &str) -> Result<VerifiedToken, Error> {
        let unverified = UnverifiedToken::parse(token, self.inner.options.max_token_len)?;
        let seen = self.inner.attempts.load(Ordering::Acquire);
        if let Some(set) = self.current() {
            self.refresh_if_stale();
            match set.verify(&unverified) {
                Err(Error::UnknownKey { .. }) => {}
                result => return result,
            }
        }
        let set = self.refresh_after(seen).await?;
        set.verify(&unverified)
    }

    /// Verifies a token that this program received from the issuer itself:
    /// in the response of the issuer's own token endpoint, over TLS, from
    /// the configured issuer (an ID token of a sign-in or a refresh). Such a
    /// token cannot be part of an attacker's flood of made-up key ids, so
    /// when its key id is not in the held key set, the key set is fetched
    /// again whatever the
    /// [`min_refresh_interval`](JwksOptions::min_refresh_interval) says: the
    /// issuer has just rotated its signing key. Concurrent callers share one
    /// fetch, and a fetch that completed after the caller found the key id
    /// unknown counts as its refetch.
    ///
    /// Tokens from anywhere else (a bearer token sent to an API, a token a
    /// user hands in) go through [`verify`](Self::verify), whose refetches
    /// are rate limited.
    ///
    /// ```no_run
    /// # async fn run(cache: logto_jwt::JwksCache, id_token_from_token_endpoint: &str) -> Result<(), logto_jwt::Error> {
    /// let verified = cache.verify_from_issuer(id_token_from_token_endpoint).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Those of [`verify`](Self::verify), except that when the refetch
    /// fails and the key is still unknown, the fetch's error
    /// ([`Error::JwksFetch`], [`Error::InvalidJwks`]: see
    /// [`Error::is_key_source_error`]) comes back instead of
    /// [`Error::UnknownKey`]: the token could not be checked, which says
    /// nothing against it.
    pub async fn verify_from_issuer(&self, token: &str) -> Result<VerifiedToken, Error> {
        let unverified = UnverifiedToken::parse(token, self.inner.options.max_token_len)?;
        let seen = self.inner.attempts.load(Ordering::Acquire);
        if let Some(set) = self.current() {
            self.refresh_if_stale();
            match set.verify(&unverified) {
                Err(Error::UnknownKey { .. }) => {}
                result => return result,
            }
        }
        let (set, fetch_error) = self.refetch_after(seen).await;
        let verified = match &set {
            Some(set) => set.verify(&unverified),
            None => Err(Error::JwksFetch("no key set fetched yet".into())),
        };
        match (verified, fetch_error) {
            (Err(Error::UnknownKey { .. }), Some(fetch_error)) => Err(fetch_error),
            (result, _) => result,
        }
    }

    /// Fetches a new key set unless one was fetched since `seen` or within
    /// the minimum interval; returns the key set then in force.
    async fn refresh_after(&self, seen: u64) -> Result<Arc<KeySet>, Error> {
        let mut state = self.inner.fetch.lock().await;
        let fetched_meanwhile = self.inner.attempts.load(Ordering::Acquire) != seen;
        let wait = self.retry_wait(state.failures);
        let too_soon = state.last_attempt.is_some_and(|t| t.elapsed() < wait);
        if fetched_meanwhile || too_soon {
            return match (self.current(), &state.last_error) {
                (Some(set), _) => Ok(set),
                (None, Some(e)) => Err(e.clone()),
                (None, None) => Err(Error::JwksFetch("no key set fetched yet".into())),
            };
        }
        match self.fetch_locked(&mut state).await {
            Ok(set) => Ok(set),
            // Keep serving the previous keys (a stale set is tried again
            // after the retry wait); the caller sees the token's own
            // error (unknown key) rather than ours.
            Err(e) => self.current().ok_or(e),
        }
    }

    /// Fetches a new key set unless a fetch completed since `seen`, whatever
    /// the minimum interval; returns the key set then in force (if any) and
    /// the error of the fetch that counted (`None` when it succeeded).
    async fn refetch_after(&self, seen: u64) -> (Option<Arc<KeySet>>, Option<Error>) {
        let mut state = self.inner.fetch.lock().await;
        if self.inner.attempts.load(Ordering::Acquire) == seen {
            // The error is kept in the state, read below.
            let _ = self.fetch_locked(&mut state).await;
        }
        (self.current(), state.last_error.clone())
    }

    /// One fetch attempt, with the fetch lock held: puts the new key set in
    /// force, or records the error and keeps the previous keys. Only a
    /// completed attempt counts: one whose caller went away midway (a client
    /// that hung up) leaves no trace, so the next caller fetches at once
    /// rather than waiting out the minimum interval with no keys.
    async fn fetch_locked(&self, state: &mut FetchState) -> Result<Arc<KeySet>, Error> {
        let started = Instant::now();
        let fetched = self.fetch().await;
        state.last_attempt = Some(started);
        let result = match fetched {
            Ok(document) => self.adopt(state, document),
            Err(e) => Err(e),
        };
        match &result {
            Ok(_) => {
                let options = &self.inner.options;
                let max_age = options.max_age.max(options.min_refresh_interval);
                self.inner
                    .stale_at
                    .store(self.deadline(max_age), Ordering::Release);
                state.last_error = None;
                state.failures = 0;
            }
            Err(e) => {
                tracing::warn!(error = %e, uri = %self.inner.uri, "JWKS fetch failed");
                state.last_error = Some(e.clone());
                state.failures = state.failures.saturating_add(1);
                if self.current().is_some() {
                    // A stale set is tried again after the retry wait.
                    let retry = self.deadline(self.retry_wait(state.failures));
                    self.inner.stale_at.fetch_max(retry, Ordering::AcqRel);
                }
            }
        }
        self.inner.attempts.fetch_add(1, Ordering::AcqRel);
        result
    }

    /// How long after a fetch attempt the next one may start, when the last
    /// `failures` attempts failed: the minimum refresh interval, doubled per
    /// failure after the first, up to the maximum retry interval.
    fn retry_wait(&self, failures: u32) -> Duration {
        let options = &self.inner.options;
        let min = options.min_refresh_interval;
        let cap = options.max_retry_interval.max(min);
        let doublings = failures.saturating_sub(1).min(31);
        min.saturating_mul(1 << doublings).min(cap)
    }

    /// Puts the key set of a fetched `document` in force, unless it is the
    /// document already in force: then the generation stays, and so do
    /// results derived from it.
    fn adopt(&self, state: &mut FetchState, document: Vec<u8>) -> Result<Arc<KeySet>, Error> {
        if state.last_document.as_ref() == Some(&document) {
            if let Some(set) = self.current() {
                return Ok(set);
            }
        }
        let set = KeySet::from_json(&document)?;
        if set.is_empty() {
            return Err(Error::InvalidJwks("no usable signature key".into()));
        }
        let set = Arc::new(set);
        self.store(set.clone());
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
        state.last_document = Some(document);
        Ok(set)
    }

    /// The JWKS document, within the size limit and the timeout.
    async fn fetch(&self) -> Result<Vec<u8>, Error> {
        let timeout = self.inner.options.timeout;
        match tokio::time::timeout(timeout, self.fetch_inner(timeout)).await {
            Ok(r) => r,
            Err(_) => Err(Error::JwksFetch(format!("timed out after {timeout:?}"))),
        }
    }

    async fn fetch_inner(&self, timeout: Duration) -> Result<Vec<u8>, Error> {
        tracing::debug!(uri = %self.inner.uri, "fetching JWKS");
        let response = self
            .inner
            .http
            .get(self.inner.uri.clone())
            .header(
                reqwest::header::ACCEPT,
                "application/json, application/jwk-set+json",
            )
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| Error::JwksFetch(describe(&e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(Error::JwksFetch(format!("HTTP status {status}")));
        }
        crate::http::read_capped(response, MAX_JWKS_BYTES)
            .await
            .map_err(|e| match e {
                crate::http::ReadError::Network(e) => Error::JwksFetch(describe(&e)),
                _ => Error::InvalidJwks("document too large".into()),
            })
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if crate::http::is_certificate_error(e) {
        "the server's certificate is not trusted; pass its CA with .root_certificate(pem)".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else if e.is_redirect() {
        "redirect refused".into()
    } else {
        // Strip the URL (already known) to keep messages short.
        e.without_url_ref().to_string()
    }
}

trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let mut s = self.to_string();
        if let Some(url) = self.url() {
            s = s.replace(url.as_str(), "<jwks_uri>");
        }
        s
    }
}

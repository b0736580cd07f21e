//! When a signed-in session is renewed: a session, its token record and its back-channel logout
//! index expire a session TTL after they were last written, and an active user must not be signed
//! out because the session has not changed lately (a session store writes a session back only
//! when it changed). So an adapter renews a signed-in session once a tenth of its TTL has passed
//! since the last renewal (or the sign-in): it writes the tokens again
//! ([`LogtoClient::store_tokens_again`](crate::LogtoClient::store_tokens_again)), indexes the
//! session again for back-channel logout, and records the time under [`RENEWED_AT`], which
//! changes the session, so the session store writes it with a fresh expiry (and the browser gets a
//! fresh cookie).
//!
//! A session therefore lives between nine tenths of its TTL and its whole TTL after the last
//! request, at the cost of a few writes per session per tenth of the TTL, never on every request.
//!
//! A session that holds nothing but a pending sign-in (no tokens, none of the app's own values)
//! is stored to expire [`PENDING_SESSION_TTL`] after it was last written, or after its TTL if
//! that is shorter; once a sign-in stored its tokens, it expires after its TTL.

use std::time::Duration;

/// The session key holding when the session was last renewed (Unix seconds).
pub const RENEWED_AT: &str = "logto.renewed_at";

/// How long a session holding nothing but a pending sign-in lives after it was last written
/// (15 minutes): longer than a pending sign-in is valid (10 minutes), so that sign-ins that are
/// never completed (a bot requesting the sign-in route) leave nothing in the store for long.
pub const PENDING_SESSION_TTL: Duration = Duration::from_secs(15 * 60);

/// Whether a session whose keys are `keys` holds nothing but a pending sign-in (and so expires
/// after [`PENDING_SESSION_TTL`]): only Logto's own keys, the adapter's `return_to_key` (the
/// pages to land on) among them, and no token record (not signed in) nor any value of the app.
///
/// ```
/// use logto::web::renewal::holds_only_a_pending_sign_in;
/// assert!(holds_only_a_pending_sign_in(["logto.sign_in_session", "app.return_to"], "app.return_to"));
/// assert!(!holds_only_a_pending_sign_in(["logto.sign_in_session", "cart"], "app.return_to"));
/// ```
pub fn holds_only_a_pending_sign_in<'a>(
    keys: impl IntoIterator<Item = &'a str>,
    return_to_key: &str,
) -> bool {
    keys.into_iter().all(|key| {
        [
            crate::StorageKey::SignInSession.as_str(),
            return_to_key,
            RENEWED_AT,
            super::prefetch::SLOT_KEY,
        ]
        .contains(&key)
    })
}

/// Whether a signed-in session last renewed at `renewed_at` (Unix seconds; `None`: never, as
/// for a session signed in before renewals were recorded) is due for renewal at `now`, given its
/// `ttl`.
///
/// ```
/// use std::time::Duration;
/// use logto::web::renewal::is_due;
///
/// let day = 24 * 3600;
/// let ttl = Duration::from_secs(14 * day);
/// assert!(!is_due(Some(1_000_000), 1_000_000 + day, ttl));
/// assert!(is_due(Some(1_000_000), 1_000_000 + 2 * day, ttl));
/// assert!(is_due(None, 1_000_000, ttl));
/// ```
pub fn is_due(renewed_at: Option<u64>, now: u64, ttl: Duration) -> bool {
    let every = (ttl.as_secs() / 10).max(1);
    match renewed_at {
        // Stamped by a process whose clock is ahead of this one's: due once this clock has
        // caught up, unless the stamp is further ahead than any clock skew (then renew now).
        Some(renewed_at) if renewed_at > now => renewed_at - now > every,
        Some(renewed_at) => now - renewed_at >= every,
        None => true,
    }
}

/// Now, in Unix seconds.
pub fn now() -> u64 {
    crate::protocol::now_unix()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_renewed_once_a_tenth_of_its_ttl_has_passed() {
        let ttl = Duration::from_secs(600);
        assert!(!is_due(Some(1000), 1000, ttl));
        assert!(!is_due(Some(1000), 1059, ttl));
        assert!(is_due(Some(1000), 1060, ttl));
        // Stamped a little ahead (another process's clock): not due; far ahead: due.
        assert!(!is_due(Some(1000), 999, ttl));
        assert!(is_due(Some(1000), 939, ttl));
        assert!(is_due(None, 1000, ttl));
        // A TTL under ten seconds renews at most once a second; the largest does not overflow.
        assert!(!is_due(Some(1000), 1000, Duration::from_secs(3)));
        assert!(is_due(Some(1000), 1001, Duration::from_secs(3)));
        assert!(!is_due(Some(0), u64::MAX / 20, Duration::MAX));
    }
}

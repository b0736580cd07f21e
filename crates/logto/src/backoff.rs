//! Backing off from a failing Logto, across every request of a process.
//!
//! When Logto fails (5xx, unreachable, timed out), each request that would otherwise retry at
//! once, adding load to a server that is already struggling, is answered at once with
//! [`LogtoError::Unavailable`] instead, until a wait has passed: the first wait, doubled per
//! further failure up to the maximum, or Logto's own `Retry-After` (within the maximum). Then one
//! request goes through; the others keep failing fast until it is back. Any answer that is not a
//! server failure (a success, an OAuth error) ends the back-off.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::LogtoError;

/// The back-off state shared by the requests to one Logto.
#[derive(Debug)]
pub(crate) struct Backoff {
    first_wait: Duration,
    max_wait: Duration,
    /// How long a request that probes a failing Logto may take before another may probe.
    probe_time: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    failures: u32,
    /// No request is sent before this instant.
    closed_until: Option<Instant>,
}

/// What the outcome of a request says about Logto's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Logto answered (whatever it said, short of a server failure).
    Answered,
    /// Logto failed: a 5xx, no connection, a timeout; with its `Retry-After`, when it sent one.
    Failed { retry_after: Option<Duration> },
}

impl Backoff {
    pub(crate) fn new(first_wait: Duration, max_wait: Duration, probe_time: Duration) -> Self {
        Backoff {
            first_wait,
            max_wait: max_wait.max(first_wait),
            probe_time,
            state: Mutex::new(State::default()),
        }
    }

    /// Lets a request for `operation` go, or refuses it while backing off. A request let through
    /// after failures is the probe: the others are refused while it runs.
    pub(crate) fn admit(&self, operation: &'static str) -> Result<(), LogtoError> {
        let now = Instant::now();
        let mut state = self.lock();
        if let Some(until) = state.closed_until {
            if now < until {
                return Err(LogtoError::Unavailable {
                    operation,
                    retry_after: until - now,
                });
            }
            state.closed_until = Some(now + self.probe_time);
        }
        Ok(())
    }

    /// Records what a request's outcome says about Logto.
    pub(crate) fn record(&self, outcome: Outcome) {
        let mut state = self.lock();
        match outcome {
            Outcome::Answered => *state = State::default(),
            Outcome::Failed { retry_after } => {
                state.failures = state.failures.saturating_add(1);
                let doubled = self
                    .first_wait
                    .saturating_mul(1u32 << state.failures.saturating_sub(1).min(20));
                let wait = retry_after.unwrap_or(doubled).min(self.max_wait);
                state.closed_until = Instant::now().checked_add(wait);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a pair of plain values, valid whatever a panicking holder did.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn failed() -> Outcome {
        Outcome::Failed { retry_after: None }
    }

    #[test]
    fn a_failure_closes_for_the_wait_and_doubles_up_to_the_cap() {
        let backoff = Backoff::new(SECOND, 4 * SECOND, 10 * SECOND);
        backoff.admit("token request").unwrap();
        backoff.record(failed());
        match backoff.admit("token request") {
            Err(LogtoError::Unavailable { retry_after, .. }) => {
                assert!(retry_after <= SECOND && retry_after > SECOND / 2)
            }
            other => panic!("{other:?}"),
        }
        for expected in [2, 4, 4, 4] {
            backoff.record(failed());
            let Err(LogtoError::Unavailable { retry_after, .. }) = backoff.admit("x") else {
                panic!("open")
            };
            assert!(
                retry_after > (expected * SECOND) - SECOND / 2,
                "{retry_after:?}"
            );
            assert!(retry_after <= expected * SECOND, "{retry_after:?}");
        }
    }

    #[test]
    fn an_answer_opens_and_retry_after_is_honoured_within_the_cap() {
        let backoff = Backoff::new(SECOND, 30 * SECOND, 10 * SECOND);
        backoff.record(Outcome::Failed {
            retry_after: Some(Duration::from_secs(3600)),
        });
        let Err(LogtoError::Unavailable { retry_after, .. }) = backoff.admit("x") else {
            panic!("open")
        };
        assert!(retry_after > 29 * SECOND && retry_after <= 30 * SECOND);
        backoff.record(Outcome::Answered);
        backoff.admit("x").unwrap();
        backoff.admit("x").unwrap();
    }

    #[test]
    fn after_the_wait_one_probe_goes_and_the_others_wait_for_it() {
        let backoff = Backoff::new(Duration::ZERO, Duration::ZERO, 10 * SECOND);
        backoff.record(failed());
        backoff.admit("probe").unwrap();
        assert!(matches!(
            backoff.admit("another"),
            Err(LogtoError::Unavailable { .. })
        ));
        backoff.record(Outcome::Answered);
        backoff.admit("another").unwrap();
    }
}

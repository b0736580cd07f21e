//! [`StoreFaults`]: faults a test injects into the deletions of an app's session store.

use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// Faults for the next deletion of a record by an app's session store: held until released, or
/// failed. Each integration's tests wrap their store so that its deletions of records (a token
/// record, a back-channel logout's index) first await [`before_delete`](Self::before_delete).
/// Cheap to clone; clones share the faults.
#[derive(Clone, Debug, Default)]
pub struct StoreFaults(Arc<Faults>);

#[derive(Debug, Default)]
struct Faults {
    next: Mutex<Option<Fault>>,
    held: Notify,
    released: Notify,
}

#[derive(Clone, Copy, Debug)]
enum Fault {
    Hold,
    Fail,
}

impl StoreFaults {
    /// Holds the next deletion until [`release_delete`](Self::release_delete).
    pub fn hold_next_delete(&self) {
        *self.next() = Some(Fault::Hold);
    }

    /// Returns once a deletion is held (see [`hold_next_delete`](Self::hold_next_delete)).
    pub async fn wait_for_held_delete(&self) {
        self.0.held.notified().await;
    }

    /// Lets the held deletion go on.
    pub fn release_delete(&self) {
        self.0.released.notify_one();
    }

    /// Fails the next deletion (with nothing deleted).
    pub fn fail_next_delete(&self) {
        *self.next() = Some(Fault::Fail);
    }

    /// For the store's wrapper, before each deletion: waits while the deletion is held; `Err`
    /// when it must fail instead.
    pub async fn before_delete(&self) -> Result<(), String> {
        let fault = self.next().take();
        match fault {
            None => Ok(()),
            Some(Fault::Hold) => {
                self.0.held.notify_one();
                self.0.released.notified().await;
                Ok(())
            }
            Some(Fault::Fail) => Err("the test's store failed a deletion".to_owned()),
        }
    }

    fn next(&self) -> std::sync::MutexGuard<'_, Option<Fault>> {
        self.0
            .next
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

//! Locking a simulator's shared state.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`. A handler that panicked while holding it left the state as it was then;
/// the simulator goes on serving it rather than failing every later request.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

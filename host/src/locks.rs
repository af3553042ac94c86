//! One-at-a-time access per key while other keys proceed in parallel: BigCommerce refuses
//! a refund on an order that has one in progress, so refund calls for one order are
//! serialised; a shopper seen in two orders worked at once is matched to a QAD customer
//! (or created as one) by one of them, which the other then finds.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// A lock per key, created on demand and dropped when nobody holds or waits for it.
#[derive(Debug)]
pub struct KeyedLocks<K> {
    locks: Mutex<HashMap<K, Arc<AsyncMutex<()>>>>,
}

/// Held while working on one key; the next caller for the key waits until it drops.
#[derive(Debug)]
pub struct KeyGuard<'a, K: Hash + Eq> {
    owner: &'a KeyedLocks<K>,
    key: K,
    guard: Option<OwnedMutexGuard<()>>,
}

impl<K> Default for KeyedLocks<K> {
    fn default() -> Self {
        KeyedLocks {
            locks: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq + Clone> KeyedLocks<K> {
    pub fn new() -> KeyedLocks<K> {
        KeyedLocks::default()
    }

    /// Waits for exclusive use of `key`.
    pub async fn lock(&self, key: K) -> KeyGuard<'_, K> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
            locks.entry(key.clone()).or_default().clone()
        };
        let guard = lock.lock_owned().await;
        KeyGuard {
            owner: self,
            key,
            guard: Some(guard),
        }
    }

    /// Keys with a lock entry (held or waited for).
    pub fn len(&self) -> usize {
        self.locks.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: Hash + Eq> Drop for KeyGuard<'_, K> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut locks = self.owner.locks.lock().unwrap_or_else(|e| e.into_inner());
        // Only the map holds it now: nobody holds or waits for this key.
        if locks
            .get(&self.key)
            .is_some_and(|lock| Arc::strong_count(lock) == 1)
        {
            locks.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn calls_for_one_key_run_one_at_a_time_and_other_keys_in_parallel() {
        let locks = Arc::new(KeyedLocks::<u64>::new());
        let busy = Arc::new(AtomicU32::new(0));
        let most = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for order in [7, 7, 7, 8] {
            let (locks, busy, most) = (locks.clone(), busy.clone(), most.clone());
            tasks.push(tokio::spawn(async move {
                let _guard = locks.lock(order).await;
                if order == 7 {
                    let now = busy.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                if order == 7 {
                    busy.fetch_sub(1, Ordering::SeqCst);
                }
            }));
        }
        let start = tokio::time::Instant::now();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(
            most.load(Ordering::SeqCst),
            1,
            "two refunds of order 7 overlapped"
        );
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(3),
            "order 7 three times in a row; order 8 alongside"
        );
        assert!(locks.is_empty(), "locks are dropped when released");
    }
}

//! One-at-a-time access per order: BigCommerce refuses a refund on an order that has one
//! in progress, so refund calls for one order are serialised while different orders
//! proceed in parallel.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// A lock per order id, created on demand and dropped when nobody holds or waits for it.
#[derive(Debug, Default)]
pub struct OrderLocks {
    locks: Mutex<HashMap<u64, Arc<AsyncMutex<()>>>>,
}

/// Held while working on one order; the next caller for the order waits until it drops.
#[derive(Debug)]
pub struct OrderGuard<'a> {
    owner: &'a OrderLocks,
    order: u64,
    guard: Option<OwnedMutexGuard<()>>,
}

impl OrderLocks {
    pub fn new() -> OrderLocks {
        OrderLocks::default()
    }

    /// Waits for exclusive use of `order`.
    pub async fn lock(&self, order: u64) -> OrderGuard<'_> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
            locks.entry(order).or_default().clone()
        };
        let guard = lock.lock_owned().await;
        OrderGuard {
            owner: self,
            order,
            guard: Some(guard),
        }
    }

    /// Orders with a lock entry (held or waited for).
    pub fn len(&self) -> usize {
        self.locks.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for OrderGuard<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut locks = self.owner.locks.lock().unwrap_or_else(|e| e.into_inner());
        // Only the map holds it now: nobody holds or waits for this order.
        if locks
            .get(&self.order)
            .is_some_and(|lock| Arc::strong_count(lock) == 1)
        {
            locks.remove(&self.order);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn calls_for_one_order_run_one_at_a_time_and_other_orders_in_parallel() {
        let locks = Arc::new(OrderLocks::new());
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

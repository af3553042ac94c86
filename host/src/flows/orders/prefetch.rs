//! What the last poll read: its orders (with their lines), refunds and the accounts of the
//! registered shoppers not yet matched to a QAD customer, handed to the jobs it queued so
//! they read only what the list does not carry, and when that read began (a job's result
//! covers the jobs of its order queued before then).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::OrderFlow;
use crate::bigcommerce;
use crate::bigcommerce::customers::Customer;
use crate::bigcommerce::orders::{FullOrder, RefundsByOrder};
use crate::flows::FlowError;
use crate::store::Millis;

/// What the last poll read.
#[derive(Default)]
pub(super) struct Prefetched {
    orders: HashMap<u64, bigcommerce::Order>,
    refunds: Arc<RefundsByOrder>,
    /// Registered shoppers of `orders` that had no QAD customer, by id.
    shoppers: HashMap<u64, Customer>,
    /// When the poll that read `orders` began reading.
    read_at: Option<Millis>,
    /// When a poll still reading began.
    reading_since: Option<Millis>,
}

impl OrderFlow {
    /// Remembers what a poll read, replacing what the previous poll left, with the accounts
    /// of the orders' registered shoppers who have no QAD customer yet (read here, a
    /// hundred to a request, rather than one by one by their orders' jobs).
    pub async fn prefetch(
        &self,
        orders: Vec<bigcommerce::Order>,
        refunds: RefundsByOrder,
    ) -> Result<(), FlowError> {
        let registered: BTreeSet<u64> = orders
            .iter()
            .filter(|o| !o.is_guest())
            .map(|o| o.customer_id)
            .collect();
        let mut unmatched = Vec::new();
        for id in registered {
            if self.registered_code(id).await?.is_none() {
                unmatched.push(id);
            }
        }
        // Only a saving: when the read fails, each job reads its shopper's account.
        let shoppers = if unmatched.is_empty() {
            Vec::new()
        } else {
            self.source
                .customers(&unmatched)
                .await
                .unwrap_or_else(|error| {
                    tracing::warn!(
                        connection = %self.connection,
                        %error,
                        "the poll's shoppers could not be read; their orders' jobs will read them"
                    );
                    Vec::new()
                })
        };
        let mut prefetched = self.prefetched.lock().unwrap_or_else(|e| e.into_inner());
        prefetched.orders = orders.into_iter().map(|o| (o.id, o)).collect();
        prefetched.refunds = Arc::new(refunds);
        prefetched.shoppers = shoppers.into_iter().map(|c| (c.id, c)).collect();
        prefetched.read_at = prefetched.reading_since.take();
        Ok(())
    }

    /// A registered shopper's account: from the last poll's read when it has it, else read
    /// now (`None` when the store has no such customer).
    pub(super) async fn shopper_account(&self, id: u64) -> Result<Option<Customer>, FlowError> {
        let known = {
            let prefetched = self.prefetched.lock().unwrap_or_else(|e| e.into_inner());
            prefetched.shoppers.get(&id).cloned()
        };
        Ok(match known {
            Some(account) => Some(account),
            None => self.source.customers(&[id]).await?.into_iter().next(),
        })
    }

    /// A poll begins reading at `at` (its read will be handed to [`OrderFlow::prefetch`]).
    pub fn begin_poll(&self, at: Millis) {
        let mut prefetched = self.prefetched.lock().unwrap_or_else(|e| e.into_inner());
        prefetched.reading_since = Some(at);
    }

    /// The oldest moment the data a job starting `now` may use was read: now, or the
    /// start of the poll whose read it may be given.
    pub fn read_since(&self, now: Millis) -> Millis {
        let prefetched = self.prefetched.lock().unwrap_or_else(|e| e.into_inner());
        [Some(now), prefetched.read_at, prefetched.reading_since]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now)
    }

    /// The order in full: from the last poll's read when it has it (only the parts the
    /// list does not carry are asked for), else read now.
    pub(super) async fn read_order(&self, order_id: u64) -> Result<Option<FullOrder>, FlowError> {
        let known = {
            let prefetched = self.prefetched.lock().unwrap_or_else(|e| e.into_inner());
            prefetched
                .orders
                .get(&order_id)
                .cloned()
                .map(|order| (order, prefetched.refunds.clone()))
        };
        Ok(match known {
            Some((order, refunds)) => Some(self.source.complete_order(order, &refunds).await?),
            None => self.source.full_order(order_id).await?,
        })
    }
}

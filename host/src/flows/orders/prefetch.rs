//! What the poll read that its jobs may use instead of reading it again: the refunds it
//! listed across orders and the accounts of the registered shoppers not yet matched to a
//! QAD customer. The orders themselves travel in their jobs ([`Listing`]), so a backlog
//! of any size is never held in memory.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::OrderFlow;
use crate::bigcommerce;
use crate::bigcommerce::customers::Customer;
use crate::bigcommerce::orders::{FullOrder, RefundsByOrder};
use crate::flows::FlowError;
use crate::flows::jobs::Listing;
use crate::store::Revision;

/// What the last poll read.
#[derive(Default)]
pub(super) struct Prefetched {
    refunds: Arc<RefundsByOrder>,
    /// Registered shoppers of the poll's orders that had no QAD customer, by id.
    shoppers: HashMap<u64, Customer>,
}

impl OrderFlow {
    /// A poll begins: what the previous one left is forgotten, and the refunds it listed
    /// are kept for the orders' jobs.
    pub fn begin_poll(&self, refunds: Arc<RefundsByOrder>) {
        let mut prefetched = self.prefetched.lock().unwrap_or_else(|e| e.into_inner());
        prefetched.refunds = refunds;
        prefetched.shoppers.clear();
    }

    /// Reads the accounts of a page's registered shoppers who have no QAD customer yet (a
    /// hundred to a request, rather than one by one by their orders' jobs).
    pub async fn prefetch_shoppers(&self, orders: &[bigcommerce::Order]) -> Result<(), FlowError> {
        let registered: BTreeSet<u64> = {
            let prefetched = self.prefetched.lock().unwrap_or_else(|e| e.into_inner());
            orders
                .iter()
                .filter(|o| !o.is_guest() && !prefetched.shoppers.contains_key(&o.customer_id))
                .map(|o| o.customer_id)
                .collect()
        };
        let mut unmatched = Vec::new();
        for id in registered {
            if self.registered_code(id).await?.is_none() {
                unmatched.push(id);
            }
        }
        if unmatched.is_empty() {
            return Ok(());
        }
        // Only a saving: when the read fails, each job reads its shopper's account.
        let shoppers = self
            .source
            .customers(&unmatched)
            .await
            .unwrap_or_else(|error| {
                tracing::warn!(
                    connection = %self.connection,
                    %error,
                    "the poll's shoppers could not be read; their orders' jobs will read them"
                );
                Vec::new()
            });
        let mut prefetched = self.prefetched.lock().unwrap_or_else(|e| e.into_inner());
        prefetched
            .shoppers
            .extend(shoppers.into_iter().map(|c| (c.id, c)));
        Ok(())
    }

    /// A registered shopper's account: from the poll's read when it has it, else read
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

    /// The order of `subject` in full: completed from `listed` when given and not outrun
    /// by a posting since ([`Self::unless_outrun`]; only the parts the list does not carry
    /// are asked for), else read now. With it, the revisions of `subject` when they were
    /// read to tell.
    pub(super) async fn read_order(
        &self,
        subject: &str,
        order_id: u64,
        listed: Option<&Listing>,
    ) -> Result<(Option<FullOrder>, Option<Vec<Revision>>), FlowError> {
        let (listed, revisions) = self.unless_outrun(subject, listed).await?;
        let Some(listed) = listed else {
            return Ok((self.source.full_order(order_id).await?, revisions));
        };
        let order = match bigcommerce::Order::from_raw("/v2/orders", &listed.order) {
            Ok(order) if order.id == order_id => order,
            // Not the job's order as a list gives it: read it instead.
            _ => {
                tracing::warn!(
                    connection = %self.connection,
                    order_id,
                    "the job's listing is not its order; reading the order"
                );
                return Ok((self.source.full_order(order_id).await?, revisions));
            }
        };
        let refunds = {
            let prefetched = self.prefetched.lock().unwrap_or_else(|e| e.into_inner());
            prefetched.refunds.clone()
        };
        let full = self.source.complete_order(order, &refunds).await?;
        Ok((Some(full), revisions))
    }

    /// `listed`, unless a revision of `subject` began after it was read (or up to
    /// [`OUTRUN_MARGIN`] before): a job queued before the poll's, run first, may have read
    /// the order anew and posted a newer state than the listing holds, which the listing
    /// would take back. Such a job reads the order again. With it, the revisions read to
    /// tell (none without a listing).
    async fn unless_outrun<'a>(
        &self,
        subject: &str,
        listed: Option<&'a Listing>,
    ) -> Result<(Option<&'a Listing>, Option<Vec<Revision>>), FlowError> {
        let Some(listing) = listed else {
            return Ok((None, None));
        };
        let revisions = self.store.revisions(&self.connection, subject).await?;
        let outrun = revisions
            .last()
            .is_some_and(|last| last.at + OUTRUN_MARGIN > listing.read_at);
        Ok(((!outrun).then_some(listing), Some(revisions)))
    }
}

/// How much earlier than a listing's read the last revision must have begun for the
/// listing to be used: the two times are read from the clocks of the replicas that polled
/// and posted, which may differ by up to this.
const OUTRUN_MARGIN: crate::store::Millis = 5 * 60 * 1000;

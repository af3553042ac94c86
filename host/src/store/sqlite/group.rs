//! Group commit for the embedded store. Writes that arrive while a transaction commits
//! wait in a queue; the next writer to get the connection runs every waiting write in one
//! transaction, each in a savepoint of its own, so the disk is synced once for all of them.
//! A write's caller is answered only after the transaction that holds it has committed, or
//! with why it did not: a write that fails (or panics) is rolled back to its savepoint and
//! answered with its own error while the others commit; a transaction that fails as a whole
//! answers each of its writes with that failure, and nothing of theirs is on disk.
//!
//! One writer alone costs what it did before (one transaction, no savepoint); several
//! documents in flight (the worker runs a batch's jobs at once) and webhooks arriving
//! together share their fsync.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::mpsc::{SyncSender, TryRecvError, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::store::{Millis, StoreError};

/// The writes waiting for the next transaction.
#[derive(Default)]
pub(super) struct Queue {
    waiting: Mutex<Vec<Box<dyn Queued>>>,
}

impl Queue {
    /// Runs `work` in a transaction on `connection` (at the time `clock` gives when the
    /// transaction begins), possibly with other writes, and returns its result once that
    /// transaction has committed. A panic in `work` is resumed on the caller's thread.
    pub(super) fn write<R, F>(
        &self,
        connection: &Mutex<Connection>,
        clock: impl Fn() -> Millis,
        work: F,
    ) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Transaction<'_>, Millis) -> Result<R, StoreError> + Send + 'static,
    {
        let (to, answered) = sync_channel(1);
        self.lock().push(Box::new(Write {
            work: Some(work),
            ran: None,
            to,
        }));
        let answer = {
            let mut connection = connection.lock().unwrap_or_else(|e| e.into_inner());
            // A writer that had the connection before this one may have run this write
            // with its own (it answers before it lets the connection go); else it is still
            // waiting, and this writer runs it and whatever waits with it.
            match answered.try_recv() {
                Err(TryRecvError::Empty) => {
                    self.commit_waiting(&mut connection, clock());
                    answered.try_recv()
                }
                other => other,
            }
        };
        // Unpacked with the connection let go: a panic resumed here must not poison it.
        answer.map_or_else(|_| Err(unanswered()), Answer::unpack)
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Box<dyn Queued>>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs every waiting write in one transaction and answers each.
    fn commit_waiting(&self, connection: &mut Connection, now: Millis) {
        let mut batch = std::mem::take(&mut *self.lock());
        let failed = run_all(connection, &mut batch, now).err().map(Arc::new);
        for write in batch {
            write.answer(failed.as_ref());
        }
    }
}

/// Runs `batch` in one immediate transaction and commits it. A lone write runs without a
/// savepoint (its failure rolls the transaction back); among several, each has its own.
fn run_all(
    connection: &mut Connection,
    batch: &mut [Box<dyn Queued>],
    now: Millis,
) -> Result<(), rusqlite::Error> {
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let [only] = batch {
        if only.run(&tx, now) {
            tx.commit()?;
        }
        return Ok(());
    }
    for write in batch.iter_mut() {
        tx.prepare_cached("SAVEPOINT queued")?.execute([])?;
        if !write.run(&tx, now) {
            tx.prepare_cached("ROLLBACK TO queued")?.execute([])?;
        }
        tx.prepare_cached("RELEASE queued")?.execute([])?;
    }
    tx.commit()
}

/// A write waiting in the queue, its result type erased.
trait Queued: Send {
    /// Runs the write in `tx`; whether it succeeded (its changes are to be kept).
    fn run(&mut self, tx: &Transaction<'_>, now: Millis) -> bool;
    /// Answers its caller once the transaction has ended: committed, or `failed` as a
    /// whole.
    fn answer(self: Box<Self>, failed: Option<&Arc<rusqlite::Error>>);
}

struct Write<F, R> {
    work: Option<F>,
    ran: Option<std::thread::Result<Result<R, StoreError>>>,
    to: SyncSender<Answer<R>>,
}

impl<F, R> Queued for Write<F, R>
where
    R: Send,
    F: FnOnce(&Transaction<'_>, Millis) -> Result<R, StoreError> + Send,
{
    fn run(&mut self, tx: &Transaction<'_>, now: Millis) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let ran = catch_unwind(AssertUnwindSafe(|| work(tx, now)));
        let kept = matches!(ran, Ok(Ok(_)));
        self.ran = Some(ran);
        kept
    }

    fn answer(self: Box<Self>, failed: Option<&Arc<rusqlite::Error>>) {
        let answer = match (self.ran, failed) {
            (Some(Err(panic)), _) => Answer::Panicked(panic),
            (Some(Ok(Err(own))), _) => Answer::Done(Err(own)),
            (Some(Ok(Ok(value))), None) => Answer::Done(Ok(value)),
            (_, Some(failed)) => Answer::Done(Err(Failed(failed.clone()).into())),
            (None, None) => Answer::Done(Err(unanswered())),
        };
        // The caller waits for its answer; one that is gone (its task was dropped) has
        // nobody to tell.
        let _ = self.to.send(answer);
    }
}

enum Answer<R> {
    Done(Result<R, StoreError>),
    Panicked(Box<dyn Any + Send>),
}

impl<R> Answer<R> {
    fn unpack(self) -> Result<R, StoreError> {
        match self {
            Answer::Done(result) => result,
            Answer::Panicked(panic) => resume_unwind(panic),
        }
    }
}

/// The failure of a transaction, told to each write it held.
#[derive(Debug)]
struct Failed(Arc<rusqlite::Error>);

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Failed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.0.as_ref())
    }
}

/// Busy and locked are [`StoreError::Busy`] (the write had no effect; it may be tried
/// again), as for a write of its own.
impl From<Failed> for StoreError {
    fn from(failed: Failed) -> Self {
        if super::is_busy(&failed.0) {
            StoreError::Busy(Box::new(failed))
        } else {
            StoreError::Database(Box::new(failed))
        }
    }
}

/// A write whose transaction ended without answering it (the writer running it panicked
/// outside the write): whether it took effect is unknown.
fn unanswered() -> StoreError {
    StoreError::Database("the transaction that held this write ended without answering it".into())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::time::Duration;

    use rusqlite::params;

    use super::*;

    struct Rig {
        queue: Queue,
        connection: Mutex<Connection>,
        /// How many transactions began (the clock is read once per transaction).
        transactions: AtomicI64,
    }

    fn rig() -> Arc<Rig> {
        let connection = Connection::open_in_memory().unwrap();
        connection
            .execute_batch("CREATE TABLE t (k TEXT PRIMARY KEY, at INTEGER NOT NULL)")
            .unwrap();
        Arc::new(Rig {
            queue: Queue::default(),
            connection: Mutex::new(connection),
            transactions: AtomicI64::new(0),
        })
    }

    impl Rig {
        fn insert(self: &Arc<Self>, k: &str) -> std::thread::JoinHandle<Result<i64, StoreError>> {
            let (rig, k) = (self.clone(), k.to_owned());
            std::thread::spawn(move || {
                let clock = || rig.transactions.fetch_add(1, Ordering::SeqCst) + 1;
                rig.queue.write(&rig.connection, clock, move |tx, now| {
                    if k == "panics" {
                        panic!("a write that panics");
                    }
                    tx.execute("INSERT INTO t (k, at) VALUES (?1, ?2)", params![k, now])?;
                    Ok(now)
                })
            })
        }

        fn keys(&self) -> Vec<String> {
            let connection = self.connection.lock().unwrap();
            let mut select = connection.prepare("SELECT k FROM t ORDER BY k").unwrap();
            select
                .query_map([], |row| row.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        }

        /// Holds the connection (a transaction committing) until `n` writes wait.
        fn while_busy<T>(&self, n: usize, start: impl FnOnce() -> T) -> T {
            let held = self.connection.lock().unwrap();
            let started = start();
            while self.queue.lock().len() < n {
                std::thread::sleep(Duration::from_millis(1));
            }
            drop(held);
            started
        }
    }

    #[test]
    fn writes_that_arrive_while_one_commits_share_the_next_transaction() {
        let rig = rig();
        let writers = rig.while_busy(8, || {
            (0..8)
                .map(|i| rig.insert(&format!("k{i}")))
                .collect::<Vec<_>>()
        });
        let at: Vec<i64> = writers
            .into_iter()
            .map(|w| w.join().unwrap().unwrap())
            .collect();
        assert_eq!(
            rig.transactions.load(Ordering::SeqCst),
            1,
            "one transaction"
        );
        assert!(at.iter().all(|&t| t == 1), "{at:?}");
        assert_eq!(rig.keys().len(), 8);
    }

    #[test]
    fn a_write_that_fails_or_panics_is_rolled_back_alone() {
        let rig = rig();
        rig.insert("taken").join().unwrap().unwrap();
        let writers = rig.while_busy(4, || {
            ["a", "taken", "panics", "b"]
                .map(|k| rig.insert(k))
                .into_iter()
                .collect::<Vec<_>>()
        });
        let mut results = writers.into_iter().map(|w| w.join());
        assert!(matches!(results.next(), Some(Ok(Ok(_)))));
        let duplicate = results.next().unwrap().unwrap().unwrap_err();
        assert!(
            duplicate.to_string().contains("UNIQUE constraint failed"),
            "{duplicate}"
        );
        assert!(
            results.next().unwrap().is_err(),
            "the panic is the caller's"
        );
        assert!(matches!(results.next(), Some(Ok(Ok(_)))));
        assert_eq!(rig.keys(), ["a", "b", "taken"]);
        assert_eq!(rig.transactions.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_transaction_that_cannot_begin_fails_each_of_its_writes() {
        let rig = rig();
        rig.connection
            .lock()
            .unwrap()
            .execute_batch("BEGIN")
            .unwrap();
        let error = rig.insert("a").join().unwrap().unwrap_err();
        assert!(matches!(error, StoreError::Database(_)), "{error}");
        assert!(
            std::error::Error::source(&error).is_some(),
            "the cause is kept"
        );
    }
}

//! A write transaction that spans Python statements.
//!
//! The library's transaction is a closure, and Python's `with` block is not
//! one; so the transaction runs on a thread of its own, inside the closure,
//! and the block's operations are sent to it one at a time. It commits when
//! told to, and rolls back when told to, when the handle is dropped, or when
//! an operation fails inside it.

use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, ThreadId};

use vaults::{Error, Result, Store, Transaction};

use crate::handle::Handle;
use crate::ops::Work;

/// Work for the transaction's thread.
type Job = Box<dyn FnOnce(&Transaction<'_>) + Send>;

enum Command {
    Run(Job),
    End { commit: bool },
}

/// An open transaction: the thread that opened it, and the way to its worker.
pub(crate) struct OpenTransaction {
    owner: ThreadId,
    commands: Sender<Command>,
    ended: Mutex<Receiver<Result<()>>>,
}

impl OpenTransaction {
    /// Starts a write transaction on `handle` for the calling thread; returns
    /// once it holds the write lock (or failed to take it).
    pub(crate) fn begin(handle: Arc<Handle>) -> Result<OpenTransaction> {
        let (commands, inbox) = mpsc::channel::<Command>();
        let (began_tx, began) = mpsc::sync_channel::<()>(1);
        let (ended_tx, ended) = mpsc::sync_channel::<Result<()>>(1);
        thread::Builder::new()
            .name("vaults-transaction".into())
            .spawn(move || work(&handle, &inbox, &began_tx, &ended_tx))?;
        match began.recv() {
            Ok(()) => Ok(OpenTransaction {
                owner: thread::current().id(),
                commands,
                ended: Mutex::new(ended),
            }),
            // The worker ended before the transaction began: say why.
            Err(_) => Err(match ended.recv() {
                Ok(Err(e)) => e,
                _ => stopped(),
            }),
        }
    }

    /// Whether the calling thread opened this transaction.
    pub(crate) fn is_mine(&self) -> bool {
        self.owner == thread::current().id()
    }

    /// Runs `f` inside the transaction and returns its result.
    pub(crate) fn run<R: Send + 'static>(&self, f: Work<R>) -> Result<R> {
        let (reply_tx, reply) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |tx: &Transaction<'_>| {
            let _ = reply_tx.send(f(tx));
        });
        self.commands
            .send(Command::Run(job))
            .map_err(|_| stopped())?;
        reply.recv().map_err(|_| stopped())?
    }

    /// Commits (or rolls back) and waits until the worker has finished.
    pub(crate) fn end(self, commit: bool) -> Result<()> {
        // A send fails only when the worker already ended; its verdict waits.
        let _ = self.commands.send(Command::End { commit });
        let ended = self.ended.lock().unwrap_or_else(PoisonError::into_inner);
        ended.recv().unwrap_or_else(|_| Err(stopped()))
    }
}

fn stopped() -> Error {
    Error::Io(std::io::Error::other(
        "the transaction's worker thread stopped",
    ))
}

/// The worker: one library transaction, fed by `inbox` until told to end.
fn work(
    handle: &Handle,
    inbox: &Receiver<Command>,
    began: &SyncSender<()>,
    ended: &SyncSender<Result<()>>,
) {
    let mut rolled_back = false;
    let outcome = handle.vault().transaction(|tx| {
        let _ = began.send(());
        loop {
            match inbox.recv() {
                Ok(Command::Run(job)) => job(tx),
                Ok(Command::End { commit: true }) => return Ok(()),
                // Told to roll back, or the handle went away: the library
                // rolls back when the closure returns an error.
                Ok(Command::End { commit: false }) | Err(_) => {
                    rolled_back = true;
                    return Err(stopped());
                }
            }
        }
    });
    let _ = ended.send(if rolled_back { Ok(()) } else { outcome });
}

//! A single-threaded, seeded scheduler: every task is polled in an order the dice choose, so
//! concurrent executors interleave differently per seed and identically for one seed.
//!
//! A task "crashes" by parking on a future that never completes after flagging itself; the
//! scheduler then drops it mid-protocol, as a killed process would stop: no cleanup, no
//! further writes.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;

use chrono::TimeDelta;

use super::faults::Chaos;

/// What a task's injectors know about it.
#[derive(Debug)]
pub struct TaskCtx {
    /// Executors may crash; planners and the drain do not.
    pub may_crash: bool,
    crashed: AtomicBool,
}

impl TaskCtx {
    pub fn new(may_crash: bool) -> Arc<Self> {
        Arc::new(Self {
            may_crash,
            crashed: AtomicBool::new(false),
        })
    }

    /// Stops the task dead: this future never resumes.
    pub async fn crash(&self) {
        self.crashed.store(true, Ordering::SeqCst);
        std::future::pending::<()>().await;
    }

    fn has_crashed(&self) -> bool {
        self.crashed.load(Ordering::SeqCst)
    }
}

/// Scheduling points a stalled task gives away, enough for the others to move on.
pub const STALL_YIELDS: usize = 40;

/// How long a stalled task stands still: past its lock lease (5 min) and past its delivery's
/// visibility timeout (30 min), so another executor may take the same job over meanwhile.
pub const STALL: TimeDelta = TimeDelta::minutes(31);

thread_local! {
    /// Set when a task's pending poll was a scheduling point of the simulation, rather than a
    /// wait for I/O.
    static YIELDED: Cell<bool> = const { Cell::new(false) };
}

/// Gives the scheduler a chance to run another task.
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            YIELDED.set(true);
            // Ready to go on at once: a combinator that polls only what was woken (the
            // planner's page of concurrent reads) polls it again.
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await;
}

type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

#[derive(Default)]
pub struct Tasks {
    tasks: Vec<(Arc<TaskCtx>, Task)>,
}

impl Tasks {
    pub fn spawn(&mut self, ctx: Arc<TaskCtx>, task: impl Future<Output = ()> + Send + 'static) {
        self.tasks.push((ctx, Box::pin(task)));
    }

    /// Polls tasks in seeded random order until each has finished or crashed. Tasks switch
    /// only at the simulation's scheduling points: a task waiting for I/O (DynamoDB on an
    /// emulator) or a timer is polled again when the runtime wakes it, until it reaches one. So one
    /// store request is in flight at a time, as the emulator needs (its transactions roll back
    /// by restoring a copy of the table, which loses concurrent writes), and the embedded
    /// store, which never waits, replays exactly for a seed.
    pub async fn run(&mut self, chaos: &Chaos) {
        while !self.tasks.is_empty() {
            let len = self.tasks.len() as u64;
            let index = usize::try_from(chaos.with_rng(|rng| rng.below(len))).unwrap_or(0);
            let (ctx, task) = &mut self.tasks[index];
            // With the runtime's waker: a paused clock moves on to the nearest timer (a hung
            // call's, its caller's timeout) as soon as that wait is all there is.
            let done = std::future::poll_fn(|cx| {
                YIELDED.set(false);
                if task.as_mut().poll(cx).is_ready() || ctx.has_crashed() {
                    Poll::Ready(true)
                } else if YIELDED.get() {
                    Poll::Ready(false)
                } else {
                    Poll::Pending
                }
            })
            .await;
            if done {
                drop(self.tasks.swap_remove(index));
            }
        }
    }
}

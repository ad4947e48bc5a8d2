//! Group commit: concurrent writers share one commit, so one fsync makes many writes durable.
//!
//! A writer that finds the connection free and no transaction open begins one (IMMEDIATE) and
//! is its group's first member; each writer runs inside a savepoint of the open transaction,
//! so it keeps or undoes only its own writes. When a member is done it looks at who is waiting
//! for the connection: if nobody is (or the group is full), it commits the group and wakes
//! its members; otherwise it leaves the transaction open for the next, and waits until its
//! group's commit is on disk. Nobody returns before the commit that holds its writes, so every
//! caller sees its own writes durable, as with a commit of its own; a failed commit fails
//! every member of the group. A read that finds a group open joins it the same way (it may
//! have seen the group's writes, so it too returns only once they are durable).

use parking_lot::{Condvar, Mutex, MutexGuard};
use payout_app::ports::StoreError;
use rusqlite::Connection;

use super::backend;

/// The most members one commit holds: a bound on how long the first of them waits.
const MAX_GROUP: usize = 64;

pub struct GroupCommit {
    conn: Mutex<Connection>,
    group: Mutex<Group>,
    committed: Condvar,
}

#[derive(Default)]
struct Group {
    /// Callers waiting for the connection.
    waiting: usize,
    /// The group open now (or the last one), counted from 1.
    epoch: u64,
    members: usize,
    /// The last group committed (or failed), and its failure if it failed.
    settled: u64,
    failure: Option<(u64, String)>,
}

impl GroupCommit {
    pub fn new(conn: Connection) -> Self {
        Self {
            conn: Mutex::new(conn),
            group: Mutex::default(),
            committed: Condvar::new(),
        }
    }

    /// Runs `work` on the connection: on its own (autocommit) when no group is open, as a
    /// member of the open group otherwise.
    pub fn run<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.take();
        if conn.is_autocommit() {
            return work(&mut conn);
        }
        let epoch = self.join();
        let result = work(&mut conn);
        self.finish(conn, epoch)?;
        result
    }

    /// Runs `write` as a member of a group (opening one if none is), its writes kept only
    /// when `keep` says so; returns once they are durable.
    pub fn write<T>(
        &self,
        write: impl FnOnce(&Connection) -> Result<T, StoreError>,
        keep: impl FnOnce(&T) -> bool,
    ) -> Result<T, StoreError> {
        let conn = self.take();
        if conn.is_autocommit() {
            statement(&conn, "BEGIN IMMEDIATE")?;
            let mut group = self.group.lock();
            group.epoch += 1;
            group.members = 0;
        }
        let epoch = self.join();
        // Whatever becomes of this member, the group is finished: its other members wait on it.
        let result = (|| {
            statement(&conn, "SAVEPOINT grouped")?;
            let result = write(&conn);
            if !matches!(&result, Ok(value) if keep(value)) {
                statement(&conn, "ROLLBACK TO grouped")?;
            }
            statement(&conn, "RELEASE grouped")?;
            result
        })();
        self.finish(conn, epoch)?;
        result
    }

    /// The connection, counted among those waiting for it until it is ours.
    fn take(&self) -> MutexGuard<'_, Connection> {
        self.group.lock().waiting += 1;
        let conn = self.conn.lock();
        self.group.lock().waiting -= 1;
        conn
    }

    /// Joins the open group; returns its epoch.
    fn join(&self) -> u64 {
        let mut group = self.group.lock();
        group.members += 1;
        group.epoch
    }

    /// Commits the group if nobody else is waiting to join it (or it is full); otherwise
    /// leaves it open and waits for whoever commits it.
    fn finish(&self, conn: MutexGuard<'_, Connection>, epoch: u64) -> Result<(), StoreError> {
        let mut group = self.group.lock();
        if group.waiting > 0 && group.members < MAX_GROUP {
            drop(conn);
            while group.settled < epoch {
                self.committed.wait(&mut group);
            }
            return match &group.failure {
                Some((failed, message)) if *failed == epoch => {
                    Err(StoreError::Backend(message.clone()))
                }
                _ => Ok(()),
            };
        }
        let committed = statement(&conn, "COMMIT");
        if committed.is_err() {
            let _ = statement(&conn, "ROLLBACK");
        }
        group.settled = epoch;
        group.failure = committed.as_ref().err().map(|e| (epoch, e.to_string()));
        self.committed.notify_all();
        committed
    }
}

fn statement(conn: &Connection, sql: &str) -> Result<(), StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut statement| statement.execute([]))
        .map(|_| ())
        .map_err(backend)
}

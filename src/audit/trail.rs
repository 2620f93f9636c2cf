//! The queue between requests and the sink, and the thread that writes it.
//!
//! Requests push lines; one thread writes them in order. The queue holds at most
//! [`CAPACITY`] lines: a request never waits for the disk unless `audit_required` says it
//! must, and then for at most [`REQUIRED_WAIT`]. A failed write is logged (the first of a run
//! of failures, then one a minute) and counted; the sink is reopened before the next write,
//! and at least every second while it keeps failing.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{AuditSink, AuditStats, Unaudited};

/// Lines queued at most (about 0.5 KiB each).
pub const CAPACITY: usize = 8192;

/// The longest a request waits for its event to be written with `audit_required`.
pub const REQUIRED_WAIT: Duration = Duration::from_secs(2);

/// How often a failing sink is reopened while nothing is written.
const RETRY: Duration = Duration::from_secs(1);

/// How many sequence numbers of lost lines are remembered (for `audit_required` waiters).
const LOST_MEMORY: usize = 1024;

/// Without `audit_required`, how long the writer lets lines gather after it is woken, so that
/// under load it wakes a few hundred times a second, not once per request (each wake-up cost
/// the busy server about 10% of its CPU in context switches). No request waits for it.
const GATHER: Duration = Duration::from_millis(2);

pub(super) struct Trail {
    state: Mutex<State>,
    /// Signalled when lines are queued (or a reopen asked for).
    queued: Condvar,
    /// Signalled when lines have been written or lost.
    settled: Condvar,
    required: bool,
    capacity: usize,
}

#[derive(Default)]
struct State {
    queue: VecDeque<(u64, String)>,
    /// The sequence number of the next line pushed.
    next: u64,
    /// Every line numbered below is written or lost.
    done: u64,
    /// The sink failed at its last write or open.
    failing: bool,
    /// Recent lines that could not be written.
    lost: VecDeque<u64>,
    reopen: bool,
    /// The writer waits on `queued`: only then does a push wake it.
    writer_idle: bool,
    /// Threads waiting on `settled`: without any, nothing is signalled.
    settle_waiters: usize,
    stats: AuditStats,
    /// When a lost line was last logged.
    last_said: Option<Instant>,
}

impl Trail {
    pub(super) fn start(sink: Box<dyn AuditSink>, required: bool, capacity: usize) -> Arc<Trail> {
        let trail = Arc::new(Trail {
            state: Mutex::new(State {
                reopen: true,
                ..State::default()
            }),
            queued: Condvar::new(),
            settled: Condvar::new(),
            required,
            capacity: capacity.max(1),
        });
        // The writer ends within RETRY once the last handle is gone.
        let weak = Arc::downgrade(&trail);
        let spawned = std::thread::Builder::new()
            .name("sts-audit".into())
            .spawn(move || {
                let mut sink = sink;
                while let Some(t) = weak.upgrade() {
                    t.write_some(&mut *sink);
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the audit writer; every audit event is lost");
            trail.lock().failing = true;
        }
        trail
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `line`; with `required`, waits until it is written.
    pub(super) fn push(&self, line: String) -> Result<(), Unaudited> {
        let deadline = Instant::now() + REQUIRED_WAIT;
        let mut st = self.lock();
        if self.required && st.failing {
            return Err(Unaudited);
        }
        while st.queue.len() >= self.capacity {
            if !self.required {
                st.stats.dropped += 1;
                say_lost(&mut st, "the audit queue is full (the sink is slow); event dropped");
                return Ok(());
            }
            st = self.wait(st, deadline).ok_or(Unaudited)?;
        }
        let seq = st.next;
        st.next += 1;
        st.queue.push_back((seq, line));
        if st.writer_idle {
            st.writer_idle = false;
            self.queued.notify_one();
        }
        if !self.required {
            return Ok(());
        }
        while st.done <= seq {
            st = self.wait(st, deadline).ok_or(Unaudited)?;
        }
        if st.lost.contains(&seq) {
            return Err(Unaudited);
        }
        Ok(())
    }

    /// Waits for progress until `deadline`; `None` once it has passed.
    fn wait<'a>(
        &self,
        st: MutexGuard<'a, State>,
        deadline: Instant,
    ) -> Option<MutexGuard<'a, State>> {
        let left = deadline.checked_duration_since(Instant::now())?;
        let mut st = st;
        st.settle_waiters += 1;
        let (mut st, _) = self
            .settled
            .wait_timeout(st, left)
            .unwrap_or_else(|p| p.into_inner());
        st.settle_waiters = st.settle_waiters.saturating_sub(1);
        Some(st)
    }

    pub(super) fn reopen(&self) {
        let mut st = self.lock();
        st.reopen = true;
        st.writer_idle = false;
        self.queued.notify_one();
    }

    pub(super) fn stats(&self) -> AuditStats {
        self.lock().stats
    }

    pub(super) fn flush(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut st = self.lock();
        let target = st.next;
        while st.done < target {
            match self.wait(st, deadline) {
                Some(s) => st = s,
                None => return false,
            }
        }
        true
    }

    /// Writes what is queued, after waiting for it up to [`RETRY`].
    fn write_some(&self, sink: &mut dyn AuditSink) {
        {
            let (batch, reopen) = {
                let mut st = self.lock();
                if st.queue.is_empty() && !st.reopen {
                    st.writer_idle = true;
                    let (s, timeout) = self
                        .queued
                        .wait_timeout(st, RETRY)
                        .unwrap_or_else(|p| p.into_inner());
                    st = s;
                    st.writer_idle = false;
                    if timeout.timed_out() && st.failing {
                        st.reopen = true;
                    }
                    if !self.required && !st.queue.is_empty() {
                        drop(st);
                        std::thread::sleep(GATHER);
                        st = self.lock();
                    }
                }
                let reopen = std::mem::take(&mut st.reopen);
                (st.queue.drain(..).collect::<Vec<_>>(), reopen)
            };
            let mut results = Vec::with_capacity(batch.len() + 1);
            if reopen {
                results.push((None, sink.reopen()));
            }
            for (seq, line) in &batch {
                results.push((Some(*seq), sink.write_line(line)));
            }
            let mut st = self.lock();
            for (seq, result) in results {
                match result {
                    Ok(()) => {
                        st.failing = false;
                        if seq.is_some() {
                            st.stats.written += 1;
                        }
                    }
                    Err(e) => {
                        st.stats.write_failures += 1;
                        if !st.failing {
                            tracing::error!(error = %e, "the audit trail cannot be written");
                        }
                        st.failing = true;
                        if let Some(seq) = seq {
                            st.stats.dropped += 1;
                            if st.lost.len() >= LOST_MEMORY {
                                st.lost.pop_front();
                            }
                            st.lost.push_back(seq);
                            say_lost(&mut st, "an audit event could not be written; dropped");
                        }
                    }
                }
            }
            if let Some((last, _)) = batch.last() {
                st.done = last + 1;
            }
            let waiters = st.settle_waiters > 0;
            drop(st);
            if waiters {
                self.settled.notify_all();
            }
        }
    }
}

/// Logs that events are being lost: once a minute at most.
fn say_lost(st: &mut State, what: &str) {
    if st
        .last_said
        .is_none_or(|t| t.elapsed() >= Duration::from_secs(60))
    {
        st.last_said = Some(Instant::now());
        tracing::error!(
            dropped = st.stats.dropped,
            write_failures = st.stats.write_failures,
            "{what}"
        );
    }
}

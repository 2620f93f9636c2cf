//! The queue between requests and the sink, and the thread that writes it.
//!
//! Requests push lines; one thread writes them in order. The queue holds at most
//! [`CAPACITY`] lines: a request never waits for the disk unless `audit_required` says it
//! must, and then for at most [`REQUIRED_WAIT`]. A failed write is logged (the first of a run
//! of failures, then one a minute) and counted; the sink is reopened before the next write,
//! and at least every second while it keeps failing.
//!
//! A required line that is not written within the wait refuses its request, so the trail
//! must not claim it later: a line still queued then is withdrawn (never written); one the
//! writer already holds (a sink stuck in a write) cannot be, and is followed by its
//! retraction, the same event with `outcome` failed and `reason` `audit_timeout`.

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
    /// Lines by sequence number; `None`: withdrawn (its request timed out), not written.
    queue: VecDeque<(u64, Option<String>)>,
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

/// A batch the writer took from the queue: the lines, and whether to reopen the sink first.
pub(super) struct Batch {
    lines: Vec<(u64, Option<String>)>,
    reopen: bool,
}

impl Trail {
    /// A trail without its writer (see [`Trail::start`]; tests drive [`Trail::take`] and
    /// [`Trail::write`] themselves).
    pub(super) fn new(required: bool, capacity: usize) -> Arc<Trail> {
        Arc::new(Trail {
            state: Mutex::new(State {
                reopen: true,
                ..State::default()
            }),
            queued: Condvar::new(),
            settled: Condvar::new(),
            required,
            capacity: capacity.max(1),
        })
    }

    pub(super) fn start(sink: Box<dyn AuditSink>, required: bool, capacity: usize) -> Arc<Trail> {
        let trail = Trail::new(required, capacity);
        // The writer ends within RETRY once the last handle is gone.
        let weak = Arc::downgrade(&trail);
        let spawned = std::thread::Builder::new()
            .name("sts-audit".into())
            .spawn(move || {
                let mut sink = sink;
                while let Some(t) = weak.upgrade() {
                    let batch = t.take();
                    t.write(&mut *sink, batch);
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

    /// Queues `line`; with `required`, waits until it is written (see the module
    /// documentation for a line not written in time: `retraction` builds its retraction).
    pub(super) fn push(
        &self,
        line: String,
        retraction: impl FnOnce() -> String,
    ) -> Result<(), Unaudited> {
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
            st = self.wait(st, deadline).map_err(|_| Unaudited)?;
        }
        let seq = self.enqueue(&mut st, line);
        if !self.required {
            return Ok(());
        }
        self.settle(st, seq, deadline, retraction)
    }

    /// Queues `line` without waiting, even with `required`, past the capacity if need be: a
    /// follow-up (a retraction) of an event already queued or written.
    pub(super) fn push_nowait(&self, line: String) {
        let mut st = self.lock();
        self.enqueue(&mut st, line);
    }

    /// Appends `line`; returns its sequence number.
    fn enqueue(&self, st: &mut State, line: String) -> u64 {
        let seq = st.next;
        st.next += 1;
        st.queue.push_back((seq, Some(line)));
        if st.writer_idle {
            st.writer_idle = false;
            self.queued.notify_one();
        }
        seq
    }

    /// Waits until line `seq` is written (`Ok`) or lost; at `deadline`, withdraws it, or
    /// queues its retraction if the writer holds it already.
    fn settle(
        &self,
        mut st: MutexGuard<'_, State>,
        seq: u64,
        deadline: Instant,
        retraction: impl FnOnce() -> String,
    ) -> Result<(), Unaudited> {
        let written = |st: &State| {
            if st.lost.contains(&seq) {
                Err(Unaudited)
            } else {
                Ok(())
            }
        };
        loop {
            if st.done > seq {
                return written(&st);
            }
            st = match self.wait(st, deadline) {
                Ok(st) => st,
                Err(mut st) => {
                    if st.done > seq {
                        return written(&st);
                    }
                    match st.queue.iter_mut().find(|(s, _)| *s == seq) {
                        Some((_, line)) => {
                            *line = None;
                            st.stats.dropped += 1;
                        }
                        None => {
                            self.enqueue(&mut st, retraction());
                        }
                    }
                    say_lost(
                        &mut st,
                        "an audit event was not written in time (audit_required); request refused",
                    );
                    return Err(Unaudited);
                }
            };
        }
    }

    /// Waits for progress until `deadline`; `Err` (with the lock) once it has passed.
    fn wait<'a>(
        &self,
        st: MutexGuard<'a, State>,
        deadline: Instant,
    ) -> Result<MutexGuard<'a, State>, MutexGuard<'a, State>> {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            return Err(st);
        };
        let mut st = st;
        st.settle_waiters += 1;
        let (mut st, _) = self
            .settled
            .wait_timeout(st, left)
            .unwrap_or_else(|p| p.into_inner());
        st.settle_waiters = st.settle_waiters.saturating_sub(1);
        Ok(st)
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
                Ok(s) => st = s,
                Err(_) => return false,
            }
        }
        true
    }

    /// Takes what is queued, after waiting for it up to [`RETRY`].
    pub(super) fn take(&self) -> Batch {
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
        Batch {
            lines: st.queue.drain(..).collect(),
            reopen,
        }
    }

    /// Writes a batch [`Trail::take`] took (its withdrawn lines skipped), and settles it.
    pub(super) fn write(&self, sink: &mut dyn AuditSink, batch: Batch) {
        let mut results = Vec::with_capacity(batch.lines.len() + 1);
        if batch.reopen {
            results.push((None, sink.reopen()));
        }
        let live: Vec<(u64, &str)> = batch
            .lines
            .iter()
            .filter_map(|(seq, line)| line.as_deref().map(|l| (*seq, l)))
            .collect();
        let texts: Vec<&str> = live.iter().map(|(_, l)| *l).collect();
        if !texts.is_empty() {
            let written = sink.write_lines(&texts);
            results.extend(live.iter().map(|(seq, _)| Some(*seq)).zip(written));
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
        if let Some((last, _)) = batch.lines.last() {
            st.done = last + 1;
        }
        let waiters = st.settle_waiters > 0;
        drop(st);
        if waiters {
            self.settled.notify_all();
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

#[cfg(test)]
impl Trail {
    /// Queues `line` as [`Trail::push`] does; returns its sequence number.
    pub(super) fn queue(&self, line: &str) -> u64 {
        let mut st = self.lock();
        self.enqueue(&mut st, line.to_owned())
    }

    /// What [`Trail::push`] does for line `seq` once its deadline has passed.
    pub(super) fn give_up(&self, seq: u64, retraction: &str) -> Result<(), Unaudited> {
        let st = self.lock();
        self.settle(st, seq, Instant::now(), || retraction.to_owned())
    }
}

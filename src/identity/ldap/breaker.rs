//! Keeps a directory that stopped answering from holding the server's request threads.
//!
//! Every directory call blocks one of the server's few blocking threads until the directory
//! answers or the call's budget runs out. Without a limit, a hung directory would soon hold
//! all of them, and requests that never touch the directory (an administrator's sign-in,
//! another realm, a validation) would queue behind it. So new calls fail at once (HTTP 503)
//! while a call in flight has waited longer than `slow_after`, and for `cooldown` after a
//! call ran out of time; one call at a time still goes through as a probe, so the first
//! answer after the directory is back closes the breaker.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

pub(super) struct Breaker {
    slow_after: Duration,
    cooldown: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    next: u64,
    /// Start of each call in flight, by a sequence number: the first entry is the oldest.
    in_flight: BTreeMap<u64, Instant>,
    open_until: Option<Instant>,
    probing: bool,
}

/// A call admitted by the breaker; [`Ticket::finish`] says how it ended.
pub(super) struct Ticket<'a> {
    breaker: &'a Breaker,
    id: u64,
    probe: bool,
    started: Instant,
    done: bool,
}

impl Breaker {
    pub(super) fn new(slow_after: Duration, cooldown: Duration) -> Breaker {
        Breaker {
            slow_after,
            cooldown,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Admits a call starting `now`, or says why the directory is not tried.
    pub(super) fn enter(&self, now: Instant) -> Result<Ticket<'_>, String> {
        let mut s = self.lock();
        let stuck = s
            .in_flight
            .values()
            .next()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.slow_after);
        let open = s.open_until.is_some_and(|u| now < u);
        let mut probe = false;
        if stuck || open {
            if s.probing {
                return Err(if stuck {
                    format!(
                        "a directory call has had no answer for over {} ms",
                        self.slow_after.as_millis()
                    )
                } else {
                    "the directory did not answer recently; one request at a time retries it"
                        .to_owned()
                });
            }
            s.probing = true;
            probe = true;
        }
        let id = s.next;
        s.next = s.next.wrapping_add(1);
        s.in_flight.insert(id, now);
        Ok(Ticket {
            breaker: self,
            id,
            probe,
            started: now,
            done: false,
        })
    }
}

impl Ticket<'_> {
    /// The call ended at `now`; `unavailable` if it got no usable answer. A call that waited
    /// `slow_after` or longer and got none opens the breaker for `cooldown`; any answer
    /// closes it.
    pub(super) fn finish(mut self, unavailable: bool, now: Instant) {
        let b = self.breaker;
        let mut s = b.lock();
        if unavailable && now.saturating_duration_since(self.started) >= b.slow_after {
            s.open_until = Some(now + b.cooldown);
        } else if !unavailable {
            s.open_until = None;
        }
        self.release(&mut s);
    }

    fn release(&mut self, s: &mut State) {
        s.in_flight.remove(&self.id);
        if self.probe {
            s.probing = false;
        }
        self.done = true;
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if !self.done {
            let b = self.breaker;
            let mut s = b.lock();
            self.release(&mut s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLOW: Duration = Duration::from_millis(1000);
    const COOL: Duration = Duration::from_millis(5000);

    #[test]
    fn calls_pass_while_the_directory_answers() {
        let b = Breaker::new(SLOW, COOL);
        let t0 = Instant::now();
        let tickets: Vec<_> = (0..20).map(|_| b.enter(t0).unwrap()).collect();
        for t in tickets {
            t.finish(false, t0 + Duration::from_millis(5));
        }
        // A fast failure (connection refused) does not open it either.
        b.enter(t0).unwrap().finish(true, t0 + Duration::from_millis(3));
        assert!(b.enter(t0 + Duration::from_millis(10)).is_ok());
    }

    #[test]
    fn a_stuck_call_lets_one_probe_through_and_refuses_the_rest() {
        let b = Breaker::new(SLOW, COOL);
        let t0 = Instant::now();
        let stuck = b.enter(t0).unwrap();
        // Before slow_after, others still go in.
        b.enter(t0 + SLOW / 2)
            .unwrap()
            .finish(false, t0 + SLOW / 2);
        let later = t0 + SLOW;
        let probe = b.enter(later).unwrap();
        let refused = b.enter(later).err().unwrap();
        assert!(refused.contains("no answer for over 1000 ms"), "{refused}");
        // The stuck call runs out of time: the breaker opens for the cooldown.
        stuck.finish(true, t0 + SLOW * 3);
        drop(probe); // a probe that ended without a verdict frees its place
        let open = t0 + SLOW * 3 + COOL / 2;
        let probe = b.enter(open).unwrap();
        assert!(b.enter(open).err().unwrap().contains("did not answer recently"));
        // The probe's answer closes the breaker.
        probe.finish(false, open + Duration::from_millis(2));
        for _ in 0..3 {
            assert!(b.enter(open + Duration::from_millis(3)).is_ok());
        }
    }

    #[test]
    fn the_breaker_closes_by_itself_after_the_cooldown() {
        let b = Breaker::new(SLOW, COOL);
        let t0 = Instant::now();
        b.enter(t0).unwrap().finish(true, t0 + SLOW);
        let probe = b.enter(t0 + SLOW).unwrap();
        assert!(b.enter(t0 + SLOW).is_err());
        // The probe fails fast (connection refused): still open until the cooldown ends.
        probe.finish(true, t0 + SLOW + Duration::from_millis(2));
        let _probe = b.enter(t0 + SLOW * 2).unwrap();
        assert!(b.enter(t0 + SLOW * 2).is_err());
        drop(_probe);
        let after = t0 + SLOW + COOL;
        let a = b.enter(after).unwrap();
        let c = b.enter(after).unwrap();
        drop((a, c));
    }
}

//! Group commit for the token writers of both backends: each writer thread takes every insert
//! waiting when it starts a transaction, so a commit (and its sync) is shared by all of them.

use std::sync::mpsc;
use std::time::Duration;

/// Inserts joining one commit, at most.
const MAX_GROUP: usize = 1024;

/// Forms the groups of one writer thread.
pub(super) struct Grouper {
    linger: Duration,
    /// The last group held more than one job: issuers are concurrent.
    concurrent: bool,
}

impl Grouper {
    /// `linger`: how long a group stays open while issuers are concurrent.
    pub(super) fn new(linger: Duration) -> Grouper {
        Grouper {
            linger,
            concurrent: false,
        }
    }

    /// The next group: waits for a first job, then, while issuers are concurrent, lingers so
    /// that more join (a commit costs several times what a stored token costs, and a reply
    /// held `linger` longer is little next to the queueing of a loaded node), and takes all
    /// that are waiting. A lone request (the last group was one job) commits at once. The
    /// linger is a sleep rather than a wait per arriving job: senders wake nobody meanwhile.
    /// `None` once every sender is gone.
    pub(super) fn next<J>(&mut self, rx: &mpsc::Receiver<J>) -> Option<Vec<J>> {
        let first = rx.recv().ok()?;
        if self.concurrent && !self.linger.is_zero() {
            std::thread::sleep(self.linger);
        }
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        self.concurrent = group.len() > 1;
        Some(group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_takes_every_waiting_job_and_lingers_only_after_a_shared_commit() {
        let (tx, rx) = mpsc::channel();
        let mut g = Grouper::new(Duration::from_millis(1));
        tx.send(1).unwrap();
        assert_eq!(g.next(&rx), Some(vec![1]));
        assert!(!g.concurrent, "a lone job: the next group does not linger");
        for i in 2..5 {
            tx.send(i).unwrap();
        }
        assert_eq!(g.next(&rx), Some(vec![2, 3, 4]));
        assert!(g.concurrent);
        tx.send(5).unwrap();
        assert_eq!(g.next(&rx), Some(vec![5]));
        assert!(!g.concurrent);
        for i in 0..(MAX_GROUP + 3) {
            tx.send(i).unwrap();
        }
        assert_eq!(g.next(&rx).map(|v| v.len()), Some(MAX_GROUP));
        assert_eq!(g.next(&rx).map(|v| v.len()), Some(3));
        drop(tx);
        assert_eq!(g.next(&rx), None);
    }
}

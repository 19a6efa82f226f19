//! Run slots: at most `max_runs` sessions compute at once; the others wait in FIFO order and
//! are told their position. Used from the blocking worker threads.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// How often a waiting worker looks at its cancel flag.
const POLL: Duration = Duration::from_millis(100);

#[derive(Default)]
struct State {
    running: usize,
    waiting: VecDeque<u64>,
    next_ticket: u64,
}

/// A counting semaphore with a visible queue.
pub struct Queue {
    max_runs: usize,
    state: Mutex<State>,
    changed: Condvar,
}

/// A held run slot; dropping it frees the slot for the next in line.
pub struct Slot {
    queue: Arc<Queue>,
}

/// Slots in use and sessions waiting, for the status endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Load {
    /// Slots in use.
    pub running: usize,
    /// Sessions waiting for one.
    pub waiting: usize,
}

impl Queue {
    /// A queue with `max_runs` slots (at least one).
    pub fn new(max_runs: usize) -> Arc<Self> {
        Arc::new(Self {
            max_runs: max_runs.max(1),
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The number of slots.
    pub fn max_runs(&self) -> usize {
        self.max_runs
    }

    /// Slots in use and sessions waiting.
    pub fn load(&self) -> Load {
        let s = self.lock();
        Load {
            running: s.running,
            waiting: s.waiting.len(),
        }
    }

    /// Blocks until a slot is free and this caller is first in line; `on_wait` hears each new
    /// queue position (1 = next). Returns `None` once `cancel` is set.
    pub fn acquire(
        self: &Arc<Self>,
        cancel: &AtomicBool,
        mut on_wait: impl FnMut(usize),
    ) -> Option<Slot> {
        let mut s = self.lock();
        let ticket = s.next_ticket;
        s.next_ticket += 1;
        s.waiting.push_back(ticket);
        let mut told = 0;
        loop {
            let pos = s
                .waiting
                .iter()
                .position(|&t| t == ticket)
                .expect("a waiting ticket stays queued")
                + 1;
            if cancel.load(Ordering::Relaxed) {
                s.waiting.retain(|&t| t != ticket);
                self.changed.notify_all();
                return None;
            }
            if pos == 1 && s.running < self.max_runs {
                s.waiting.pop_front();
                s.running += 1;
                self.changed.notify_all();
                return Some(Slot {
                    queue: Arc::clone(self),
                });
            }
            if pos != told {
                on_wait(pos);
                told = pos;
            }
            s = self
                .changed
                .wait_timeout(s, POLL)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut s = self.queue.lock();
        s.running -= 1;
        self.queue.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn second_waits_with_its_position_until_the_first_lets_go() {
        let q = Queue::new(1);
        let no = AtomicBool::new(false);
        let first = q.acquire(&no, |_| panic!("the first never waits")).unwrap();
        assert_eq!(
            q.load(),
            Load {
                running: 1,
                waiting: 0
            }
        );
        let (tx, rx) = mpsc::channel();
        let q2 = Arc::clone(&q);
        let t = std::thread::spawn(move || {
            let no = AtomicBool::new(false);
            let slot = q2.acquire(&no, |p| tx.send(p).unwrap());
            slot.is_some()
        });
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), 1);
        drop(first);
        assert!(t.join().unwrap());
        assert_eq!(q.load().running, 0);
    }

    #[test]
    fn cancelled_waiter_leaves_the_queue() {
        let q = Queue::new(1);
        let no = AtomicBool::new(false);
        let _held = q.acquire(&no, |_| {}).unwrap();
        let cancel = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let (q2, c2) = (Arc::clone(&q), Arc::clone(&cancel));
        let t = std::thread::spawn(move || q2.acquire(&c2, |p| tx.send(p).unwrap()).is_none());
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), 1);
        cancel.store(true, Ordering::Relaxed);
        assert!(t.join().unwrap());
        assert_eq!(q.load().waiting, 0);
    }
}

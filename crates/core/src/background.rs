//! Threads the plugin starts for work that must not block OBS (forward clean-up, presence
//! polls, stream-state checks), all joined before the module unloads.
//!
//! Code of an unloaded module must not keep running, and a quitting OBS must not hang: shutdown
//! signals every task to stop, then waits for them up to a deadline.

use crate::lock::{wait_recovered, LockRecovered};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A stop flag a task can sleep on: `sleep` returns early once stop is requested.
#[derive(Debug, Default)]
pub struct StopSignal {
    stopped: AtomicBool,
    lock: Mutex<()>,
    wake: Condvar,
}

impl StopSignal {
    /// A fresh, unset signal.
    pub fn new() -> Arc<Self> {
        Arc::new(StopSignal::default())
    }

    /// Asks the task to stop and wakes it.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        let _guard = self.lock.lock_recovered();
        self.wake.notify_all();
    }

    /// Whether stop was requested.
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Sleeps up to `d`; returns `false` when woken by a stop request.
    pub fn sleep(&self, d: Duration) -> bool {
        let deadline = Instant::now() + d;
        let mut guard = self.lock.lock_recovered();
        while !self.is_stopped() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            guard = wait_recovered(&self.wake, guard, left);
        }
        false
    }
}

struct Task {
    name: String,
    stop: Arc<StopSignal>,
    handle: JoinHandle<()>,
}

/// The set of running tasks.
#[derive(Default)]
pub struct Background {
    tasks: Mutex<Vec<Task>>,
    closed: AtomicBool,
    /// Set at shutdown, so waits anywhere in the plugin end early.
    closing: StopSignal,
}

impl std::fmt::Debug for Background {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Background").finish_non_exhaustive()
    }
}

impl Background {
    /// An empty set.
    pub fn new() -> Arc<Self> {
        Arc::new(Background::default())
    }

    /// Runs `task` on its own thread with a stop signal; returns the signal. After shutdown the
    /// task runs inline instead, so clean-up work is never dropped.
    pub fn spawn(
        &self,
        name: &str,
        task: impl FnOnce(Arc<StopSignal>) + Send + 'static,
    ) -> Arc<StopSignal> {
        let stop = StopSignal::new();
        let mut tasks = self.tasks.lock_recovered();
        tasks.retain(|t| !t.handle.is_finished());
        if self.closed.load(Ordering::SeqCst) {
            drop(tasks);
            task(stop.clone());
            return stop;
        }
        let task_stop = stop.clone();
        match std::thread::Builder::new()
            .name(format!("rtc-golive-{name}"))
            .spawn(move || task(task_stop))
        {
            Ok(handle) => tasks.push(Task {
                name: name.to_string(),
                stop: stop.clone(),
                handle,
            }),
            Err(e) => log::error!("cannot start background task {name}: {e}"),
        }
        stop
    }

    /// Sleeps up to `d`; returns `false` at once when shutdown begins.
    pub fn sleep(&self, d: Duration) -> bool {
        self.closing.sleep(d)
    }

    /// Signals every task to stop and refuses new threads; waits up to `grace` for the tasks
    /// to end, then calls `cut` (to abandon whatever they still wait for, such as network calls)
    /// and waits up to `last`. Returns the names of tasks still running then (left detached).
    pub fn shutdown(&self, grace: Duration, cut: impl FnOnce(), last: Duration) -> Vec<String> {
        self.closed.store(true, Ordering::SeqCst);
        self.closing.stop();
        let mut tasks = std::mem::take(&mut *self.tasks.lock_recovered());
        for task in &tasks {
            task.stop.stop();
        }
        join_until(&mut tasks, Instant::now() + grace);
        if !tasks.is_empty() {
            cut();
            join_until(&mut tasks, Instant::now() + last);
        }
        tasks.into_iter().map(|t| t.name).collect()
    }
}

/// Joins the tasks that finish before `until`, leaving the others in `tasks`.
fn join_until(tasks: &mut Vec<Task>, until: Instant) {
    while !tasks.is_empty() && Instant::now() < until {
        let (done, running): (Vec<Task>, Vec<Task>) = std::mem::take(tasks)
            .into_iter()
            .partition(|t| t.handle.is_finished());
        for task in done {
            let _ = task.handle.join();
        }
        *tasks = running;
        if !tasks.is_empty() {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn stop_wakes_sleepers_and_shutdown_joins() {
        let bg = Background::new();
        let done = Arc::new(AtomicUsize::new(0));
        let d = done.clone();
        bg.spawn("sleeper", move |stop| {
            let woke_early = !stop.sleep(Duration::from_secs(30));
            assert!(woke_early);
            d.fetch_add(1, Ordering::SeqCst);
        });
        let started = Instant::now();
        assert!(bg
            .shutdown(Duration::from_secs(5), || {}, Duration::ZERO)
            .is_empty());
        assert_eq!(done.load(Ordering::SeqCst), 1);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn after_shutdown_tasks_run_inline() {
        let bg = Background::new();
        bg.shutdown(Duration::from_millis(10), || {}, Duration::ZERO);
        let done = Arc::new(AtomicUsize::new(0));
        let d = done.clone();
        bg.spawn("late", move |_| {
            d.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(done.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_stuck_task_is_reported_not_waited_for_forever() {
        let bg = Background::new();
        bg.spawn("stuck", |_| std::thread::sleep(Duration::from_millis(600)));
        let cut = std::cell::Cell::new(false);
        let late = bg.shutdown(
            Duration::from_millis(50),
            || cut.set(true),
            Duration::from_millis(10),
        );
        assert_eq!(late, vec!["stuck".to_string()]);
        assert!(
            cut.get(),
            "the cut runs when tasks outlive the grace period"
        );
    }

    #[test]
    fn shutdown_cuts_waits_short() {
        let bg = Background::new();
        let waiter = bg.clone();
        let handle = std::thread::spawn(move || waiter.sleep(Duration::from_secs(30)));
        std::thread::sleep(Duration::from_millis(20));
        bg.shutdown(Duration::from_secs(1), || {}, Duration::ZERO);
        assert!(!handle.join().unwrap());
    }

    #[test]
    fn sleep_runs_to_its_end_without_stop() {
        let s = StopSignal::new();
        assert!(s.sleep(Duration::from_millis(20)));
    }
}

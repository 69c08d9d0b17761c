//! Waiting until the plugin's background threads have nothing left to do.
//!
//! The plugin composes on a worker thread of its own, and a measure that is not ready at its bar
//! line is skipped, never played late. A host rendering faster than real time would therefore
//! skip every measure. Before each bar line the test host waits until every thread of the
//! process except its own two (the test's main thread and its audio thread) has stopped using
//! the CPU: then the composer has finished whatever was asked of it, and the measure is ready
//! however slow the machine is. The plugin is a library loaded into this process, so its
//! threads are this process's threads and `/proc/self/task` shows their CPU time.
//!
//! NOTE: CPU time in `/proc` counts in clock ticks (10 ms). A thread that never sleeps for long
//!       (a busy-polling GUI timer, say) keeps the process from looking quiet; the wait then
//!       ends at its time limit and the measures that were not ready are counted as skipped.

use std::time::{Duration, Instant};

/// How often the CPU times are read.
const POLL: Duration = Duration::from_millis(15);
/// Consecutive polls with no CPU tick and no thread running that make the process quiet.
const QUIET_POLLS: u32 = 2;

/// The kernel's id of the calling thread.
pub fn current_thread_id() -> u32 {
    // `/proc/thread-self` links to `<pid>/task/<tid>`.
    let link = std::fs::read_link("/proc/thread-self").expect("reading /proc/thread-self");
    link.file_name()
        .and_then(|name| name.to_str())
        .and_then(|name| name.parse().ok())
        .expect("/proc/thread-self ends in the thread id")
}

/// CPU ticks used so far by every thread not in `excluded`, and whether any of them is running
/// right now.
fn others_cpu(excluded: &[u32]) -> (u64, bool) {
    let mut ticks = 0;
    let mut running = false;
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return (0, false);
    };
    for task in tasks.flatten() {
        let Some(tid) = task
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u32>().ok())
        else {
            continue;
        };
        if excluded.contains(&tid) {
            continue;
        }
        // A thread may end between listing and reading: it then uses no CPU.
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        // Fields after the command name (which may hold spaces) in parentheses: state is the
        // first, utime and stime the 12th and 13th (proc(5)).
        let Some(after_name) = stat.rfind(')').map(|end| &stat[end + 2..]) else {
            continue;
        };
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        running |= fields.first() == Some(&"R");
        let field = |index: usize| -> u64 {
            fields
                .get(index)
                .and_then(|value| value.parse().ok())
                .unwrap_or(0)
        };
        ticks += field(11) + field(12);
    }
    (ticks, running)
}

/// Blocks until every thread not in `excluded` has been idle for a few polls, or `limit`
/// passed. Returns how long it waited.
pub fn wait_until_quiet(excluded: &[u32], limit: Duration) -> Duration {
    let start = Instant::now();
    let mut quiet_polls = 0;
    let (mut last_ticks, _) = others_cpu(excluded);
    while quiet_polls < QUIET_POLLS && start.elapsed() < limit {
        std::thread::sleep(POLL);
        let (ticks, running) = others_cpu(excluded);
        if ticks == last_ticks && !running {
            quiet_polls += 1;
        } else {
            quiet_polls = 0;
        }
        last_ticks = ticks;
    }
    start.elapsed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    #[test]
    fn a_busy_thread_is_waited_for_and_an_idle_one_is_not() {
        let me = current_thread_id();
        // Nothing else runs in this test: quiet after the two polls.
        let idle_wait = wait_until_quiet(&[me], Duration::from_secs(5));
        assert!(
            idle_wait < Duration::from_secs(1),
            "waited {idle_wait:?} with nothing to do"
        );

        // A thread that spins for 300 ms keeps the process busy at least that long.
        let stop = Arc::new(AtomicBool::new(false));
        let spinning = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let begun = Instant::now();
                while begun.elapsed() < Duration::from_millis(300) && !stop.load(Ordering::Relaxed)
                {
                    std::hint::spin_loop();
                }
            })
        };
        std::thread::sleep(Duration::from_millis(20));
        let busy_wait = wait_until_quiet(&[me], Duration::from_secs(5));
        stop.store(true, Ordering::Relaxed);
        spinning.join().expect("the spinning thread ends");
        assert!(
            busy_wait >= Duration::from_millis(250),
            "stopped waiting after {busy_wait:?} while a thread still spun"
        );
    }
}

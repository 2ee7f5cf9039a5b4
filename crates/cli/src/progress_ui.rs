//! Progress on stderr for the long commands (`build-catalog`, `eval`,
//! `simulate`): on a terminal, one bar per phase with its count, rate and
//! ETA (indicatif), notes printed above it; elsewhere (a pipe, a test, CI)
//! plain lines `[   1.23 s] phase: done/total (p %, ETA …)`, at most one per
//! tenth of a phase plus its first and last, and every note as a line.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use recagent_cli::Progress;

/// Draws [`Progress`] events (see the module docs).
pub(crate) struct Reporter {
    start: Instant,
    /// Draw bars (stderr is a terminal) or print plain lines.
    bars: bool,
    /// The current phase's bar (terminal).
    bar: Option<(String, ProgressBar)>,
    /// Which steps of the current phase get a plain line.
    throttle: Throttle,
}

impl Reporter {
    /// Bars when stderr is a terminal, plain lines otherwise.
    pub(crate) fn new() -> Self {
        Self {
            start: Instant::now(),
            bars: std::io::stderr().is_terminal(),
            bar: None,
            throttle: Throttle::default(),
        }
    }

    /// Draws one event.
    pub(crate) fn report(&mut self, event: Progress) {
        match event {
            Progress::Step { phase, done, total } => self.step(&phase, done, total),
            Progress::Note(text) => self.note(&text),
        }
    }

    /// One line of information, time-stamped.
    pub(crate) fn note(&mut self, text: &str) {
        let line = format!("[{:7.2} s] {text}", self.start.elapsed().as_secs_f64());
        match &self.bar {
            Some((_, bar)) if !bar.is_finished() => bar.println(line),
            _ => eprintln!("{line}"),
        }
    }

    /// `done` of `total` of `phase` (a phase with nothing to do draws nothing).
    pub(crate) fn step(&mut self, phase: &str, done: usize, total: usize) {
        if total == 0 {
            return;
        }
        let done = done.min(total);
        if !self.bars {
            if let Some(eta) = self.throttle.admit(phase, done, total) {
                let percent = done.saturating_mul(100) / total;
                let eta = eta.map(|s| format!(", ETA {}", seconds(s))).unwrap_or_default();
                self.note(&format!("{phase}: {done}/{total} ({percent} %{eta})"));
            }
            return;
        }
        if self.bar.as_ref().is_none_or(|(p, _)| p != phase) {
            self.finish();
            let bar = ProgressBar::new(total as u64);
            let style = ProgressStyle::with_template(
                "[{elapsed_precise}] {prefix} [{bar:30}] {human_pos}/{human_len} ({per_sec}, ETA {eta})",
            )
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_prefix(phase.to_string());
            bar.enable_steady_tick(Duration::from_millis(500));
            self.bar = Some((phase.to_string(), bar));
        }
        if let Some((_, bar)) = &self.bar {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
            if done == total && !bar.is_finished() {
                bar.finish();
            }
        }
    }

    /// Ends the current bar, leaving its last state on screen.
    pub(crate) fn finish(&mut self) {
        if let Some((_, bar)) = self.bar.take() {
            if !bar.is_finished() {
                bar.abandon();
            }
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.finish();
    }
}

/// `12 s`, `3 min 05 s`, `2 h 01 min`.
fn seconds(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
    }
}

/// Chooses the plain lines: a phase's first step, then one whenever a
/// tenth more is done, and its last step; each with an ETA once there is
/// one.
#[derive(Default)]
struct Throttle {
    phase: String,
    /// `done` of the last line printed.
    last: usize,
    started: Option<Instant>,
}

impl Throttle {
    /// `None`: no line for this step; `Some(eta)`: print one, with the
    /// estimated seconds left when something is done already.
    fn admit(&mut self, phase: &str, done: usize, total: usize) -> Option<Option<f64>> {
        let now = Instant::now();
        if self.started.is_none() || self.phase != phase {
            self.phase = phase.to_string();
            self.last = done;
            self.started = Some(now);
            return Some(None);
        }
        let tenth = total.div_ceil(10).max(1);
        let due = (done == total && self.last != total) || done >= self.last.saturating_add(tenth);
        if !due {
            return None;
        }
        self.last = done;
        let elapsed = self.started.map_or(0.0, |t| now.duration_since(t).as_secs_f64());
        Some((done > 0 && done < total).then(|| elapsed * (total - done) as f64 / done as f64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_come_at_most_every_tenth_plus_first_and_last() {
        let mut t = Throttle::default();
        let printed: Vec<usize> = (0..=1000).filter(|&d| t.admit("p", d, 1000).is_some()).collect();
        assert_eq!(printed, vec![0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
        // Batches that jump: still one line per tenth or more, and the last.
        let mut t = Throttle::default();
        let printed: Vec<usize> = [0, 32, 64, 96, 128, 160, 170]
            .into_iter()
            .filter(|&d| t.admit("q", d, 170).is_some())
            .collect();
        assert_eq!(printed, vec![0, 32, 64, 96, 128, 160, 170]);
        let mut t = Throttle::default();
        let printed: Vec<usize> = [0, 1, 2, 3, 3].into_iter().filter(|&d| t.admit("e", d, 3).is_some()).collect();
        assert_eq!(printed, vec![0, 1, 2, 3], "small totals: every step, the last once");
        // A new phase starts over.
        assert!(t.admit("f", 0, 3).is_some());
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(seconds(12.4), "12 s");
        assert_eq!(seconds(185.0), "3 min 05 s");
        assert_eq!(seconds(7260.0), "2 h 01 min");
    }
}

//! What long offline work (building a catalog, evaluating, simulating)
//! reports while it runs: typed [`Progress`] events, so that the command
//! line can draw a bar with an ETA on a terminal and print plain lines
//! elsewhere, and a library caller can ignore them (`|_| {}`) or print them
//! (`|p| eprintln!("{p}")`).

use std::fmt;

/// One progress event.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// `done` of `total` units of `phase` are finished (`done <= total`).
    /// Events of one phase come in order, `done` never decreasing; the last
    /// one of a finished phase has `done == total`. A new `phase` name
    /// starts a new bar.
    Step {
        /// What is being counted, e.g. `text embeddings` (stable wording:
        /// it names the bar and the plain lines).
        phase: String,
        /// Units done so far.
        done: usize,
        /// Units in all.
        total: usize,
    },
    /// One line of information: a stage that finished, a figure.
    Note(String),
}

impl Progress {
    /// A [`Progress::Step`].
    pub fn step(phase: impl Into<String>, done: usize, total: usize) -> Self {
        Progress::Step {
            phase: phase.into(),
            done,
            total,
        }
    }

    /// A [`Progress::Note`].
    pub fn note(text: impl Into<String>) -> Self {
        Progress::Note(text.into())
    }
}

/// `phase: done/total` for a step, the text itself for a note.
impl fmt::Display for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Progress::Step { phase, done, total } => write!(f, "{phase}: {done}/{total}"),
            Progress::Note(text) => f.write_str(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_as_one_line() {
        assert_eq!(Progress::step("text embeddings", 3, 10).to_string(), "text embeddings: 3/10");
        assert_eq!(Progress::note("loaded").to_string(), "loaded");
    }
}

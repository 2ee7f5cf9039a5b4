//! Property tests of the redactor (proptest): idempotent on any text, and
//! linear — the characters its scanners look at (counted by
//! [`super::count_work`], tests only) grow in proportion to the text, on
//! random texts and on the repeated units that make a scanner quadratic.
//! Work is counted rather than timed, so the property does not depend on
//! the machine's load.

use proptest::prelude::*;

use super::{redact, work};

/// Identifiers, near misses and the redactor's own tags: what makes a
/// second pass see something the first pass left or made.
const WORDS: &[&str] = &[
    "+1 (555) 123-4567", "4111 1111 1111 1111", "4111-1111-1111-1111", "078-05-1120", "192.168.1.20",
    "DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "jane@example.com", "a@b.io", "https://bob:pw@host/x",
    "sk-abc123DEF456ghi789JKL0", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b", "1999", "(1995)", "4.5", "555", "12",
    "2024-01-15", "[email]", "[phone]", "[card]", "[secret]", "[iban]", "[ip]", "[id]", "[credentials]", "://", "@",
    "(", ")", "-", ".", "+", " ", "\n", "x", "é", "😀",
];

/// Characters the scanners look at, weighted towards digits and separators.
const ALPHABET: &[char] = &[
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '1', '5', ' ', ' ', '-', '.', '(', ')', '+', '@', ':', '/',
    'a', 'B', 'x', 'E', '_', '?', '#', '[', ']', '=', '\n', 'é',
];

/// A text of fragments: identifiers, runs of the scanners' characters and
/// arbitrary characters, concatenated.
fn text() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        3 => prop::sample::select(WORDS).prop_map(str::to_string),
        3 => prop::collection::vec(prop::sample::select(ALPHABET), 1..24).prop_map(|c| c.into_iter().collect()),
        1 => any::<String>(),
    ];
    prop::collection::vec(fragment, 0..12).prop_map(|f| f.concat())
}

/// Work of one redaction of `text`.
fn work_of(text: &str) -> u64 {
    let before = work();
    let _ = redact(text);
    work() - before
}

/// `unit` repeated to at least `chars` characters.
fn repeated(unit: &str, chars: usize) -> String {
    let n = unit.chars().count().max(1);
    unit.repeat(chars.div_ceil(n))
}

/// The most characters looked at per character of text, measured on the
/// random and adversarial inputs below and rounded up with room to spare
/// (the scanners read each character a bounded number of times: 5 passes,
/// each looking a few characters around every position).
const MAX_WORK_PER_CHAR: u64 = 64;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// Redacting twice gives what redacting once gives (it did not when a
    /// number glued by a bracket to a later number was left in clear after
    /// the later one was redacted: `+1 (555) 123-4567(4111-1111-1111-1111`;
    /// proptest-regressions/agent/redact/properties.txt and the fuzz
    /// corpus's `redact/regress-*` hold the inputs found).
    #[test]
    fn redaction_is_idempotent(text in text()) {
        let once = redact(&text);
        prop_assert_eq!(redact(&once), once);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Any text costs at most a constant amount of work per character.
    #[test]
    fn work_is_bounded_per_character(text in text()) {
        let chars = text.chars().count() as u64;
        let spent = work_of(&text);
        let passes = passes_of(&text);
        prop_assert!(spent <= MAX_WORK_PER_CHAR * passes * (chars + 1), "{spent} for {chars} characters in {passes} passes");
    }

    /// Doubling a text made of a repeated unit (what makes a scanner that
    /// restarts inside a run quadratic) at most doubles the work, with a
    /// margin: a quadratic scanner would quadruple it.
    #[test]
    fn doubling_a_repeated_unit_doubles_the_work(
        unit in prop_oneof![
            prop::collection::vec(prop::sample::select(ALPHABET), 1..8).prop_map(|c| c.into_iter().collect::<String>()),
            prop::sample::select(WORDS).prop_map(|w| format!("{w} ")),
        ],
        chars in 2_000usize..4_000,
    ) {
        let small = work_of(&repeated(&unit, chars));
        let large = work_of(&repeated(&unit, 2 * chars));
        prop_assert!(large * 10 <= small * 25 + 1_000, "{unit:?}: {small} then {large} on twice the text");
    }

    /// The same for two independent random texts: the work on both together
    /// is about the sum of the work on each.
    #[test]
    fn work_on_a_concatenation_is_about_the_sum(a in text(), b in text()) {
        let (wa, wb) = (work_of(&a), work_of(&b));
        let both = work_of(&(a + &b));
        prop_assert!(both <= 2 * (wa + wb) + 1_000, "{wa} + {wb} but {both} together");
    }
}

/// How many passes `redact` makes over `text`: until one changes nothing.
fn passes_of(text: &str) -> u64 {
    let mut chars: Vec<char> = text.chars().collect();
    let mut passes = 0;
    while passes < super::MAX_PASSES as u64 {
        passes += 1;
        let again = super::redact_pass(&chars);
        if again == chars {
            break;
        }
        chars = again;
    }
    passes
}

/// The inputs that made the earlier redactor quadratic or worse
/// (`tests::adversarial_texts`): 200 KB cost twice the work of 100 KB,
/// within 25 %, and at most [`MAX_WORK_PER_CHAR`] per character.
#[test]
fn adversarial_texts_cost_linear_work() {
    let small = super::tests::adversarial_texts(100_000);
    let large = super::tests::adversarial_texts(200_000);
    for (s, l) in small.iter().zip(&large) {
        let (ws, wl) = (work_of(s), work_of(l));
        assert!(wl * 10 <= ws * 25, "{:?}: {ws} then {wl} on twice the text", &s[..8]);
        // Each pass looks at most MAX_WORK_PER_CHAR times per character;
        // `redact` repeats the pass until nothing changes (at most MAX_PASSES).
        let passes = passes_of(l);
        assert!(passes <= super::MAX_PASSES as u64, "{:?}: {passes} passes", &s[..8]);
        assert!(wl <= MAX_WORK_PER_CHAR * passes * l.chars().count() as u64, "{:?}: {wl} in {passes} passes", &s[..8]);
    }
}


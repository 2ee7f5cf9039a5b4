//! Redaction of obvious personal identifiers and secrets, applied to every
//! string that goes into an outbound request, at every share level.
//!
//! Hand-written scanners (no `regex` crate in the core, for wasm size):
//! credentials in URLs → `[credentials]@`, e-mail addresses → `[email]`,
//! API-key-like tokens → `[secret]`, IBANs (mod-97 checked) → `[iban]`,
//! IPv4 addresses → `[ip]`, US SSNs (`ddd-dd-dddd`) → `[id]`, payment card
//! numbers (13–19 digits passing Luhn) → `[card]`, phone numbers → `[phone]`.
//! Years (`1995`), ratings (`4.5`) and dates (`2024-01-15`) stay.
//!
//! Linear time: every pass reads each character a bounded number of times,
//! whatever the text (a hostile endpoint can put any text in an answer,
//! which is replayed as history through here on every request). The
//! property test in `tests.rs` holds the output to the earlier quadratic
//! redactor (`reference.rs`) on random inputs.

mod number;
#[cfg(test)]
mod reference;
#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;

#[cfg(test)]
thread_local! {
    /// Characters the scanners have looked at on this thread (tests only):
    /// the work the linearity property in `properties.rs` counts.
    static WORK: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Characters looked at on this thread so far (tests only).
#[cfg(test)]
pub(super) fn work() -> u64 {
    WORK.with(std::cell::Cell::get)
}

/// Counts `n` characters looked at; compiles to nothing outside tests.
#[inline(always)]
pub(super) fn count_work(n: usize) {
    #[cfg(test)]
    WORK.with(|w| w.set(w.get() + n as u64));
    let _ = n;
}

/// Redacts `text` (see the module docs). Idempotent: redacting twice gives
/// the same text as redacting once. Runs in time linear in `text`.
pub fn redact(text: &str) -> String {
    // A replacement can change what the scanners read around it: it can end
    // a run of digit groups where it used to go on (`123-4567(4111-1111-
    // 1111-1111` → `123-4567([card]`, the number before the bracket now
    // stands alone), or take the white space out of `://DE89 3704 …@` so the
    // URL credentials scanner now matches. So the passes run again until
    // nothing changes: redacting twice gives what redacting once gave. Each
    // pass is linear; text with nothing to redact needs one, most other
    // texts two.
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..MAX_PASSES {
        let again = redact_pass(&chars);
        if again == chars {
            return chars.into_iter().collect();
        }
        chars = again;
    }
    // Still changing after MAX_PASSES: a text crafted to nest identifiers
    // (`(411-17(411-17(…` glued by brackets, one more found per pass). Nothing
    // of it is sent: the whole text is withheld, which is also what redacting
    // the placeholder gives, so the result stays idempotent.
    WITHHELD.to_string()
}

/// At most this many passes (see [`redact`]); a text still changing after
/// them is one crafted to nest identifiers in brackets this deep.
const MAX_PASSES: usize = 4;

/// What a text that does not settle within [`MAX_PASSES`] passes becomes
/// (see [`redact`]): nothing in it is an identifier, so it redacts to itself.
pub const WITHHELD: &str = "[withheld: text nests identifiers too deep to redact]";

/// One pass of every scanner over `chars`.
fn redact_pass(chars: &[char]) -> Vec<char> {
    let mut chars = url_credentials(chars);
    for matcher in [email as Matcher, secret, iban, number::number] {
        chars = apply(&chars, matcher);
    }
    chars
}

/// Tries to match at `i`; returns where the match ends and its replacement.
type Matcher = fn(&[char], usize) -> Option<(usize, String)>;

fn apply(chars: &[char], matcher: Matcher) -> Vec<char> {
    let mut out = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        match matcher(chars, i) {
            Some((end, replacement)) if end > i => {
                out.extend(replacement.chars());
                i = end;
            }
            _ => {
                out.push(chars[i]);
                i += 1;
            }
        }
    }
    out
}

pub(super) fn at(chars: &[char], i: usize) -> Option<char> {
    count_work(1);
    chars.get(i).copied()
}

pub(super) fn prev_is(chars: &[char], i: usize, f: impl Fn(char) -> bool) -> bool {
    i > 0 && at(chars, i - 1).is_some_and(f)
}

fn starts_with(chars: &[char], i: usize, s: &str) -> bool {
    s.chars().enumerate().all(|(k, c)| at(chars, i + k) == Some(c))
}

/// `scheme://user:pass@host` → `scheme://[credentials]@host`: after each
/// `://`, the text up to the first `@` when no white space, `/`, `?` or `#`
/// comes first. One pass over a table of where the next of those stops is,
/// so a text of many `://` costs no more than one.
fn url_credentials(chars: &[char]) -> Vec<char> {
    // next_stop[k]: the first index >= k holding `@`, white space, `/`, `?` or `#`.
    count_work(chars.len());
    let mut next_stop = vec![chars.len(); chars.len() + 1];
    for k in (0..chars.len()).rev() {
        next_stop[k] = if chars[k] == '@' || chars[k].is_whitespace() || "/?#".contains(chars[k]) {
            k
        } else {
            next_stop[k + 1]
        };
    }
    let mut out = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        if starts_with(chars, i, "://") {
            let start = i + 3;
            let stop = next_stop.get(start).copied().unwrap_or(chars.len());
            if stop > start && at(chars, stop) == Some('@') {
                out.extend("://[credentials]@".chars());
                i = stop + 1;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

fn is_local(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._%+-".contains(c)
}

fn email(chars: &[char], i: usize) -> Option<(usize, String)> {
    if !at(chars, i).is_some_and(|c| c.is_ascii_alphanumeric()) || prev_is(chars, i, is_local) {
        return None;
    }
    let mut j = i;
    while at(chars, j).is_some_and(is_local) {
        j += 1;
    }
    if at(chars, j) != Some('@') {
        return None;
    }
    let domain_start = j + 1;
    let mut k = domain_start;
    while at(chars, k).is_some_and(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-') {
        k += 1;
    }
    while k > domain_start && at(chars, k - 1).is_some_and(|c| c == '.' || c == '-') {
        k -= 1;
    }
    let domain: String = chars.get(domain_start..k)?.iter().collect();
    let tld = domain.rsplit('.').next().unwrap_or("");
    let ok = domain.contains('.')
        && !domain.starts_with('.')
        && tld.len() >= 2
        && tld.chars().all(|c| c.is_ascii_alphabetic());
    ok.then(|| (k, "[email]".to_string()))
}

fn is_token(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_-+/=".contains(c)
}

/// API keys (`sk-…`, `ghp_…`, …) and long hex / base64 runs.
fn secret(chars: &[char], i: usize) -> Option<(usize, String)> {
    if !at(chars, i).is_some_and(|c| c.is_ascii_alphanumeric()) || prev_is(chars, i, is_token) {
        return None;
    }
    let mut j = i;
    while at(chars, j).is_some_and(is_token) {
        j += 1;
    }
    let token: String = chars.get(i..j)?.iter().collect();
    let len = token.chars().count();
    let prefixed = ["sk-", "sk_", "pk_", "rk_", "ghp_", "gho_", "xoxb-", "xoxp-", "AKIA", "AIza"]
        .iter()
        .any(|p| token.starts_with(p))
        && len >= 20;
    let digits = token.chars().filter(char::is_ascii_digit).count();
    let letters = token.chars().filter(char::is_ascii_alphabetic).count();
    let separators = token.chars().filter(|c| "-/_".contains(*c)).count();
    let random = len >= 32 && digits >= 2 && letters >= 2 && separators * 10 <= len;
    (prefixed || random).then(|| (j, "[secret]".to_string()))
}

fn iban(chars: &[char], i: usize) -> Option<(usize, String)> {
    let upper = |k: usize| at(chars, k).is_some_and(|c| c.is_ascii_uppercase());
    let digit = |k: usize| at(chars, k).is_some_and(|c| c.is_ascii_digit());
    if prev_is(chars, i, |c| c.is_ascii_alphanumeric()) || !(upper(i) && upper(i + 1) && digit(i + 2) && digit(i + 3)) {
        return None;
    }
    // (char, index just past it), spaces between groups skipped.
    let mut collected: Vec<(char, usize)> = Vec::new();
    let mut k = i;
    while collected.len() < 34 {
        match at(chars, k) {
            Some(c) if c.is_ascii_uppercase() || c.is_ascii_digit() => {
                collected.push((c, k + 1));
                k += 1;
            }
            Some(' ') if at(chars, k + 1).is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) => k += 1,
            _ => break,
        }
    }
    // The check rotates the first four characters to the end: the remainder
    // of body (characters 4..len) is grown one character at a time, and the
    // four head characters are appended to each candidate length in O(1).
    let mut body_rem = Vec::with_capacity(collected.len() + 1);
    let mut rem = 0u32;
    for (k, &(c, _)) in collected.iter().enumerate() {
        if k >= 4 {
            rem = mod97_push(rem, c)?;
        }
        body_rem.push(rem);
    }
    for len in (15..=collected.len()).rev() {
        let end = collected.get(len - 1)?.1;
        if at(chars, end).is_some_and(|c| c.is_ascii_alphanumeric()) {
            continue;
        }
        let mut rem = *body_rem.get(len - 1)?;
        for &(c, _) in collected.iter().take(4) {
            rem = mod97_push(rem, c)?;
        }
        if rem == 1 {
            return Some((end, "[iban]".to_string()));
        }
    }
    None
}

/// `rem` (a remainder mod 97 of a digit string) with the digits of `c`
/// appended (`0`–`9` one digit, `A`–`Z` the two digits of 10–35).
fn mod97_push(rem: u32, c: char) -> Option<u32> {
    let v = c.to_digit(36)?;
    Some(if v >= 10 { (rem * 100 + v) % 97 } else { (rem * 10 + v) % 97 })
}

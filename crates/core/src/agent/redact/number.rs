//! Numbers in text: a run of digit groups joined by short separators, told
//! apart as payment cards, phone numbers, IPv4 addresses and US SSNs.
//!
//! A run is scanned once. Its space-separated pieces are joined only while
//! the join holds at most [`MAX_DIGITS`] digits (no tag covers more), and
//! the few places where a scan could start again inside a failed run (just
//! after a `(` or `)`) are tried within the same call, each against a
//! bounded window. So a run costs time linear in its length, however many
//! numbers it holds.

use super::{at, count_work, prev_is};

/// Most digits any tag covers (a 19-digit card number): a join of more
/// digits can never be classified, so it is never built.
const MAX_DIGITS: usize = 19;

fn is_sep(c: char) -> bool {
    " -.()".contains(c)
}

fn is_digit_at(chars: &[char], k: usize) -> bool {
    at(chars, k).is_some_and(|c| c.is_ascii_digit())
}

/// Whether a number may start at `k`: a digit, or `+`/`(` before a digit,
/// not glued to a word or another number.
fn opens_at(chars: &[char], k: usize) -> bool {
    let Some(c) = at(chars, k) else { return false };
    let opens = c.is_ascii_digit() || ((c == '+' || c == '(') && is_digit_at(chars, k + 1));
    opens && !prev_is(chars, k, |c| c.is_alphanumeric() || c == '_' || c == '+' || c == '.' || c == '-')
}

/// Where the run starting at `i` ends: digit groups joined by one or two
/// separators.
fn run_end(chars: &[char], i: usize) -> usize {
    let mut k = if is_digit_at(chars, i) { i } else { i + 1 };
    loop {
        while is_digit_at(chars, k) {
            k += 1;
        }
        let end = k;
        let mut s = k;
        while s < k + 2 && at(chars, s).is_some_and(is_sep) {
            s += 1;
        }
        if s > k && is_digit_at(chars, s) {
            k = s;
        } else {
            return end;
        }
    }
}

/// The run of digit groups at `i` (see the module docs), its replacement
/// covering the whole run; `None` when no number starts at `i`.
pub(super) fn number(chars: &[char], i: usize) -> Option<(usize, String)> {
    if !opens_at(chars, i) {
        return None;
    }
    let end = run_end(chars, i);
    let run = chars.get(i..end)?;
    // Glued to a word: no number here, nor at any later start inside the run
    // (every scan from inside it ends at the same place).
    if at(chars, end).is_some_and(|c| c.is_alphanumeric() || c == '_') {
        return Some((end, run.iter().collect()));
    }
    let table = Run::new(chars, i, end);
    if let Some(replaced) = table.replace_from_start() {
        return Some((end, replaced));
    }
    // Nothing in the run from `i`: a scan could start again only just after
    // a `(` or `)` inside a piece (a start after a space begins a piece, and
    // every join of whole pieces has just failed).
    for j in i + 1..end {
        if prev_is(chars, j, |c| c == '(' || c == ')') && opens_at(chars, j) {
            if let Some(tail) = table.replace_from_inside(j) {
                let mut out: String = chars.get(i..j)?.iter().collect();
                out.push_str(&tail);
                return Some((end, out));
            }
        }
    }
    Some((end, run.iter().collect()))
}

/// A run cut into its space-separated pieces, with digit counts.
struct Run<'a> {
    chars: &'a [char],
    end: usize,
    /// `[start, end)` of every piece, in order; pieces are separated by
    /// exactly one space, so the pieces `p..q` joined by spaces are the text
    /// from the start of `p` to the end of `q - 1`.
    pieces: Vec<(usize, usize)>,
    /// `digits[k - first]`: digits in `chars[first..k]`.
    digits: Vec<usize>,
    first: usize,
}

impl<'a> Run<'a> {
    fn new(chars: &'a [char], first: usize, end: usize) -> Self {
        count_work(end.saturating_sub(first));
        let mut pieces = Vec::new();
        let mut start = first;
        let mut digits = Vec::with_capacity(end - first + 1);
        digits.push(0);
        let mut count = 0;
        for k in first..end {
            if chars[k] == ' ' {
                pieces.push((start, k));
                start = k + 1;
            }
            if chars[k].is_ascii_digit() {
                count += 1;
            }
            digits.push(count);
        }
        pieces.push((start, end));
        Run { chars, end, pieces, digits, first }
    }

    fn digits_between(&self, a: usize, b: usize) -> usize {
        let at = |k: usize| self.digits.get(k - self.first).copied().unwrap_or(0);
        at(b).saturating_sub(at(a))
    }

    /// The tag of the longest join that starts at `from` (a piece start, or
    /// a position inside piece `p`) and ends at the end of a piece `p..`,
    /// with its end; joins of more than [`MAX_DIGITS`] digits are skipped.
    fn longest_tag(&self, from: usize, p: usize) -> Option<(&'static str, usize)> {
        let mut q = p;
        while q + 1 < self.pieces.len() && self.digits_between(from, self.pieces[q + 1].1) <= MAX_DIGITS {
            q += 1;
        }
        (p..=q).rev().find_map(|last| {
            let to = self.pieces[last].1;
            if self.digits_between(from, to) > MAX_DIGITS {
                return None;
            }
            classify(self.chars.get(from..to)?).map(|tag| (tag, last))
        })
    }

    /// The run read from its start: the whole run as one number, else its
    /// pieces left to right, each replaced with the longest join from it
    /// that is a number. `None` when nothing changes.
    fn replace_from_start(&self) -> Option<String> {
        let whole = self.chars.get(self.first..self.end)?;
        if self.digits_between(self.first, self.end) <= MAX_DIGITS {
            if let Some(tag) = classify(whole) {
                return Some(tag.to_string());
            }
        }
        let mut out: Vec<String> = Vec::with_capacity(self.pieces.len());
        let mut changed = false;
        let mut p = 0;
        while p < self.pieces.len() {
            let (start, end) = self.pieces[p];
            match self.longest_tag(start, p) {
                Some((tag, last)) => {
                    out.push(tag.to_string());
                    changed = true;
                    p = last + 1;
                }
                None => {
                    out.push(self.chars.get(start..end)?.iter().collect());
                    p += 1;
                }
            }
        }
        changed.then(|| out.join(" "))
    }

    /// The run read from `j`, inside a piece: only joins that start at `j`
    /// can be new (every join of whole pieces has failed), so this is the
    /// longest of them replaced and the rest of the run as it is.
    fn replace_from_inside(&self, j: usize) -> Option<String> {
        // Pieces are in order: the last one starting at or before `j`.
        let p = self.pieces.partition_point(|&(s, _)| s <= j).checked_sub(1)?;
        let (tag, last) = self.longest_tag(j, p)?;
        let rest: String = self.chars.get(self.pieces[last].1..self.end)?.iter().collect();
        Some(format!("{tag}{rest}"))
    }
}

/// What a run of digit groups is, if anything: `[ip]`, `[id]`, `[card]` or
/// `[phone]`. Reads the run once and allocates nothing.
fn classify(run: &[char]) -> Option<&'static str> {
    count_work(run.len());
    let plus = run.first() == Some(&'+');
    let paren = run.contains(&'(') || run.contains(&')');
    let body = run.get(usize::from(plus)..)?;

    // The groups of digits, and the separators: the text before each group
    // but the first, and text before the first group counts as one too.
    let mut groups = 0usize;
    let mut n = 0usize;
    let mut lens = [0usize; 4];
    let mut ip_groups = true; // every group at most 3 digits and at most 255
    let mut years = true; // every group 4 digits starting 19 or 20
    let (mut all_dot, mut all_dash, mut card_seps) = (true, true, true);
    let mut cur_len = 0usize;
    let mut cur_value = 0u32;
    let mut cur_prefix = [' '; 2];
    let mut sep_len = 0usize;
    let mut sep_char = ' ';
    for &c in body {
        if c.is_ascii_digit() {
            if cur_len == 0 && sep_len > 0 {
                // a separator before this group
                all_dot &= sep_len == 1 && sep_char == '.';
                all_dash &= sep_len == 1 && sep_char == '-';
                card_seps &= sep_len == 1 && (sep_char == ' ' || sep_char == '-');
                sep_len = 0;
            }
            if cur_len < 2 {
                cur_prefix[cur_len] = c;
            }
            cur_len += 1;
            cur_value = cur_value.saturating_mul(10).saturating_add(c.to_digit(10).unwrap_or(0));
        } else {
            if cur_len > 0 {
                end_group(cur_len, cur_value, cur_prefix, &mut groups, &mut lens, &mut ip_groups, &mut years);
                n += cur_len;
                cur_len = 0;
                cur_value = 0;
            }
            if sep_len == 0 {
                sep_char = c;
            }
            sep_len += 1;
        }
    }
    if cur_len > 0 {
        end_group(cur_len, cur_value, cur_prefix, &mut groups, &mut lens, &mut ip_groups, &mut years);
        n += cur_len;
    }
    if groups == 0 {
        return None;
    }
    if !plus && !paren && groups == 4 && all_dot && ip_groups {
        return Some("[ip]");
    }
    if !plus && !paren && groups == 3 && lens[..3] == [3, 2, 4] && all_dash {
        return Some("[id]");
    }
    if !plus && !paren && (13..=19).contains(&n) && card_seps && luhn(body) {
        return Some("[card]");
    }
    let phone = (plus && (8..=15).contains(&n))
        || (paren && (10..=11).contains(&n))
        || ((10..=15).contains(&n) && groups >= 2 && !years && !all_dot)
        || ((10..=15).contains(&n) && groups == 3 && all_dot && lens[0] == 3);
    phone.then_some("[phone]")
}

/// Records a finished group of `len` digits (`value`, first two digits `prefix`).
fn end_group(
    len: usize,
    value: u32,
    prefix: [char; 2],
    groups: &mut usize,
    lens: &mut [usize; 4],
    ip_groups: &mut bool,
    years: &mut bool,
) {
    if let Some(slot) = lens.get_mut(*groups) {
        *slot = len;
    }
    *groups += 1;
    *ip_groups &= len <= 3 && value <= 255;
    *years &= len == 4 && (prefix == ['1', '9'] || prefix == ['2', '0']);
}

/// The Luhn check over the digits of `text` (other characters skipped).
fn luhn(text: &[char]) -> bool {
    let mut sum = 0;
    for (k, d) in text.iter().rev().filter_map(|c| c.to_digit(10)).enumerate() {
        let mut d = d;
        if k % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

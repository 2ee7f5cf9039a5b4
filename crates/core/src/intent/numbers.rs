//! Numeric constraints in a request: years and decades ("the 90s",
//! "seventies", "1940s", "early 80s"), before/after/since/until/between,
//! an exact year, and "under/over/at most N <unit>" for other numeric
//! attributes (prices, durations, ratings).

use super::tokens::Token;
use super::vocab::{NumericAttribute, Vocabulary};

/// A numeric range found in the request.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeFound {
    /// Attribute name.
    pub attribute: String,
    /// Lower bound (inclusive).
    pub min: Option<f64>,
    /// Upper bound (inclusive).
    pub max: Option<f64>,
    /// First token of the phrase.
    pub start: usize,
    /// One past its last token.
    pub end: usize,
}

const DECADE_WORDS: &[(&str, u32)] = &[
    ("twenties", 20), ("thirties", 30), ("forties", 40), ("fifties", 50), ("sixties", 60),
    ("seventies", 70), ("eighties", 80), ("nineties", 90), ("noughties", 0), ("aughts", 0),
];

/// A time expression: the years it covers and the tokens it spans.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Span {
    lo: f64,
    hi: f64,
    start: usize,
    end: usize,
}

fn word(tokens: &[Token], i: usize) -> &str {
    tokens.get(i).map_or("", |t| t.norm.as_str())
}

/// The century that puts decade `d` (0..=90) inside the attribute's years,
/// the latest one when several do.
fn century(d: u32, attr: &NumericAttribute) -> f64 {
    let mut best = 1900.0;
    for c in [1800.0, 1900.0, 2000.0] {
        let lo = c + f64::from(d);
        if lo + 9.0 >= attr.min && lo <= attr.max {
            best = c;
        }
    }
    best
}

/// A decade or a year at token `i` (with "early/mid/late" before a decade).
fn time_at(tokens: &[Token], i: usize, attr: &NumericAttribute) -> Option<Span> {
    let t = tokens.get(i)?;
    let w = t.norm.as_str();
    let decade = if let Some(digits) = w.strip_suffix('s').filter(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit())) {
        match digits.len() {
            2 => digits.parse::<u32>().ok().filter(|d| d % 10 == 0).map(|d| century(d, attr) + f64::from(d)),
            4 => digits.parse::<u32>().ok().filter(|d| d % 10 == 0 && (1800..=2100).contains(d)).map(f64::from),
            _ => None,
        }
    } else if let Some((_, d)) = DECADE_WORDS.iter().find(|(name, _)| *name == w) {
        let c = if word(tokens, i.wrapping_sub(1)) == "nineteen" { 1900.0 } else if word(tokens, i.wrapping_sub(1)) == "eighteen" { 1800.0 } else { century(*d, attr) };
        Some(c + f64::from(*d))
    } else {
        None
    };
    if let Some(lo) = decade {
        let mut span = Span { lo, hi: lo + 9.0, start: i, end: i + 1 };
        if matches!(word(tokens, i.wrapping_sub(1)), "nineteen" | "eighteen") && i > 0 {
            span.start = i - 1;
        }
        let m = span.start.wrapping_sub(1);
        match word(tokens, m) {
            "early" => (span.hi, span.start) = (lo + 3.0, m),
            "mid" | "middle" => (span.lo, span.hi, span.start) = (lo + 3.0, lo + 6.0, m),
            "late" => (span.lo, span.start) = (lo + 6.0, m),
            _ => {}
        }
        return Some(span);
    }
    let n = t.number()?;
    if n.fract() == 0.0 && (1800.0..=2100.0).contains(&n) && n >= attr.min - 100.0 && n <= attr.max + 100.0 {
        return Some(Span { lo: n, hi: n, start: i, end: i + 1 });
    }
    // '85: a two-digit year written with an apostrophe.
    if t.norm.len() == 2 && t.sep.ends_with(['\'', '’']) && n.fract() == 0.0 {
        let d = n as u32;
        let c = century(d - d % 10, attr);
        return Some(Span { lo: c + n, hi: c + n, start: i, end: i + 1 });
    }
    None
}

/// The end of a range written after `from`/`between` ("1980-90", "to 1989", "and the 80s").
fn range_end(tokens: &[Token], i: usize, first: Span, attr: &NumericAttribute) -> Option<Span> {
    let t = tokens.get(i)?;
    // "1980-90": a two-digit end in the first year's century.
    if let Some(n) = t.number().filter(|n| *n < 100.0 && n.fract() == 0.0) {
        let c = (first.lo / 100.0).floor() * 100.0;
        return Some(Span { lo: c + n, hi: c + n, start: i, end: i + 1 });
    }
    let skip = usize::from(word(tokens, i) == "the");
    time_at(tokens, i + skip, attr)
}

/// Words between an operator and its year that say nothing ("before the year 1950").
fn filler(w: &str) -> bool {
    matches!(w, "the" | "year" | "years" | "in" | "of" | "released" | "made" | "came" | "out" | "from" | "films" | "movies" | "film" | "movie" | "anything" | "something" | "stuff")
}

/// Finds the year constraints of a request; `used` marks the tokens taken.
pub fn find_years(tokens: &[Token], vocab: &Vocabulary, used: &mut [bool]) -> Vec<RangeFound> {
    let Some(attr) = vocab.year_attribute() else { return Vec::new() };
    let mut out: Vec<RangeFound> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if used.get(i).copied().unwrap_or(true) {
            i += 1;
            continue;
        }
        let Some(span) = time_at(tokens, i, attr) else {
            i += 1;
            continue;
        };
        // The operator: up to three words back, over fillers.
        let mut j = span.start;
        let mut op: &str = "";
        let mut op_start = span.start;
        for _ in 0..4 {
            if j == 0 || tokens.get(j).is_some_and(Token::clause_break) && j != span.start {
                break;
            }
            j -= 1;
            let w = word(tokens, j);
            let two = format!("{} {}", word(tokens, j.wrapping_sub(1)), w);
            let two_op: Option<&'static str> = match two.as_str() {
                "prior to" => Some("prior to"),
                "earlier than" | "older than" => Some("before"),
                "later than" | "newer than" => Some("after"),
                "up to" => Some("until"),
                "starting in" | "starting from" => Some("since"),
                _ => None,
            };
            let one_op: Option<&'static str> = match w {
                "before" | "pre" => Some("before"),
                "until" | "till" | "til" | "through" | "thru" | "by" => Some("until"),
                "after" | "post" | "past" => Some("after"),
                "since" | "starting" | "beginning" => Some("since"),
                "from" => Some("from"),
                "between" => Some("between"),
                _ => None,
            };
            let found = two_op.map(|o| (o, j.saturating_sub(1))).or_else(|| one_op.map(|o| (o, j)));
            if let Some((o, at)) = found {
                op = o;
                op_start = at;
                // "no later than", "nothing older than", "not before": the negation flips the bound.
                let before = word(tokens, at.wrapping_sub(1));
                if matches!(before, "no" | "not" | "nothing" | "none" | "never" | "nor" | "isnt" | "arent") && at > 0 {
                    op = match o {
                        "before" | "prior to" => "since",
                        "after" => "until",
                        "until" => "after",
                        "since" => "before",
                        other => other,
                    };
                    op_start = at - 1;
                }
                break;
            }
            if !filler(w) || used.get(j).copied().unwrap_or(true) {
                break;
            }
        }
        let mut start = if op.is_empty() { span.start } else { op_start };
        // Skip an article right before a bare decade ("the 90s").
        if op.is_empty() && start > 0 && word(tokens, start - 1) == "the" && !used.get(start - 1).copied().unwrap_or(true) {
            start -= 1;
        }
        let mut end = span.end;
        let (mut min, mut max) = (Some(span.lo), Some(span.hi));
        let next = word(tokens, end);
        let next2 = word(tokens, end + 1);
        match op {
            "before" | "prior to" => (min, max) = (None, Some(span.lo - 1.0)),
            "until" => (min, max) = (None, Some(span.hi)),
            "after" => (min, max) = (Some(span.hi + 1.0), None),
            "since" => (min, max) = (Some(span.lo), None),
            "from" | "between" => {
                let joined = matches!(next, "to" | "till" | "until" | "through" | "thru" | "and")
                    || tokens.get(end).is_some_and(|t| t.sep.contains(['-', '–', '—']));
                let skip = usize::from(matches!(next, "to" | "till" | "until" | "through" | "thru" | "and"));
                if let Some(second) = joined.then(|| range_end(tokens, end + skip, span, attr)).flatten() {
                    (min, max) = (Some(span.lo.min(second.lo)), Some(span.hi.max(second.hi)));
                    end = second.end;
                } else if op == "from" && matches!(next, "on" | "onwards" | "onward") {
                    (min, max) = (Some(span.lo), None);
                    end += 1;
                }
            }
            _ => {
                // "1995 or later", "1950 and earlier", "1990 onwards", "1980-1990", "1980 to 1990".
                let (later, earlier) = (["later", "newer", "after", "up", "on"], ["earlier", "older", "before", "prior"]);
                if matches!(next, "or" | "and") && later.contains(&next2) {
                    (min, max, end) = (Some(span.lo), None, end + 2);
                } else if matches!(next, "or" | "and") && earlier.contains(&next2) {
                    (min, max, end) = (None, Some(span.hi), end + 2);
                } else if matches!(next, "onwards" | "onward") {
                    (min, max, end) = (Some(span.lo), None, end + 1);
                } else if next == "to" || tokens.get(end).is_some_and(|t| t.sep.contains(['-', '–', '—'])) {
                    let skip = usize::from(next == "to");
                    if let Some(second) = range_end(tokens, end + skip, span, attr).filter(|s| s.hi >= span.lo) {
                        (min, max, end) = (Some(span.lo), Some(second.hi), second.end);
                    }
                }
            }
        }
        for u in used.iter_mut().take(end).skip(start) {
            *u = true;
        }
        // "nothing released in the 80s", "not from 1995": a range to leave
        // out, which a filter cannot say; better no constraint than its opposite.
        let negated = (matches!(op, "" | "from") && min.is_some() && max.is_some())
            && (0..=4).any(|back| matches!(word(tokens, start.wrapping_sub(back)), "no" | "not" | "nothing" | "none" | "never" | "isnt" | "arent" | "except" | "without"))
            && (1..=4).all(|back| back == 1 || start < back || !tokens[start + 1 - back].clause_break());
        if negated {
            i = end.max(i + 1);
            continue;
        }
        push_range(&mut out, tokens, RangeFound { attribute: attr.name.clone(), min, max, start, end });
        i = end.max(i + 1);
    }
    out
}

/// Adds a range: an "or" between it and an earlier range on the same
/// attribute joins them; otherwise they intersect (an empty intersection
/// joins them too, as a person cannot have meant nothing).
fn push_range(out: &mut Vec<RangeFound>, tokens: &[Token], r: RangeFound) {
    if let Some(prev) = out.iter_mut().rev().find(|p| p.attribute == r.attribute) {
        let or_between = (prev.end..r.start).any(|k| word(tokens, k) == "or");
        let lo = match (prev.min, r.min) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let hi = match (prev.max, r.max) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let empty = matches!((lo, hi), (Some(l), Some(h)) if l > h);
        if or_between || empty {
            prev.min = match (prev.min, r.min) {
                (Some(a), Some(b)) => Some(a.min(b)),
                _ => None,
            };
            prev.max = match (prev.max, r.max) {
                (Some(a), Some(b)) => Some(a.max(b)),
                _ => None,
            };
        } else {
            (prev.min, prev.max) = (lo, hi);
        }
        prev.end = r.end.max(prev.end);
        return;
    }
    out.push(r);
}

/// Units people put after a number, and the attribute-name words they point to.
const UNITS: &[(&[&str], &[&str])] = &[
    (&["dollar", "dollars", "usd", "bucks", "euro", "euros", "eur", "pounds", "gbp"], &["price", "cost", "amount", "usd", "eur"]),
    (&["minute", "minutes", "min", "mins"], &["minutes", "runtime", "duration", "length", "min", "time"]),
    (&["hour", "hours", "hr", "hrs", "h"], &["minutes", "runtime", "duration", "length", "hours", "time"]),
    (&["star", "stars", "rating", "rated"], &["rating", "stars", "score"]),
    (&["page", "pages"], &["pages", "length"]),
];

/// "under $20", "less than 90 minutes", "at least 4 stars", "over 2 hours":
/// bounds on the catalog's other numeric attributes (not years).
pub fn find_bounds(tokens: &[Token], vocab: &Vocabulary, used: &mut [bool]) -> Vec<RangeFound> {
    let others: Vec<&NumericAttribute> = vocab.numeric.iter().filter(|n| !n.is_year).collect();
    let mut out = Vec::new();
    if others.is_empty() {
        return out;
    }
    for i in 0..tokens.len() {
        if used.get(i).copied().unwrap_or(true) {
            continue;
        }
        let Some(n) = tokens.get(i).and_then(Token::number) else { continue };
        let (w1, w2) = (word(tokens, i.wrapping_sub(1)), format!("{} {}", word(tokens, i.wrapping_sub(2)), word(tokens, i.wrapping_sub(1))));
        let (upper, op_len) = match (w2.as_str(), w1) {
            ("less than" | "at most" | "no more" | "cheaper than" | "shorter than" | "up to" | "no over", _) => (Some(true), 2),
            ("more than" | "at least" | "longer than" | "no less", _) => (Some(false), 2),
            (_, "under" | "below" | "max" | "maximum" | "within" | "cheaper" | "shorter") => (Some(true), 1),
            (_, "over" | "above" | "min" | "minimum" | "longer") => (Some(false), 1),
            _ => (None, 0),
        };
        let Some(upper) = upper else { continue };
        let unit = word(tokens, i + 1);
        let money = tokens.get(i).is_some_and(|t| t.sep.contains(['$', '€', '£']));
        let targets: Vec<&str> = UNITS.iter().filter(|(units, _)| units.contains(&unit)).flat_map(|(_, names)| names.iter().copied()).collect();
        let attr = others.iter().find(|a| {
            a.words.iter().any(|w| unit == w.as_str() || targets.contains(&w.as_str()) || money && ["price", "cost"].contains(&w.as_str()))
        });
        let attr = attr.copied().or_else(|| others.first().copied().filter(|_| others.len() == 1 && targets.is_empty() && !money));
        let Some(attr) = attr else { continue };
        let hours = matches!(unit, "hour" | "hours" | "hr" | "hrs" | "h") && attr.words.iter().any(|w| w.starts_with("min") || w == "runtime" || w == "duration" || w == "length");
        let value = if hours { n * 60.0 } else { n };
        let start = i.saturating_sub(op_len);
        let end = if targets.is_empty() && !attr.words.iter().any(|w| w == unit) { i + 1 } else { i + 2 };
        for u in used.iter_mut().take(end).skip(start) {
            *u = true;
        }
        let (min, max) = if upper { (None, Some(value)) } else { (Some(value), None) };
        out.push(RangeFound { attribute: attr.name.clone(), min, max, start, end });
    }
    out
}

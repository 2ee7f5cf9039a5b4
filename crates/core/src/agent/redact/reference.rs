//! The redactor as it was before it was made linear (quadratic to quartic
//! on runs of numbers, quadratic on repeated `://`), kept verbatim as the
//! reference the property test holds the fast version to.
#![allow(dead_code)]

/// Redacts `text` (see the module docs). Idempotent: redacting twice gives
/// the same text as redacting once.
pub fn redact(text: &str) -> String {
    // The one change since: the passes run again until nothing changes (the
    // old single pass left a number before a bracket in clear when the number
    // after it was replaced, so redacting twice differed from redacting once),
    // and a text still changing after 4 passes is withheld as a whole.
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..4 {
        let mut again = chars.clone();
        for matcher in [url_credentials as Matcher, email, secret, iban, number] {
            again = apply(&again, matcher);
        }
        if again == chars {
            return chars.into_iter().collect();
        }
        chars = again;
    }
    "[withheld: text nests identifiers too deep to redact]".to_string()
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

fn at(chars: &[char], i: usize) -> Option<char> {
    chars.get(i).copied()
}

fn prev_is(chars: &[char], i: usize, f: impl Fn(char) -> bool) -> bool {
    i > 0 && at(chars, i - 1).is_some_and(f)
}

fn starts_with(chars: &[char], i: usize, s: &str) -> bool {
    s.chars().enumerate().all(|(k, c)| at(chars, i + k) == Some(c))
}

/// `scheme://user:pass@host` → `scheme://[credentials]@host`.
fn url_credentials(chars: &[char], i: usize) -> Option<(usize, String)> {
    if !starts_with(chars, i, "://") {
        return None;
    }
    let start = i + 3;
    let mut k = start;
    while let Some(c) = at(chars, k) {
        if c == '@' {
            return (k > start).then(|| (k + 1, "://[credentials]@".to_string()));
        }
        if c.is_whitespace() || "/?#".contains(c) {
            return None;
        }
        k += 1;
    }
    None
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
    for len in (15..=collected.len()).rev() {
        let end = collected.get(len - 1)?.1;
        if at(chars, end).is_some_and(|c| c.is_ascii_alphanumeric()) {
            continue;
        }
        let code: Vec<char> = collected.iter().take(len).map(|p| p.0).collect();
        if mod97(&code) == Some(1) {
            return Some((end, "[iban]".to_string()));
        }
    }
    None
}

fn mod97(code: &[char]) -> Option<u32> {
    let rotated = code.iter().skip(4).chain(code.iter().take(4));
    let mut rem: u32 = 0;
    for c in rotated {
        let v = c.to_digit(36)?;
        rem = if v >= 10 { (rem * 100 + v) % 97 } else { (rem * 10 + v) % 97 };
    }
    Some(rem)
}

fn is_sep(c: char) -> bool {
    " -.()".contains(c)
}

/// A run of digit groups joined by short separators: phones, cards, IPs, SSNs.
fn number(chars: &[char], i: usize) -> Option<(usize, String)> {
    let c = at(chars, i)?;
    let digit = |k: usize| at(chars, k).is_some_and(|c| c.is_ascii_digit());
    let opens = c.is_ascii_digit() || (c == '+' && digit(i + 1)) || (c == '(' && digit(i + 1));
    if !opens || prev_is(chars, i, |c| c.is_alphanumeric() || c == '_' || c == '+' || c == '.' || c == '-') {
        return None;
    }
    let mut k = if c.is_ascii_digit() { i } else { i + 1 };
    let mut end;
    loop {
        while digit(k) {
            k += 1;
        }
        end = k;
        // one or two separators, then a digit (or "(" and a digit)
        let mut s = k;
        while s < k + 2 && at(chars, s).is_some_and(is_sep) {
            s += 1;
        }
        if s > k && digit(s) {
            k = s;
        } else {
            break;
        }
    }
    if at(chars, end).is_some_and(|c| c.is_alphanumeric() || c == '_') {
        return None;
    }
    let run = chars.get(i..end)?;
    if let Some(tag) = classify(run) {
        return Some((end, tag.to_string()));
    }
    // Several numbers side by side: classify each space-separated piece.
    if !run.contains(&' ') {
        return None;
    }
    let text: String = run.iter().collect();
    let mut changed = false;
    let mut pieces = Vec::new();
    let parts: Vec<&str> = text.split(' ').collect();
    let mut p = 0;
    while p < parts.len() {
        // try the longest join of pieces starting at p first (e.g. "(555) 123-4567")
        let mut matched = false;
        for q in (p + 1..=parts.len()).rev() {
            let joined = parts[p..q].join(" ");
            let joined_chars: Vec<char> = joined.chars().collect();
            if let Some(tag) = classify(&joined_chars) {
                pieces.push(tag.to_string());
                changed = true;
                p = q;
                matched = true;
                break;
            }
        }
        if !matched {
            pieces.push(parts[p].to_string());
            p += 1;
        }
    }
    changed.then(|| (end, pieces.join(" ")))
}

fn classify(run: &[char]) -> Option<&'static str> {
    let plus = run.first() == Some(&'+');
    let paren = run.contains(&'(') || run.contains(&')');
    let mut groups: Vec<String> = Vec::new();
    let mut seps: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut sep = String::new();
    for &c in run.iter().skip(usize::from(plus)) {
        if c.is_ascii_digit() {
            if !cur.is_empty() || groups.is_empty() && cur.is_empty() && sep.is_empty() {
                cur.push(c);
            } else {
                seps.push(std::mem::take(&mut sep));
                cur.push(c);
            }
        } else {
            if !cur.is_empty() {
                groups.push(std::mem::take(&mut cur));
            }
            sep.push(c);
        }
    }
    if !cur.is_empty() {
        groups.push(cur);
    }
    if groups.is_empty() {
        return None;
    }
    let digits: String = groups.concat();
    let n = digits.len();
    let all_seps = |s: &str| seps.iter().all(|x| x == s);
    let lens: Vec<usize> = groups.iter().map(String::len).collect();
    if !plus && !paren && groups.len() == 4 && all_seps(".") {
        let ok = groups.iter().all(|g| g.len() <= 3 && g.parse::<u32>().is_ok_and(|v| v <= 255));
        if ok {
            return Some("[ip]");
        }
    }
    if !plus && !paren && lens == [3, 2, 4] && all_seps("-") {
        return Some("[id]");
    }
    let card_seps = seps.iter().all(|s| s == " " || s == "-");
    if !plus && !paren && (13..=19).contains(&n) && card_seps && luhn(&digits) {
        return Some("[card]");
    }
    let years = groups.iter().all(|g| g.len() == 4 && (g.starts_with("19") || g.starts_with("20")));
    let phone = (plus && (8..=15).contains(&n))
        || (paren && (10..=11).contains(&n))
        || ((10..=15).contains(&n) && groups.len() >= 2 && !years && !all_seps("."))
        || ((10..=15).contains(&n) && groups.len() == 3 && all_seps(".") && lens.first() == Some(&3));
    phone.then_some("[phone]")
}

fn luhn(digits: &str) -> bool {
    let mut sum = 0;
    for (k, c) in digits.chars().rev().enumerate() {
        let Some(mut d) = c.to_digit(10) else { return false };
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


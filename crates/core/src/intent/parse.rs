//! The parser: titles first (so "Star Wars" is not read as the genre War),
//! then numeric phrases, then category values by word form and — for what
//! is left — by embedding similarity; negation scopes decide required or
//! excluded; the rest is the free text.

use super::numbers::{find_bounds, find_years, RangeFound};
use super::tokens::{is_stopword, tokenize, Token};
use super::vocab::Vocabulary;
use super::{AnyOfConstraint, CategoryConstraint, Intent, ItemMention, MentionKind, RangeConstraint, Source};
use crate::error::Result;

mod similar;
pub use similar::{MAX_SIMILARITY_VALUES, SIMILARITY_MARGIN, SIMILARITY_THRESHOLD, TEMPLATE};

/// Embeds a batch of short texts (the request's leftover words).
pub type EmbedFn<'a> = &'a dyn Fn(&[String]) -> Result<Vec<Vec<f32>>>;


/// What a word does in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cue {
    /// Negates what follows ("no", "not", "without", "I hate").
    Negative,
    /// Marks titles as seen ("I already saw").
    Seen,
    /// Marks titles as liked ("I loved", "something like").
    Liked,
    /// Ends a negation ("but", "instead", "rather").
    Positive,
}

fn word(tokens: &[Token], i: usize) -> &str {
    tokens.get(i).map_or("", |t| t.norm.as_str())
}

/// The cue at token `i`, if any, and how many tokens it spans.
fn cue_at(tokens: &[Token], i: usize) -> Option<(Cue, usize)> {
    let w = word(tokens, i);
    let next = word(tokens, i + 1);
    let prev = word(tokens, i.wrapping_sub(1));
    match (w, next) {
        ("dont" | "didnt" | "doesnt" | "never" | "wont", "like" | "want" | "enjoy" | "love" | "care" | "recommend" | "suggest" | "show" | "give" | "need" | "include") => {
            return Some((Cue::Negative, 2))
        }
        ("cant" | "cannot", "stand" | "bear" | "handle" | "do" | "take") => return Some((Cue::Negative, 2)),
        ("not", "into" | "a") | ("other" | "rather", "than") | ("instead", "of") | ("tired" | "sick", "of") | ("no", "more") => {
            return Some((Cue::Negative, 2))
        }
        ("anything" | "everything", "but" | "except") => return Some((Cue::Negative, 2)),
        ("stay", "away") | ("steer", "clear") | ("leave", "out") => return Some((Cue::Negative, 2)),
        ("similar", "to") | ("such", "as") | ("fan", "of") | ("same", "vibe") => return Some((Cue::Liked, 2)),
        _ => {}
    }
    let negated_like = matches!(prev, "dont" | "didnt" | "doesnt" | "not" | "never" | "wouldnt");
    let cue = match w {
        "no" | "not" | "without" | "nothing" | "none" | "never" | "except" | "excluding" | "exclude" | "hate" | "hated"
        | "dislike" | "disliked" | "avoid" | "skip" | "minus" | "nor" | "non" | "besides" | "neither" | "detest" | "loathe"
        | "lose" | "ditch" | "drop" | "spare" | "isnt" | "arent" | "wasnt" | "werent" | "aint" | "shouldnt" | "mustnt" => Cue::Negative,
        "saw" | "seen" | "watched" | "already" | "rewatched" | "viewed" | "finished" => Cue::Seen,
        "loved" | "love" | "liked" | "enjoyed" | "enjoy" | "adore" | "adored" | "favorite" | "favourite" | "similar"
        | "reminds" | "vein" | "resembling" | "inspired" | "akin" => Cue::Liked,
        "like" if !negated_like => Cue::Liked,
        "but" | "instead" | "rather" | "prefer" | "preferably" | "ideally" => Cue::Positive,
        _ => return None,
    };
    Some((cue, 1))
}

/// The category value a word (or word pair) names by its form: equal,
/// equal after a plural, or sharing a stem of five letters.
fn forms_match(word: &str, value_token: &str) -> bool {
    const NOT_STEMS: &[&str] = &["fantastic", "fantastically", "thrilled", "dramatically", "comedians"];
    if word.len() < 2 || value_token.len() < 2 {
        return false;
    }
    if word == value_token || singular(word) == value_token || singular(word) == singular(value_token) {
        return true;
    }
    if NOT_STEMS.contains(&word) || word.len() < 5 {
        return false;
    }
    word.chars().zip(value_token.chars()).take_while(|(a, b)| a == b).count() >= 5
}

fn singular(word: &str) -> String {
    if let Some(stem) = word.strip_suffix("ies") {
        format!("{stem}y")
    } else if let Some(stem) = word.strip_suffix("es").filter(|s| s.ends_with(['s', 'x', 'h'])) {
        stem.to_string()
    } else if let Some(stem) = word.strip_suffix('s').filter(|s| !s.ends_with('s')) {
        stem.to_string()
    } else {
        word.to_string()
    }
}

/// A category value found in the request.
#[derive(Debug, Clone)]
struct Hit {
    start: usize,
    end: usize,
    category: usize,
    source: Source,
}

/// The on-device intent parser of one catalog.
#[derive(Debug, Clone)]
pub struct IntentParser {
    vocab: Vocabulary,
    /// Embeddings of the first [`MAX_SIMILARITY_VALUES`] category values.
    value_embeddings: Option<Vec<Vec<f32>>>,
}

impl IntentParser {
    /// A parser over `vocab` (no similarity matching until
    /// [`IntentParser::set_value_embeddings`]).
    pub fn new(vocab: Vocabulary) -> Self {
        Self { vocab, value_embeddings: None }
    }

    /// The vocabulary.
    pub fn vocab(&self) -> &Vocabulary {
        &self.vocab
    }

    /// The texts to embed for similarity matching, in vocabulary order.
    pub fn value_texts(&self) -> Vec<String> {
        self.vocab
            .categories
            .iter()
            .take(MAX_SIMILARITY_VALUES)
            .map(|c| TEMPLATE.replace("{}", &c.value.to_lowercase().replace(['-', '_'], " ")))
            .collect()
    }

    /// Whether similarity matching is ready.
    pub fn has_value_embeddings(&self) -> bool {
        self.value_embeddings.is_some()
    }

    /// Sets the embeddings of [`IntentParser::value_texts`] (same order).
    pub fn set_value_embeddings(&mut self, embeddings: Vec<Vec<f32>>) {
        self.value_embeddings = Some(embeddings);
    }

    /// Reads `request`. With `embed`, words no rule explains are compared
    /// with the category values by embedding similarity; an embedding
    /// failure only skips that step.
    pub fn parse(&self, request: &str, embed: Option<EmbedFn<'_>>) -> Intent {
        let tokens = tokenize(request);
        let n = tokens.len();
        let mut used = vec![false; n];
        let mut cues: Vec<Option<(Cue, usize)>> = (0..n).map(|i| cue_at(&tokens, i)).collect();
        // The words inside a two-word cue ("anything but") are not cues of their own.
        let mut k = 0;
        while k < n {
            let len = cues[k].map_or(1, |(_, len)| len.max(1));
            for c in cues.iter_mut().skip(k + 1).take(len - 1) {
                *c = None;
            }
            k += len;
        }
        // "like" right after a title word or in "look like" is not a cue for the title before.
        for (i, c) in cues.iter_mut().enumerate() {
            if matches!(c, Some((Cue::Liked, 1))) && matches!(word(&tokens, i.wrapping_sub(1)), "would" | "id" | "look" | "feel" | "feels" | "looks" | "just") {
                *c = None;
            }
        }
        let mut intent = Intent::default();
        self.find_titles(request, &tokens, &cues, &mut used, &mut intent);
        let mut ranges: Vec<RangeFound> = find_years(&tokens, &self.vocab, &mut used);
        ranges.extend(find_bounds(&tokens, &self.vocab, &mut used));
        for r in ranges {
            intent.ranges.push(RangeConstraint { attribute: r.attribute, min: r.min, max: r.max, phrase: phrase(request, &tokens, r.start, r.end), source: Source::Word });
        }
        let mut hits = self.word_hits(&tokens, &cues, &mut used);
        // The free text: what no constraint, cue or negation took (words a
        // near-synonym reads as a category stay: they help the ranking too).
        let mut scope = vec![false; n];
        for (i, c) in cues.iter().enumerate() {
            if let Some((cue, len)) = c {
                for s in scope.iter_mut().skip(i).take(*len) {
                    *s = true;
                }
                if *cue == Cue::Negative {
                    let mut j = i + len;
                    while j < n && j < i + len + 4 && !tokens[j].clause_break() && !matches!(cues[j], Some((Cue::Positive, _))) {
                        scope[j] = true;
                        j += 1;
                    }
                }
            }
        }
        let kept: Vec<&str> = (0..n).filter(|&i| !used[i] && !scope[i]).map(|i| tokens[i].raw.as_str()).collect();
        if kept.iter().any(|w| !is_stopword(&w.to_lowercase().replace(['\'', '’'], ""))) {
            intent.text = kept.join(" ");
        }
        if let Some(embed) = embed {
            hits.extend(self.similar_hits(&tokens, &cues, &mut used, embed, &intent.text));
        }
        hits.sort_by_key(|h| h.start);
        self.place_categories(request, &tokens, &cues, &hits, &mut intent);
        intent.summarize();
        intent
    }

    fn find_titles(&self, request: &str, tokens: &[Token], cues: &[Option<(Cue, usize)>], used: &mut [bool], intent: &mut Intent) {
        let titles = &self.vocab.titles;
        let mut mentions: Vec<(usize, usize, Vec<usize>, Option<Cue>)> = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            let Some(m) = titles.match_at(tokens, i) else {
                i += 1;
                continue;
            };
            let cue = cue_before(tokens, cues, m.start).or_else(|| cue_after(tokens, cues, m.end));
            if !self.plausible_title(tokens, m.start, m.end, cue.is_some()) {
                i += 1;
                continue;
            }
            for u in used.iter_mut().take(m.end).skip(m.start) {
                *u = true;
            }
            mentions.push((m.start, m.end, m.entries, cue));
            i = m.end;
        }
        let sequels = tokens.iter().enumerate().any(|(k, t)| {
            matches!(t.norm.as_str(), "sequel" | "sequels" | "prequel" | "prequels" | "franchise" | "series" | "followups" | "spinoffs" | "remakes")
                && matches!(cue_before(tokens, cues, k), Some(Cue::Negative | Cue::Seen))
        });
        // "none of the Jaws movies", "skip the Terminator films": the franchise too.
        let franchise_after = |end: usize, cue: Option<Cue>| {
            cue == Some(Cue::Negative) && matches!(word(tokens, end), "movies" | "films" | "series" | "franchise" | "sequels" | "saga" | "trilogy")
        };
        for (start, end, entries, cue) in mentions {
            let kind = match cue {
                Some(Cue::Negative) => MentionKind::Refused,
                Some(Cue::Seen) => MentionKind::Seen,
                _ => MentionKind::Liked,
            };
            let text = phrase(request, tokens, start, end);
            let Some(&first) = entries.first() else { continue };
            for &slot in &entries {
                if let Some(e) = titles.entry(slot) {
                    let kind = if slot == first { kind } else { MentionKind::Seen };
                    add_mention(intent, ItemMention { id: e.id.clone(), title: e.title.clone(), kind, phrase: text.clone() });
                }
            }
            if sequels || franchise_after(end, cue) {
                for slot in titles.franchise(first) {
                    if let Some(e) = titles.entry(slot) {
                        add_mention(intent, ItemMention { id: e.id.clone(), title: e.title.clone(), kind: MentionKind::Franchise, phrase: text.clone() });
                    }
                }
            }
        }
    }

    /// Whether a title match is meant as a title: capitalised as one, or
    /// named after a cue ("I saw …"), or long and specific enough.
    fn plausible_title(&self, tokens: &[Token], start: usize, end: usize, cued: bool) -> bool {
        let words: Vec<&Token> = tokens.iter().skip(start).take(end - start).filter(|t| t.number().is_none() || end - start == 1).collect();
        let content = words.iter().filter(|t| !is_stopword(&t.norm)).count();
        if content == 0 {
            return false;
        }
        let is_category_word = |t: &Token| self.vocab.categories.iter().any(|c| c.tokens.iter().any(|v| forms_match(&t.norm, v)));
        let caps = words.iter().filter(|t| t.capitalized() && !(t.sentence_start && t.start == tokens[start].start)).count();
        let sentence_caps = words.iter().filter(|t| t.capitalized()).count();
        if words.len() == 1 {
            let t = words[0];
            if is_category_word(t) || t.norm.len() < 3 {
                return false;
            }
            return caps == 1 || cued && (t.capitalized() || t.norm.len() >= 4);
        }
        caps >= 1 || sentence_caps >= 2 || cued || content >= 2 && !words.iter().any(|t| is_category_word(t))
    }

    /// Category values named by their word forms.
    fn word_hits(&self, tokens: &[Token], cues: &[Option<(Cue, usize)>], used: &mut [bool]) -> Vec<Hit> {
        let mut hits = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            if used[i] || cues[i].is_some_and(|(c, _)| c != Cue::Liked) {
                i += 1;
                continue;
            }
            let mut found: Option<(usize, usize)> = None; // (category, tokens spanned)
            for (c, value) in self.vocab.categories.iter().enumerate() {
                let len = value.tokens.len();
                let whole = len > 1 && (0..len).all(|k| tokens.get(i + k).is_some_and(|t| !used.get(i + k).copied().unwrap_or(true) && t.norm == value.tokens[k]));
                let joined = value.tokens.concat();
                let single = forms_match(&tokens[i].norm, if len == 1 { &value.tokens[0] } else { &joined });
                // A distinctive word of a multi-word value ("noir" for Film-Noir).
                let part = len > 1 && value.tokens.iter().filter(|v| v.len() >= 4 && !is_stopword(v) && v.as_str() != "film").any(|v| tokens[i].norm == *v);
                let span = if whole { len } else if single || part { 1 } else { 0 };
                if span > 0 && found.is_none_or(|(_, s)| span > s) {
                    found = Some((c, span));
                }
            }
            if let Some((category, span)) = found {
                for u in used.iter_mut().skip(i).take(span) {
                    *u = true;
                }
                hits.push(Hit { start: i, end: i + span, category, source: Source::Word });
                i += span;
            } else {
                i += 1;
            }
        }
        hits
    }

    /// Required, any-of or excluded, by negation scope and "or".
    fn place_categories(&self, request: &str, tokens: &[Token], cues: &[Option<(Cue, usize)>], hits: &[Hit], intent: &mut Intent) {
        let mut positive: Vec<(&Hit, bool)> = Vec::new(); // (hit, joined to the previous by "or")
        for (h_index, h) in hits.iter().enumerate() {
            let Some(value) = self.vocab.categories.get(h.category) else { continue };
            let negated = negated_at(tokens, cues, hits, h_index) || word(tokens, h.end) == "free" || word(tokens, h.end) == "less" && tokens.get(h.end).is_some_and(|t| t.sep == "-");
            let c = CategoryConstraint { attribute: value.attribute.clone(), value: value.value.clone(), phrase: phrase(request, tokens, h.start, h.end), source: h.source };
            if negated {
                if !intent.excluded.iter().any(|e| e.attribute == c.attribute && e.value == c.value) {
                    intent.excluded.push(c);
                }
                continue;
            }
            let or_before = h_index > 0 && {
                let prev = &hits[h_index - 1];
                (prev.end..h.start).any(|k| word(tokens, k) == "or") && (prev.end..h.start).all(|k| matches!(word(tokens, k), "or" | "a" | "an" | "some" | "maybe" | "perhaps" | "either"))
            };
            positive.push((h, or_before));
        }
        let mut k = 0;
        while k < positive.len() {
            let mut group = vec![positive[k].0];
            while k + 1 < positive.len() && positive[k + 1].1 {
                k += 1;
                group.push(positive[k].0);
            }
            k += 1;
            let values: Vec<_> = group.iter().filter_map(|h| self.vocab.categories.get(h.category)).collect();
            let excluded = |attr: &str, v: &str| intent.excluded.iter().any(|e| e.attribute == attr && e.value == v);
            let Some(first) = values.first() else { continue };
            let same_attribute = values.iter().all(|v| v.attribute == first.attribute);
            if group.len() > 1 && same_attribute {
                let vals: Vec<String> = values.iter().filter(|v| !excluded(&v.attribute, &v.value)).map(|v| v.value.clone()).collect();
                let start = group.first().map_or(0, |h| h.start);
                let end = group.last().map_or(0, |h| h.end);
                let source = group.iter().map(|h| h.source).max().unwrap_or(Source::Word);
                if vals.len() > 1 {
                    intent.any_of.push(AnyOfConstraint { attribute: first.attribute.clone(), values: vals, phrase: phrase(request, tokens, start, end), source });
                    continue;
                }
            }
            for (h, v) in group.iter().zip(values) {
                if excluded(&v.attribute, &v.value) || intent.required.iter().any(|r| r.attribute == v.attribute && r.value == v.value) {
                    continue;
                }
                intent.required.push(CategoryConstraint { attribute: v.attribute.clone(), value: v.value.clone(), phrase: phrase(request, tokens, h.start, h.end), source: h.source });
            }
        }
    }
}

/// The nearest cue before token `at` in its sentence, looking through
/// lists ("I saw Vertigo, Psycho and Rear Window").
fn cue_before(tokens: &[Token], cues: &[Option<(Cue, usize)>], at: usize) -> Option<Cue> {
    let mut i = at;
    while i > 0 {
        if tokens.get(i).is_some_and(|t| t.sentence_start) {
            return None;
        }
        i -= 1;
        if let Some((cue, _)) = cues.get(i).copied().flatten() {
            return (cue != Cue::Positive).then_some(cue);
        }
    }
    None
}

/// A liked or seen cue after a title in its sentence ("Casablanca is my
/// favourite", "Vertigo, which I have seen").
fn cue_after(tokens: &[Token], cues: &[Option<(Cue, usize)>], end: usize) -> Option<Cue> {
    let mut i = end;
    while i < tokens.len() && i < end + 6 {
        if i > end && tokens[i].sentence_start {
            return None;
        }
        match cues.get(i).copied().flatten() {
            Some((cue @ (Cue::Liked | Cue::Seen), _)) => return Some(cue),
            Some(_) => return None,
            None => {}
        }
        i += 1;
    }
    None
}

/// Whether hit `h` sits in a negation's scope: a negative cue before it in
/// its clause, with only fillers, other values and list words between
/// (at most four other words), and no "but"/"instead" after the cue.
fn negated_at(tokens: &[Token], cues: &[Option<(Cue, usize)>], hits: &[Hit], h: usize) -> bool {
    let Some(hit) = hits.get(h) else { return false };
    let mut i = hit.start;
    let mut others = 0;
    while i > 0 {
        if tokens.get(i).is_some_and(|t| t.sentence_start) {
            return false;
        }
        // A comma ends a negation unless a list of values goes on ("no horror, gore or war").
        if tokens.get(i).is_some_and(Token::clause_break) {
            let list_goes_on = hits.iter().any(|x| x.end == i) && (i..hit.start).all(|k| matches!(word(tokens, k), "or" | "and" | "nor"));
            if !list_goes_on {
                return false;
            }
        }
        i -= 1;
        match cues.get(i).copied().flatten() {
            Some((Cue::Negative, _)) => return true,
            Some((Cue::Positive, _)) => return false,
            Some(_) => return false,
            None => {}
        }
        if hits.iter().any(|x| (x.start..x.end).contains(&i)) || is_stopword(word(tokens, i)) || matches!(word(tokens, i), "scenes" | "elements") {
            continue;
        }
        others += 1;
        if others > 2 {
            return false;
        }
    }
    false
}

fn add_mention(intent: &mut Intent, m: ItemMention) {
    match intent.items.iter_mut().find(|x| x.id == m.id) {
        // Liked wins over seen (both leave the item out; liked also seeds).
        Some(x) => {
            if m.kind == MentionKind::Liked {
                x.kind = MentionKind::Liked;
            }
        }
        None => intent.items.push(m),
    }
}

/// The request's text from token `start` to `end` (exclusive).
fn phrase(request: &str, tokens: &[Token], start: usize, end: usize) -> String {
    let (Some(a), Some(b)) = (tokens.get(start), end.checked_sub(1).and_then(|e| tokens.get(e))) else { return String::new() };
    request.get(a.start..b.end).unwrap_or_default().to_string()
}

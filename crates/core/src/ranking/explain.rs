//! Why an item was recommended, in terms the app can show.

use serde::{Deserialize, Serialize};

use super::filter::words;
use super::score::Scored;
use super::RankRequest;
use crate::catalog::{AttributeKind, Catalog, Embeddings, ValueRef};

/// A history item that drove a recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryReason {
    /// Item id.
    pub id: String,
    /// Item title.
    pub title: String,
    /// Share of the history signal this item contributed (0..=1).
    pub share: f32,
}

/// The explanation of one recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    /// One sentence for display, naming what earned the place: the liked
    /// history items ("Because you liked The Godfather (1972)"), the
    /// item's categories the request asked for ("Thriller, as you asked"),
    /// request words found in the item's own text, the photo, or
    /// popularity ("Popular with many viewers"). It never quotes the whole
    /// request and never ends in a bare parenthesised word.
    pub summary: String,
    /// History items that drove it, strongest first (at most 3).
    pub because: Vec<HistoryReason>,
    /// The user interest it matches best (a tag such as a genre, or a title).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interest: Option<String>,
    /// Content words of the request found in the item's text outside its
    /// title (no stopwords, numbers, words under 3 letters, or words after
    /// a negation such as "without"); a plural matches its singular.
    pub query_terms: Vec<String>,
    /// Cosine similarity of the item's photo with the query photo (photo
    /// searches only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo_similarity: Option<f32>,
    /// Contribution of each signal to the score (z-score units).
    pub signals: Signals,
    /// Whether the item was put here by exploration rather than relevance.
    pub explored: bool,
}

/// Contribution of each signal to one item's score.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Signals {
    /// From the user's history and interests.
    pub history: f32,
    /// From the query.
    pub query: f32,
    /// From popularity.
    pub popularity: f32,
    /// Subtracted for similarity to disliked items / avoid statements.
    pub penalty: f32,
    /// From the query photo (photo searches only; 0 otherwise).
    #[serde(default)]
    pub photo: f32,
}

const STOPWORDS: &[&str] = &[
    "the", "and", "for", "with", "about", "from", "that", "this", "these", "those", "something", "anything",
    "some", "any", "like", "likes", "liked", "want", "wants", "need", "movie", "movies", "film", "films", "show",
    "shows", "watch", "watching", "see", "me", "my", "a", "an", "of", "to", "in", "on", "is", "it", "its", "are",
    "was", "were", "be", "or", "but", "not", "no", "without", "except", "please", "can", "could", "would",
    "should", "you", "your", "recommend", "suggest", "give", "find", "get", "one", "ones", "good", "great",
    "best", "nice", "really", "very", "more", "less", "most", "least", "other", "than", "then", "what", "which",
    "who", "how", "tonight", "today", "now", "after", "before", "since", "until", "between", "older", "newer",
    "new", "old", "similar", "kind", "sort", "type", "let", "lets", "let's", "have", "has", "had", "all", "just",
    "also", "too", "into", "over", "under", "out", "our", "we", "us", "him", "her", "them", "they", "she", "he",
    "year", "years", "genre", "genres", "category", "title", "titles",
];

/// Words that negate the content word after them ("not animated", "without horror").
const NEGATORS: &[&str] = &["not", "no", "without", "except", "never", "nothing", "avoid", "excluding", "exclude", "minus", "non"];

/// Articles that RecBole-style titles carry at the end ("Godfather, The").
const TRAILING_ARTICLES: &[&str] = &[
    "The", "A", "An", "Les", "La", "Le", "L'", "Il", "Der", "Die", "Das", "El", "Los", "Las", "Lo", "Gli", "Det", "Den", "Het", "Een",
];

/// A catalog title as a person writes it: a trailing article moved to the
/// front ("Godfather, The (1972)" → "The Godfather (1972)", "Godfather:
/// Part II, The" → "The Godfather: Part II", "Homme, L'" → "L'Homme").
/// Only the main part (before the first " (") is looked at, so a trailing
/// year or alternative title stays in place; a title without such an
/// article comes back unchanged (trimmed).
pub fn display_title(title: &str) -> String {
    let title = title.trim();
    let (main, rest) = match title.find(" (") {
        Some(p) => (title.get(..p).unwrap_or(title), title.get(p..).unwrap_or("")),
        None => (title, ""),
    };
    let main_trimmed = main.trim_end();
    for article in TRAILING_ARTICLES {
        let suffix = format!(", {article}");
        let Some(head) = main_trimmed.strip_suffix(suffix.as_str()) else { continue };
        let head = head.trim();
        if head.is_empty() {
            break;
        }
        let sep = if article.ends_with('\'') { "" } else { " " };
        return format!("{article}{sep}{head}{rest}");
    }
    title.to_string()
}

/// The categorical attributes that can name why an item is here: tag
/// lists and category-named text attributes, never title-like attributes
/// (RecBole stores `movie_title` as a tag list of title words).
fn category_attributes(catalog: &Catalog) -> Vec<usize> {
    catalog
        .attributes()
        .iter()
        .enumerate()
        .filter(|(_, def)| !def.is_title())
        .filter(|(_, def)| def.kind == AttributeKind::Tags || (def.kind == AttributeKind::Text && def.is_category()))
        .map(|(a, _)| a)
        .collect()
}

/// The category tags of one item (in catalog order).
fn item_tags(catalog: &Catalog, attrs: &[usize], index: u32) -> Vec<String> {
    let Some(item) = catalog.item(index) else { return Vec::new() };
    let mut tags = Vec::new();
    for &a in attrs {
        match item.value(a) {
            Some(ValueRef::Tags(t)) => tags.extend(t.iter().map(str::to_string)),
            Some(ValueRef::Text(t)) if !t.trim().is_empty() => tags.push(t.trim().to_string()),
            _ => {}
        }
    }
    tags
}

/// The most frequent category tag among `members` (for interest labels);
/// title words are never a label.
fn label(catalog: &Catalog, members: &[u32]) -> Option<String> {
    let attrs = category_attributes(catalog);
    let mut counts: Vec<(String, usize)> = Vec::new();
    for &m in members {
        for t in item_tags(catalog, &attrs, m) {
            match counts.iter_mut().find(|(x, _)| *x == t) {
                Some(c) => c.1 += 1,
                None => counts.push((t, 1)),
            }
        }
    }
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    counts.into_iter().next().map(|c| c.0)
}

/// The content words of a request: no stopwords, no numbers, nothing
/// shorter than 3 letters, and not the word a negator applies to
/// ("without horror" gives nothing).
fn content_words(query: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut negated = false;
    for w in words(query) {
        if NEGATORS.contains(&w.as_str()) || w.ends_with("n't") {
            negated = true;
            continue;
        }
        let content = w.chars().count() >= 3
            && !STOPWORDS.contains(&w.as_str())
            && !w.chars().all(|c| c.is_ascii_digit() || c == '-' || c == '\'');
        if !content {
            continue;
        }
        if negated {
            negated = false;
            continue;
        }
        if !out.contains(&w) {
            out.push(w);
        }
    }
    out
}

/// Whether request word `w` names text word `t`: equal, a plural of it
/// ("thrillers" → "thriller"), or a prefix of 4+ letters ("thrill" → "thriller").
fn word_matches(w: &str, t: &str) -> bool {
    if w == t {
        return true;
    }
    if w.len() >= 4 && t.starts_with(w) {
        return true;
    }
    t.len() >= 4 && w.starts_with(t) && matches!(w.get(t.len()..), Some("s" | "es"))
}

/// Joins names as "a", "a and b", "a, b and c".
fn and_list(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Explains item `index` of a ranking; `space` is
/// [`super::score::similarity_space`] of `catalog` (computed once per ranking).
pub fn explain(
    catalog: &Catalog,
    space: Option<&Embeddings>,
    scored: &Scored,
    index: u32,
    request: &RankRequest,
    explored: bool,
) -> Explanation {
    let i = index as usize;
    let get = |v: &Option<Vec<f32>>| v.as_ref().and_then(|v| v.get(i)).copied().unwrap_or(0.0);
    let signals = Signals {
        history: get(&scored.history),
        query: get(&scored.query),
        popularity: scored.popularity.get(i).copied().unwrap_or(0.0),
        penalty: scored.penalty.get(i).copied().unwrap_or(0.0),
        photo: get(&scored.photo),
    };
    let photo_similarity = scored
        .photo_similarity
        .as_ref()
        .and_then(|s| s.get(i))
        .copied()
        .filter(|s| s.is_finite());
    let mut because = Vec::new();
    if scored.history.is_some() {
        if let Some(model) = catalog.sequence_model() {
            let parts = model.contributions(&scored.context, index);
            let positive: f32 = parts.iter().map(|p| p.1.max(0.0)).sum::<f32>().max(1e-9);
            for (h, c) in parts.into_iter().filter(|p| p.1 > 0.0).take(3) {
                if let Some(item) = scored.context.get(h).and_then(|c| catalog.item(c.item)) {
                    because.push(HistoryReason {
                        id: item.id().to_string(),
                        title: item.title().to_string(),
                        share: c / positive,
                    });
                }
            }
        }
    }
    let interest = scored
        .interests
        .iter()
        .filter_map(|it| {
            let v = space?.row(i)?;
            let s: f32 = v.iter().zip(&it.centroid).map(|(a, b)| a * b).sum();
            Some((it, s))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1));
    if because.is_empty() {
        if let Some((it, _)) = interest {
            for &m in it.members.iter().take(2) {
                if let Some(item) = catalog.item(m) {
                    because.push(HistoryReason {
                        id: item.id().to_string(),
                        title: item.title().to_string(),
                        share: 1.0 / it.members.len().min(2) as f32,
                    });
                }
            }
        }
    }
    let interest = interest.and_then(|(it, _)| label(catalog, &it.members));
    let attrs = category_attributes(catalog);
    let tags = item_tags(catalog, &attrs, index);
    // Request words found in the item's own text, not only in its title
    // (a title echoing a request word is no reason).
    let query_terms: Vec<String> = match (&request.query_text, catalog.item(index)) {
        (Some(q), Some(item)) => {
            let title: Vec<String> = words(item.title()).collect();
            let text: Vec<String> = words(&item.text()).filter(|t| !title.contains(t)).collect();
            content_words(q)
                .into_iter()
                .filter(|w| text.iter().any(|t| word_matches(w, t)))
                .collect()
        }
        _ => Vec::new(),
    };
    // The item's categories that the request asked for ("thrillers" → Thriller).
    let mut asked_tags: Vec<String> = Vec::new();
    for tag in &tags {
        let named = words(tag).any(|t| query_terms.iter().any(|w| word_matches(w, &t)));
        if named && !asked_tags.contains(tag) {
            asked_tags.push(tag.clone());
        }
    }
    let liked: Vec<String> = because.iter().take(2).map(|b| display_title(&b.title)).collect();
    let summary = if explored {
        "Something different, to explore beyond your usual picks".to_string()
    } else if !because.is_empty() && signals.history >= signals.query.max(signals.photo) {
        match interest.as_ref().filter(|t| tags.contains(t)) {
            Some(tag) => format!("Because you liked {}, and it is also {tag}", and_list(&liked)),
            None => format!("Because you liked {}", and_list(&liked)),
        }
    } else if let Some(sim) = photo_similarity.filter(|_| signals.photo >= signals.query) {
        format!("Looks like your photo ({:.0} % similar)", (sim.clamp(0.0, 1.0) * 100.0).round())
    } else if request.query_text.is_some() {
        if !asked_tags.is_empty() {
            format!("{}, as you asked", and_list(&asked_tags))
        } else if !query_terms.is_empty() {
            let quoted: Vec<String> = query_terms.iter().take(3).map(|t| format!("\u{201c}{t}\u{201d}")).collect();
            format!("Mentions {} from your request", and_list(&quoted))
        } else if !liked.is_empty() && signals.history > 0.0 {
            format!("Close in meaning to your request and to {}, which you liked", and_list(&liked))
        } else if signals.popularity > 0.5 && signals.popularity >= signals.query {
            "Close in meaning to your request and popular with many viewers".to_string()
        } else {
            "Close in meaning to your request".to_string()
        }
    } else if request.query.is_some() {
        "Matches your search".to_string()
    } else if !because.is_empty() {
        format!("Because you liked {}", and_list(&liked))
    } else {
        "Popular with many viewers".to_string()
    };
    Explanation {
        summary,
        because,
        interest,
        query_terms,
        photo_similarity,
        signals,
        explored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{AttributeDef, AttributeValue, CatalogParts, Item};
    use crate::profile::{Event, EventKind, UserProfile};
    use crate::ranking::{rank, ScoreWeights};

    const DIM: usize = 4;

    /// RecBole's shape: the title is a tag list of its words, `class` the genres.
    fn catalog() -> Catalog {
        let films: [(&str, &[&str], [f32; DIM]); 6] = [
            ("Men in Black", &["Action", "Adventure", "Sci-Fi"], [1.0, 0.1, 0.0, 0.0]),
            ("Star Trek: First Contact", &["Action", "Adventure", "Sci-Fi"], [1.0, 0.2, 0.0, 0.0]),
            ("Star Wars", &["Action", "Adventure", "Sci-Fi", "War"], [0.9, 0.0, 0.1, 0.0]),
            ("Godfather, The", &["Crime", "Drama"], [0.0, 0.0, 1.0, 0.0]),
            ("Scream", &["Horror", "Thriller"], [0.0, 1.0, 0.0, 0.1]),
            ("Fargo", &["Crime", "Drama", "Thriller"], [0.0, 0.9, 0.3, 0.0]),
        ];
        let mut text = Vec::new();
        let mut items = Vec::new();
        for (i, (title, genres, v)) in films.iter().enumerate() {
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            text.extend(v.iter().map(|x| x / norm));
            items.push(Item {
                id: format!("{}", i + 1),
                title: title.to_string(),
                text: format!("{title}. Genres: {}. Year: 1996", genres.join(", ")),
                image: None,
                values: vec![
                    AttributeValue::Tags(title.split_whitespace().map(str::to_string).collect()),
                    AttributeValue::Tags(genres.iter().map(|g| g.to_string()).collect()),
                ],
            });
        }
        Catalog::new(CatalogParts {
            name: "films".into(),
            attributes: vec![
                AttributeDef { name: "movie_title".into(), kind: AttributeKind::Tags },
                AttributeDef { name: "class".into(), kind: AttributeKind::Tags },
            ],
            items,
            text: Some(Embeddings::F32 { dim: DIM, values: text }),
            popularity: vec![60.0, 50.0, 40.0, 30.0, 20.0, 10.0],
            ..Default::default()
        })
        .unwrap()
    }

    fn ask(c: &Catalog, profile: &UserProfile, text: &str, query: [f32; DIM]) -> Vec<crate::ranking::Recommendation> {
        let request = RankRequest { k: 6, query: Some(query.to_vec()), query_text: Some(text.into()), diversity: Some(0.0), seed: Some(0), ..Default::default() };
        rank(c, profile, &request, &ScoreWeights::default()).unwrap()
    }

    #[test]
    fn display_titles() {
        assert_eq!(display_title("Godfather, The (1972)"), "The Godfather (1972)");
        assert_eq!(display_title("Godfather: Part II, The"), "The Godfather: Part II");
        assert_eq!(display_title("Star Wars (1977)"), "Star Wars (1977)");
    }

    #[test]
    fn request_words_are_content_words_not_negated() {
        assert_eq!(content_words("Something like Star Wars, not animated, without horror, from 1995"), ["star", "wars"]);
        assert_eq!(content_words("men who like space adventures"), ["men", "space", "adventures"]);
        assert!(word_matches("thrillers", "thriller") && word_matches("thrill", "thriller") && !word_matches("war", "wars"));
    }

    #[test]
    fn labels_are_categories_never_title_words() {
        let c = catalog();
        // "Star" is in two titles, each genre in at most three: still a genre.
        assert_eq!(label(&c, &[1, 2]).as_deref(), Some("Action"));
        assert_eq!(label(&c, &[3, 5]).as_deref(), Some("Crime"));
    }

    #[test]
    fn query_reasons_name_the_asked_category_not_the_request() {
        let c = catalog();
        let request = "men who like star adventures";
        let r = ask(&c, &UserProfile::new(), request, [1.0, 0.0, 0.0, 0.0]);
        for x in &r {
            let s = &x.explanation.summary;
            assert!(!s.contains(request) && !s.contains('\u{201c}') || s.starts_with("Mentions"), "{s}");
            assert!(!s.ends_with(')') && !s.contains("(Men)") && !s.contains("(Star)"), "{s}");
            assert!(!x.explanation.query_terms.iter().any(|t| t == "men" || t == "star"), "title words are no reason: {:?}", x.explanation.query_terms);
        }
        let mib = r.iter().find(|x| x.id == "1").unwrap();
        assert_eq!(mib.explanation.query_terms, ["adventures"]);
        assert_eq!(mib.explanation.summary, "Adventure, as you asked");
        // Nothing of the request in the item's text: close in meaning, without quoting it.
        let r = ask(&c, &UserProfile::new(), "an offer they cannot refuse", [0.0, 0.0, 1.0, 0.0]);
        assert_eq!(r[0].id, "4");
        assert!(r[0].explanation.query_terms.is_empty());
        assert!(r[0].explanation.summary.starts_with("Close in meaning to your request"), "{}", r[0].explanation.summary);
        // A negated genre is never the reason.
        let r = ask(&c, &UserProfile::new(), "a thriller without horror", [0.0, 1.0, 0.0, 0.0]);
        let scream = r.iter().find(|x| x.id == "5").unwrap();
        assert_eq!(scream.explanation.query_terms, ["thriller"]);
        assert_eq!(scream.explanation.summary, "Thriller, as you asked");
        let r = ask(&c, &UserProfile::new(), "crime dramas and thrillers", [0.0, 0.9, 0.3, 0.0]);
        let fargo = r.iter().find(|x| x.id == "6").unwrap();
        assert_eq!(fargo.explanation.summary, "Crime, Drama and Thriller, as you asked");
    }

    #[test]
    fn history_and_popularity_reasons() {
        let c = catalog();
        let r = rank(&c, &UserProfile::new(), &RankRequest { k: 1, ..Default::default() }, &ScoreWeights::default()).unwrap();
        assert_eq!(r[0].explanation.summary, "Popular with many viewers");
        let mut p = UserProfile::new();
        for (t, id) in ["4", "6"].iter().enumerate() {
            p.observe(Event { item: (*id).into(), kind: EventKind::Like, time_ms: t as f64 }).unwrap();
        }
        let r = rank(&c, &p, &RankRequest { k: 3, ..Default::default() }, &ScoreWeights::default()).unwrap();
        let cited: Vec<&str> = r.iter().map(|x| x.explanation.summary.as_str()).filter(|s| s.starts_with("Because you liked")).collect();
        assert!(!cited.is_empty(), "{r:?}");
        for s in cited {
            assert!(!s.contains("Godfather, The") && !s.ends_with(')'), "{s}");
        }
    }
}

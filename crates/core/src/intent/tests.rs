use super::*;
use crate::catalog::{AttributeDef, AttributeKind, AttributeValue, Catalog, CatalogParts, Item};

fn catalog() -> Catalog {
    let rows: &[(&str, &str, &str, &str)] = &[
        ("50", "Star Wars", "1977", "Action Adventure Romance Sci-Fi War"),
        ("127", "Godfather, The", "1972", "Action Crime Drama"),
        ("187", "Godfather: Part II, The", "1974", "Action Crime Drama"),
        ("183", "Alien", "1979", "Action Horror Sci-Fi Thriller"),
        ("176", "Aliens", "1986", "Action Sci-Fi Thriller War"),
        ("665", "Alien 3", "1992", "Action Horror Sci-Fi Thriller"),
        ("343", "Alien: Resurrection", "1997", "Action Horror Sci-Fi"),
        ("479", "Vertigo", "1958", "Mystery Thriller"),
        ("603", "Rear Window", "1954", "Mystery Thriller"),
        ("1", "Toy Story", "1995", "Animation Children's Comedy"),
        ("2", "Scream", "1996", "Horror Thriller"),
        ("3", "Fargo", "1996", "Crime Drama Thriller"),
        ("4", "Maltese Falcon, The", "1941", "Film-Noir Mystery"),
        ("5", "Heat", "1995", "Action Crime Thriller"),
        ("6", "Kids", "1995", "Drama"),
        ("7", "Sleepless in Seattle", "1993", "Comedy Romance"),
    ];
    let items = rows
        .iter()
        .map(|(id, title, year, class)| Item {
            id: id.to_string(),
            title: title.to_string(),
            text: title.to_string(),
            image: None,
            values: vec![
                AttributeValue::Tags(title.split_whitespace().map(str::to_string).collect()),
                AttributeValue::Text(year.to_string()),
                AttributeValue::Tags(class.split_whitespace().map(str::to_string).collect()),
            ],
        })
        .collect();
    Catalog::new(CatalogParts {
        attributes: vec![
            AttributeDef { name: "movie_title".into(), kind: AttributeKind::Tags },
            AttributeDef { name: "release_year".into(), kind: AttributeKind::Text },
            AttributeDef { name: "class".into(), kind: AttributeKind::Tags },
        ],
        items,
        ..Default::default()
    })
    .unwrap()
}

fn parse(text: &str) -> Intent {
    IntentParser::new(Vocabulary::from_catalog(&catalog())).parse(text, None)
}

fn values(c: &[CategoryConstraint]) -> Vec<&str> {
    c.iter().map(|c| c.value.as_str()).collect()
}

fn range(i: &Intent) -> (Option<f64>, Option<f64>) {
    assert_eq!(i.ranges.len(), 1, "{i:#?}");
    (i.ranges[0].min, i.ranges[0].max)
}

fn ids(i: &Intent, kind: MentionKind) -> Vec<&str> {
    i.items.iter().filter(|m| m.kind == kind).map(|m| m.id.as_str()).collect()
}

#[test]
fn the_vocabulary_reads_typed_attributes() {
    let v = Vocabulary::from_catalog(&catalog());
    let year = v.year_attribute().unwrap();
    assert_eq!((year.name.as_str(), year.min, year.max), ("release_year", 1941.0, 1997.0));
    assert!(v.categories.iter().all(|c| c.attribute == "class"), "titles are not categories");
    assert_eq!(v.category_named("sci-fi").unwrap().tokens, ["sci", "fi"]);
}

#[test]
fn negation_sentences_and_years() {
    let i = parse("I hate horror. Give me a thriller released after 1995");
    assert_eq!(values(&i.excluded), ["Horror"]);
    assert_eq!(values(&i.required), ["Thriller"]);
    assert_eq!(range(&i), (Some(1996.0), None));
    assert_eq!(i.text, "", "nothing left to embed: {:?}", i.text);
    assert_eq!(i.summary, "Thriller · after 1995 · not Horror");
    assert_eq!(i.describe().unwrap(), "for Thriller after 1995, without Horror");
    let i = parse("I already saw Vertigo; a comedy or a romance from the 90s");
    assert_eq!(i.describe().unwrap(), "for Comedy or Romance from the 1990s, leaving out Vertigo");
}

#[test]
fn decades_and_bounds() {
    for (text, want) in [
        ("something from the 1940s", (Some(1940.0), Some(1949.0))),
        ("a 90s comedy", (Some(1990.0), Some(1999.0))),
        ("seventies thrillers", (Some(1970.0), Some(1979.0))),
        ("early 80s action", (Some(1980.0), Some(1983.0))),
        ("before 1950 please", (None, Some(1949.0))),
        ("since 1990", (Some(1990.0), None)),
        ("until 1960", (None, Some(1960.0))),
        ("between 1970 and 1980", (Some(1970.0), Some(1980.0))),
        ("from 1985 to 1990", (Some(1985.0), Some(1990.0))),
        ("1980-89 crime", (Some(1980.0), Some(1989.0))),
        ("made in 1994", (Some(1994.0), Some(1994.0))),
        ("1990 or later", (Some(1990.0), None)),
        ("older than 1960", (None, Some(1959.0))),
        ("the 80s or 90s", (Some(1980.0), Some(1999.0))),
        ("after 1980 but before 1990", (Some(1981.0), Some(1989.0))),
        ("before the 80s", (None, Some(1979.0))),
        ("between '85 and '95", (Some(1985.0), Some(1995.0))),
        ("no later than 1975", (None, Some(1975.0))),
        ("nothing older than 1993", (Some(1993.0), None)),
    ] {
        assert_eq!(range(&parse(text)), want, "{text}");
    }
}

#[test]
fn a_negated_decade_is_not_read_as_its_opposite() {
    assert!(parse("nothing released in the 80s").ranges.is_empty());
    assert!(parse("not from 1995").ranges.is_empty());
}

#[test]
fn negations_in_many_phrasings() {
    for text in [
        "no horror", "not horror", "nothing with horror", "anything except horror", "I hate horror", "without horror",
        "horror-free please", "skip the horror", "I don't like horror movies", "I can't stand horror",
    ] {
        let i = parse(text);
        assert_eq!(values(&i.excluded), ["Horror"], "{text}: {i:#?}");
        assert!(i.required.is_empty(), "{text}");
    }
    let i = parse("no horror or war, a comedy instead");
    assert_eq!((values(&i.excluded), values(&i.required)), (vec!["Horror", "War"], vec!["Comedy"]));
    let i = parse("not a comedy but a drama");
    assert_eq!((values(&i.excluded), values(&i.required)), (vec!["Comedy"], vec!["Drama"]));
}

#[test]
fn any_of_and_inflections() {
    let i = parse("a comedy or a romance");
    assert_eq!(i.any_of.len(), 1);
    assert_eq!(i.any_of[0].values, ["Comedy", "Romance"]);
    assert_eq!(values(&parse("animated mysteries").required), ["Animation", "Mystery"]);
    assert_eq!(values(&parse("a romantic film noir").required), ["Romance", "Film-Noir"]);
    assert_eq!(values(&parse("sci-fi thrillers").required), ["Sci-Fi", "Thriller"]);
    assert!(parse("a fantastic evening").required.is_empty());
}

#[test]
fn titles_are_linked_and_left_out() {
    let i = parse("I already saw Vertigo and Rear Window");
    assert_eq!(ids(&i, MentionKind::Seen), ["479", "603"]);
    assert!(i.text.is_empty());
    let i = parse("something like Star Wars but not Star Wars itself");
    assert_eq!(ids(&i, MentionKind::Liked), ["50"]);
    assert!(i.required.is_empty() && i.excluded.is_empty(), "Star Wars is not the genre War: {i:#?}");
    assert!(i.filters(Relax::None).exclude_ids.contains(&"50".to_string()));
    let i = parse("I loved The Godfather");
    assert_eq!(ids(&i, MentionKind::Liked), ["127"]);
    let i = parse("i loved godfather part ii");
    assert_eq!(ids(&i, MentionKind::Liked), ["187"]);
    let i = parse("I loved Alien, but not its sequels");
    assert_eq!(ids(&i, MentionKind::Liked), ["183"]);
    let mut f = ids(&i, MentionKind::Franchise);
    f.sort();
    assert_eq!(f, ["176", "343", "665"]);
    // Common words are not titles unless written as one.
    let i = parse("something for my kids, with some heat");
    assert!(i.items.is_empty(), "{i:#?}");
    let i = parse("a crime film like Heat");
    assert_eq!(ids(&i, MentionKind::Liked), ["5"]);
    assert_eq!(values(&i.required), ["Crime"]);
}

#[test]
fn the_remainder_is_what_gets_embedded() {
    let i = parse("a slow-burning story about family, not horror, from the 70s");
    assert_eq!(i.text, "a slow burning story about family");
    assert_eq!(values(&i.excluded), ["Horror"]);
}

#[test]
fn similarity_reaches_near_synonyms() {
    let mut p = IntentParser::new(Vocabulary::from_catalog(&catalog()));
    let texts = p.value_texts();
    // A toy embedding: one axis per value, words mapped by a table.
    let axis = |w: &str| -> Vec<f32> {
        let target = match w {
            "scary genre" => "horror genre",
            "funny genre" => "comedy genre",
            other => other,
        };
        texts.iter().map(|t| if *t == target { 1.0 } else { 0.0 }).chain([0.1]).collect()
    };
    p.set_value_embeddings(texts.iter().map(|t| axis(t)).collect());
    let embed = |ws: &[String]| -> crate::error::Result<Vec<Vec<f32>>> { Ok(ws.iter().map(|w| axis(w)).collect()) };
    let i = p.parse("something scary but not too funny", Some(&embed));
    assert_eq!(values(&i.required), ["Horror"]);
    assert_eq!(values(&i.excluded), ["Comedy"]);
    assert_eq!(i.required[0].source, Source::Similar);
    // Similar-sourced constraints relax first.
    assert_eq!(i.filters(Relax::None).predicates.len(), 2);
    assert_eq!(i.filters(Relax::FreeText).predicates.len(), 1);
}

#[test]
fn proposals_only_add_checked_constraints() {
    let vocab = Vocabulary::from_catalog(&catalog());
    let request = "no horror, a thriller from the 90s, I saw Fargo";
    let device = IntentParser::new(vocab.clone()).parse(request, None);
    let proposal = serde_json::json!({
        "include": ["Horror", "Crime", "Klingon"],
        "exclude": ["Thriller", "War"],
        "ranges": [{"attribute": "release_year", "min": 1992}, {"attribute": "budget", "max": 3}],
        "likedTitles": ["Star Wars"],
        "excludedTitles": ["Fargo"],
    });
    let (merged, refused) = proposal::merge(&vocab, &device, request, &proposal);
    assert_eq!(values(&merged.required), ["Thriller", "Crime"]);
    assert_eq!(values(&merged.excluded), ["Horror", "War"]);
    assert_eq!(range(&merged), (Some(1992.0), Some(1999.0)));
    assert!(merged.items.iter().all(|m| m.id != "50"), "Star Wars is not in the request");
    assert_eq!(refused.len(), 5, "{refused:#?}");
    // Without numbers in the request, no range is taken from the model.
    let (m, _) = proposal::merge(&vocab, &Intent::default(), "a thriller", &serde_json::json!({"ranges": [{"attribute": "release_year", "min": 1990}]}));
    assert!(m.ranges.is_empty());
    assert!(proposal::schema(&vocab)["properties"]["include"]["items"]["enum"].as_array().unwrap().len() > 10);
}

#[test]
fn many_model_includes_are_one_group_and_relax_before_the_devices_reading() {
    let vocab = Vocabulary::from_catalog(&catalog());
    let mut device = IntentParser::new(vocab.clone()).parse("something for Halloween night", None);
    device.required.push(CategoryConstraint { attribute: "class".into(), value: "Horror".into(), phrase: "scary".into(), source: Source::Similar });
    let proposal = serde_json::json!({"include": ["Horror", "Drama", "Sci-Fi", "Action"], "exclude": [], "ranges": [], "likedTitles": [], "excludedTitles": []});
    let (merged, _) = proposal::merge(&vocab, &device, "something scary for Halloween night", &proposal);
    assert_eq!(values(&merged.required), ["Horror"]);
    assert_eq!(merged.any_of.len(), 1);
    assert_eq!(merged.any_of[0].values, ["Drama", "Sci-Fi", "Action"]);
    // The model's group goes first; the device's similarity reading after it.
    let has = |f: &crate::ranking::Filters, v: &str| f.predicates.iter().any(|p| p.has.as_deref() == Some(v));
    assert!(has(&merged.filters(Relax::Model), "Horror") && merged.filters(Relax::Model).predicates.iter().all(|p| p.one_of.is_none()));
    assert!(!has(&merged.filters(Relax::FreeText), "Horror"));
}

#[test]
fn any_text_parses_without_panicking() {
    // Untrusted text: a panic would kill the wasm instance.
    let p = IntentParser::new(Vocabulary::from_catalog(&catalog()));
    let pieces = [
        "no", "not", "after", "before", "between", "and", "or", "'", "’", "-", "–", ":", ",", ".", "!", "the", "90s", "'85", "1995",
        "19", "0", "99999999999999999999", "1e400", "$", "€", "Alien", "Godfather", "Part", "II", "sequels", "horror", "sci-fi",
        "film", "noir", "é", "ß", "İ", "👍", "\u{0}", " ", "  ", "like", "saw", "isn't", "anything", "but", "from", "to", "until",
    ];
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..3000 {
        let mut text = String::new();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        for k in 0..(seed % 24) {
            let i = ((seed >> (k % 40)) as usize ^ k as usize * 31) % pieces.len();
            text.push_str(pieces[i]);
            if (seed >> k) & 1 == 0 {
                text.push(' ');
            }
        }
        let i = p.parse(&text, None);
        let _ = i.filters(Relax::AnyOf);
        let _ = i.describe();
    }
    let long = "not before the 90s and after '85 or like Alien but not its sequels, ".repeat(2000);
    assert!(p.parse(&long, None).ranges.len() <= 1);
}

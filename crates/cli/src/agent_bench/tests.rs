//! The scorer on hand-made answers over a hand-made catalog.

use recagent_core::catalog::{AttributeDef, AttributeKind, AttributeValue, CatalogParts, Item};
use recagent_core::Catalog;

use super::report::{median, percentile, table};
use super::*;

/// (id, title, year, genres)
const ITEMS: &[(&str, &str, &str, &str)] = &[
    ("1", "Star Wars", "1977", "Action Sci-Fi"),
    ("2", "Godfather, The", "1972", "Crime Drama"),
    ("3", "Fargo", "1996", "Crime Thriller"),
    ("4", "Scream", "1996", "Horror Thriller"),
    ("5", "Heat", "1995", "Action Crime Thriller"),
    ("6", "Seven (Se7en)", "1995", "Crime Thriller"),
    ("7", "Usual Suspects, The", "1995", "Crime Thriller"),
    ("8", "Sabrina", "1954", "Comedy Romance"),
    ("9", "Sabrina", "1995", "Comedy Romance"),
    ("10", "Chasing Amy", "1997", "Drama Romance"),
    ("11", "Chasing Amy", "1997", "Drama Romance"),
    ("12", "Alien", "1979", "Action Horror Sci-Fi"),
    ("13", "Aliens", "1986", "Action Sci-Fi"),
    ("14", "Alien 3", "1992", "Action Horror Sci-Fi"),
    ("15", "Friday", "1995", "Comedy"),
    ("16", "Lost World: Jurassic Park, The", "1997", "Action Sci-Fi Thriller"),
    ("17", "Jurassic Park", "1993", "Action Sci-Fi"),
    ("18", "unkonwn", "unkonwn", "unknown"),
    ("19", "Cité des enfants perdus, La", "1995", "Adventure Sci-Fi"),
];

fn catalog() -> Catalog {
    let items = ITEMS
        .iter()
        .map(|(id, title, year, genres)| Item {
            id: id.to_string(),
            title: title.to_string(),
            text: title.to_string(),
            image: None,
            values: vec![
                AttributeValue::Tags(title.split(' ').map(str::to_string).collect()),
                AttributeValue::Text(year.to_string()),
                AttributeValue::Tags(genres.split(' ').map(str::to_string).collect()),
            ],
        })
        .collect();
    let attributes = [("movie_title", AttributeKind::Tags), ("release_year", AttributeKind::Text), ("class", AttributeKind::Tags)]
        .into_iter()
        .map(|(name, kind)| AttributeDef { name: name.into(), kind })
        .collect();
    Catalog::new(CatalogParts {
        name: "hand-made".into(),
        attributes,
        items,
        popularity: vec![1.0; ITEMS.len()],
        ..Default::default()
    })
    .expect("the hand-made catalog is valid")
}

fn request(json: &str) -> BenchRequest {
    serde_json::from_str(json).expect("a request")
}

fn items(ids: &[&str]) -> Vec<ReturnedItem> {
    ids.iter()
        .map(|id| ReturnedItem { id: id.to_string(), title: ITEMS.iter().find(|i| i.0 == *id).map_or("?", |i| i.1).to_string() })
        .collect()
}

fn answered(text: &str, ids: &[&str]) -> Answered {
    Answered { text: text.into(), items: items(ids), seconds: 0.5, ..Answered::default() }
}

const THRILLER_90S: &str = r#"{"id": "t", "text": "a 90s thriller, no horror", "kinds": ["combination"],
  "constraints": {"ranges": [{"attribute": "release_year", "min": 1990, "max": 1999}],
  "required": [{"attribute": "class", "value": "Thriller"}], "excluded": [{"attribute": "class", "value": "Horror"}]}}"#;

#[test]
fn an_item_outside_the_range_breaks_it_and_lowers_satisfaction() {
    let catalog = catalog();
    let judge = Judge::new(&catalog);
    let r = request(THRILLER_90S);
    // Fargo, Heat, Seven, Usual Suspects, Lost World meet it; Scream is a horror film.
    assert_eq!(judge.satisfying(&r.constraints), 5);
    let s = score(&judge, &r, &answered("Here you are.", &["3", "1", "4", "5"]));
    assert_eq!(s.satisfaction, Some(2.0 / 5.0));
    assert_eq!(s.top[0].violations, Vec::<String>::new());
    assert_eq!(s.top[1].violations, vec!["release_year 1977 is outside 1990–1999", "class [Action Sci-Fi] lacks required Thriller"]);
    assert_eq!(s.top[2].violations, vec!["class [Horror Thriller] has excluded Horror"]);
    assert!(s.failed());
    // Only the first five count, and a duplicate counts once.
    let s = score(&judge, &r, &answered("x", &["3", "3", "5", "6", "7", "16"]));
    assert_eq!(s.satisfaction, Some(4.0 / 5.0));
    assert_eq!(s.duplicates, vec!["id 3 twice"]);
    let s = score(&judge, &r, &answered("x", &["3", "5", "6", "7", "16", "1"]));
    assert_eq!(s.satisfaction, Some(1.0));
    assert!(!s.failed());
}

#[test]
fn missing_years_any_of_excluded_ids_and_unknown_ids() {
    let catalog = catalog();
    let judge = Judge::new(&catalog);
    let r = request(r#"{"id": "a", "text": "like Alien, not its sequels, a sci-fi or a horror", "kinds": ["not_sequels"],
      "constraints": {"anyOf": [{"attribute": "class", "values": ["Horror", "Sci-Fi"]}], "excludedIds": ["12", "13", "14"],
      "ranges": [{"attribute": "release_year", "min": 1900}]}}"#);
    assert_eq!(judge.violations("13", &r.constraints), vec!["id 13 is excluded (the user named it)"]);
    assert_eq!(judge.violations("18", &r.constraints), vec!["release_year unkonwn is not a number", "class [unknown] has none of Horror, Sci-Fi"]);
    let old = request(r#"{"id": "o", "text": "before 1970", "kinds": ["year_before"], "constraints": {"ranges": [{"attribute": "release_year", "max": 1969}]}}"#);
    assert_eq!(judge.violations("3", &old.constraints), vec!["release_year 1996 is above 1969"]);
    assert_eq!(judge.violations("8", &old.constraints), Vec::<String>::new());
    let new = request(r#"{"id": "n", "text": "since 1990", "kinds": ["year_after"], "constraints": {"ranges": [{"attribute": "release_year", "min": 1990}]}}"#);
    assert_eq!(judge.violations("1", &new.constraints), vec!["release_year 1977 is below 1990"]);
    assert_eq!(judge.violations("14", &new.constraints), Vec::<String>::new());
    assert_eq!(judge.violations("15", &r.constraints), vec!["class [Comedy] has none of Horror, Sci-Fi"]);
    assert_eq!(judge.violations("999", &r.constraints), vec!["id \"999\" is not in the catalog"]);
    // Star Wars, Scream, Lost World, Jurassic Park, Cité: 5; fewer returned ones than that score lower.
    assert_eq!(judge.satisfying(&r.constraints), 5);
    assert_eq!(score(&judge, &r, &answered("", &["1", "17"])).satisfaction, Some(0.4));
    // When fewer than five items can satisfy, the denominator is that number.
    let few = request(r#"{"id": "h", "text": "90s horror", "kinds": ["combination"], "constraints": {"ranges": [{"attribute": "release_year", "min": 1990, "max": 1999}], "required": [{"attribute": "class", "value": "horror"}]}}"#);
    assert_eq!(judge.satisfying(&few.constraints), 2);
    assert_eq!(score(&judge, &few, &answered("x", &["4", "14", "1"])).satisfaction, Some(1.0));
    assert_eq!(score(&judge, &few, &answered("x", &["4"])).satisfaction, Some(0.5));
}

#[test]
fn a_title_in_the_answer_that_is_not_in_the_list_is_a_grounding_error() {
    let catalog = catalog();
    let judge = Judge::new(&catalog);
    let errors = |text: &str, ids: &[&str]| judge.grounding_errors(text, &items(ids), "something good");
    // "Seven" (5 letters) and "Heat" (4) are too short to be looked for.
    assert_eq!(errors("Try Heat, The Usual Suspects or maybe Seven.", &["5"]), vec!["Usual Suspects, The"]);
    assert_eq!(errors("Try Heat and The Usual Suspects (1995).", &["5", "7"]), Vec::<String>::new());
    assert_eq!(errors("THE GODFATHER is a classic", &["5"]), vec!["Godfather, The"]);
    assert_eq!(errors("Godfather, The", &["2"]), Vec::<String>::new());
    assert_eq!(errors("La Cité des Enfants Perdus", &[]), vec!["Cité des enfants perdus, La"]);
    // A title inside a longer one found at the same place is that one.
    assert_eq!(errors("The Lost World: Jurassic Park is fun", &["16"]), Vec::<String>::new());
    assert_eq!(errors("The Lost World: Jurassic Park is fun", &["17"]), vec!["Lost World: Jurassic Park, The"]);
    assert_eq!(errors("Jurassic Park and Alien 3", &["16", "14"]), vec!["Jurassic Park"]);
    // A one-word title counts only when written as a title.
    assert_eq!(errors("Enjoy your friday night", &[]), Vec::<String>::new());
    assert_eq!(errors("Friday is a comedy", &[]), vec!["Friday"]);
    // Named by the user: not an error; the same title twice: one error.
    let said = judge.grounding_errors("Since you loved Jurassic Park, try Alien 3.", &items(&["14"]), "I loved Jurassic Park");
    assert_eq!(said, Vec::<String>::new());
    assert_eq!(errors("Jurassic Park! Jurassic Park!", &[]), vec!["Jurassic Park"]);
    // Grounding by title: a returned duplicate entry of the same film.
    assert_eq!(errors("Chasing Amy", &["11"]), Vec::<String>::new());
    let s = score(&judge, &request(THRILLER_90S), &answered("Fargo, or Jurassic Park", &["3"]));
    assert_eq!(s.grounding, vec!["Jurassic Park"]);
    assert!(s.failed());
}

#[test]
fn schema_echoes_tool_calls_and_tool_names_are_malformed() {
    let schema = r#"{"type": "object", "properties": {"query": {"type": "string", "maxLength": 200}}}"#;
    assert!(malformed(schema).is_some_and(|m| m.contains("JSON-schema")), "{:?}", malformed(schema));
    assert!(malformed(r#"Here: "maxLength": 200"#).is_some());
    let call = r#"{"name": "recommend", "arguments": {"query": "thriller"}}"#;
    assert!(malformed(call).is_some_and(|m| m.contains("tool call")));
    assert!(malformed("<tool_call>\n{\"name\":\"x\"}\n</tool_call>").is_some());
    assert!(malformed("I suggest {\"answer\": \"Fargo\", \"items\": [\"3\"]}").is_some_and(|m| m.contains("JSON object")));
    assert!(malformed("search_catalog").is_some_and(|m| m.contains("tool name")));
    assert!(malformed(" `recommend` ").is_some());
    assert!(malformed("  \n ").is_some_and(|m| m == "empty answer"));
    for fine in ["Fargo (1996) is a dark comedy.", "Try these {great} films", "Recommend? Sure: Heat.", "{}"] {
        assert_eq!(malformed(fine), None, "{fine}");
    }
    let catalog = catalog();
    let judge = Judge::new(&catalog);
    let s = score(&judge, &request(THRILLER_90S), &answered(schema, &["3", "5", "6", "7", "16"]));
    assert_eq!(s.satisfaction, Some(1.0));
    assert!(s.malformed.is_some() && s.failed());
    let failed = Answered { error: Some("io_error".into()), ..Answered::default() };
    assert!(score(&judge, &request(THRILLER_90S), &failed).malformed.is_some_and(|m| m.contains("ask failed")));
}

#[test]
fn duplicates_by_id_and_by_title_and_year() {
    let catalog = catalog();
    let judge = Judge::new(&catalog);
    assert_eq!(judge.duplicates(&items(&["10", "3", "11"])), vec!["\"Chasing Amy\" twice (ids 10 and 11)"]);
    assert_eq!(judge.duplicates(&items(&["8", "9"])), Vec::<String>::new(), "Sabrina 1954 and 1995 are two films");
    assert_eq!(judge.duplicates(&items(&["3", "4", "3"])), vec!["id 3 twice"]);
    let s = score(&judge, &request(THRILLER_90S), &answered("ok", &["3", "4", "3"]));
    assert_eq!(s.duplicates.len(), 1);
}

#[test]
fn validation_names_every_problem() {
    let catalog = catalog();
    let judge = Judge::new(&catalog);
    let good = format!(r#"{{"version": 1, "requests": [{THRILLER_90S}, {{"id": "m", "text": "surprise me", "kinds": ["mood_only"]}}]}}"#);
    let set = BenchSet::from_json(&good).unwrap();
    assert_eq!(set.validate(&judge), Vec::<String>::new());
    let bad = r#"{"version": 1, "requests": [
      {"id": "a", "text": "90s horror", "kinds": ["combination"], "constraints": {"ranges": [{"attribute": "release_year", "min": 1990, "max": 1999}], "required": [{"attribute": "class", "value": "Horror"}]}},
      {"id": "a", "text": "scifi", "kinds": ["require_genre"], "constraints": {"required": [{"attribute": "class", "value": "Scifi"}]}},
      {"id": "c", "text": "x", "kinds": ["mood_only", "moods"], "constraints": {"excludedIds": ["404"]}},
      {"id": "d", "text": "y", "kinds": ["year_between"], "constraints": {"ranges": [{"attribute": "year", "min": 2000, "max": 1990}]}}]}"#;
    let problems = BenchSet::from_json(bad).unwrap().validate(&judge);
    for expected in [
        "request \"a\": only 2 catalog items meet all its constraints",
        "request \"a\": the id is used twice",
        "no catalog item has class = \"Scifi\"",
        "unknown kind \"moods\"",
        "`mood_only` must be exactly",
        "excluded id \"404\" is not in the catalog",
        "the catalog has no attribute \"year\"",
        "min 2000 > max 1990",
    ] {
        assert!(problems.iter().any(|p| p.contains(expected)), "{expected:?} not in {problems:#?}");
    }
    assert!(BenchSet::from_json(r#"{"version": 1, "requests": [{"id": "x", "text": "t", "constraints": {"excludedIDs": []}}]}"#).is_err());
    assert_eq!(set.select(&[], Some(1)).unwrap().len(), 1);
    assert_eq!(set.select(&["m".into()], None).unwrap()[0].id, "m");
    assert!(set.select(&["zz".into()], None).is_err());
}

#[test]
fn levels_sum_up_scores() {
    let catalog = catalog();
    let judge = Judge::new(&catalog);
    let r = request(THRILLER_90S);
    let mut a = answered("Fargo, or Jurassic Park", &["3", "1"]);
    a.fallback = Some("timeout".into());
    a.seconds = 3.0;
    let scores = vec![
        score(&judge, &r, &a),
        score(&judge, &r, &answered("fine", &["3", "5", "6", "7", "16"])),
        score(&judge, &r, &answered("", &["3", "3"])),
    ];
    let level = LevelReport::new(2, "native", scores, 7);
    assert_eq!((level.requests, level.fully_satisfied, level.malformed), (3, 1, 1));
    assert!((level.satisfaction - (0.2 + 1.0 + 0.2) / 3.0).abs() < 1e-9);
    assert_eq!((level.grounding_errors, level.grounding_requests, level.duplicates), (1, 1, 1));
    assert_eq!(level.fallbacks.get("timeout"), Some(&1));
    assert_eq!((level.seconds_median, level.seconds_p90), (0.5, 3.0));
    assert_eq!(level.satisfaction_by_kind.get("combination").copied(), Some(level.satisfaction));
    let failures = level.failures();
    assert_eq!(failures.len(), 2);
    assert_eq!(failures[0]["broken"][0]["id"], "1");
    let machine = Machine { load: Some([1.0, 2.0, 3.0]), cores: 2 };
    let text = table(&[level], &machine);
    assert!(text.contains("| 2        | native | 3        | 0.467"), "{text}");
    assert!(text.contains("load average 1.00 2.00 3.00, 2 cores"));
    assert_eq!(median(&[3.0, 1.0, 2.0, 10.0]), 2.5);
    assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 90.0), 9.0);
    assert_eq!(percentile(&[], 90.0), 0.0);
}

use super::*;

const TOOLS: &[&str] = &["search_catalog", "recommend", "get_item", "recall_memory", "remember", "ask_user", "explain"];

fn item(id: &str, title: &str) -> AnswerItem {
    AnswerItem { id: id.into(), title: title.into(), score: None, reason: None }
}

const LONG_PROSE: &str = "Here are a few thrillers you might enjoy tonight:\n\
1. Scream (1996): a clever, self-aware slasher that still works.\n\
2. Fargo (1996) - the Coen brothers at their best; \"Minnesota nice\" turned deadly.\n\
3. The Game (1997): Michael Douglas in a puzzle that keeps turning.\n\
\n\
Note: none of these are horror films. If you want something older, try asking for the 1970s!";

#[test]
fn flags_what_must_not_be_shown() {
    let cases: &[(&str, &str)] = &[
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("1", "no words"),
        ("1.", "no words"),
        ("...", "no words"),
        ("search_catalog", "tool name"),
        ("`search_catalog`", "tool name"),
        ("\"search_catalog\"", "tool name"),
        ("search_catalog()", "tool"),
        ("search_catalog.", "tool name"),
        ("Recommend", "tool name"),
        ("Action: get_item", "tool name"),
        ("get_recommendations", "identifier"),
        (r#"{"name": "search_catalog", "arguments": {"query": {"maxLength": 500, "type": "string"}}}"#, "tool call"),
        (r#"{"name": "recommend", "arguments": {"k": 5}}"#, "tool call"),
        (r#"{"tool": "recommend", "arguments": {}}"#, "tool call"),
        (r#"{"function": {"name": "get_item", "arguments": "{\"id\": \"1\"}"}}"#, "tool call"),
        (r#"[{"name": "recommend", "arguments": {"k": 3}}]"#, "tool call"),
        ("<tool_call>\n{\"name\": \"recommend\", \"arguments\": {}}\n</tool_call>", "tool call"),
        ("Let me look that up. <tool_call>{\"name\": \"search_catalog\"", "tool call"),
        ("functions.search_catalog({\"query\": \"space\"})", "tool call"),
        ("I will call search_catalog(query=\"space adventure\") now.", "tool call"),
        ("Sure! {\"name\": \"search_catalog\", \"arguments\": {\"query\": \"funny space", "tool call"),
        ("```json\n{\"name\": \"recommend\", \"arguments\": {\"k\": 5}}\n```", "tool call"),
        (r#"{"query": {"type": "string", "maxLength": 500}}"#, "schema"),
        (r#"{"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}"#, "schema"),
        ("The arguments are \"query\": {\"type\": \"string\", \"minLength\": 1", "schema"),
        ("query: \"type\": \"string\", \"maxLength\": 500", "schema"),
        (r#"{"answer": "Alien", "items": ["1"]}"#, "JSON"),
        (r#"["Alien", "Aliens"]"#, "JSON"),
        ("Here you go: {\"items\": [1, 2, 3]}", "JSON"),
        ("{\"answer\": \"Here are some films", "JSON"),
        ("\"::\" \"::\" \"::\" ok \"::\" \"::\"", "symbols"),
    ];
    for (text, why) in cases {
        let reason = unusable_reason(text, TOOLS);
        assert!(reason.as_deref().is_some_and(|r| r.contains(why)), "{text:?} → {reason:?}, wanted {why:?}");
    }
}

#[test]
fn keeps_normal_prose() {
    let cases = [
        "Alien (1979) is a tense science-fiction horror classic.",
        "Try these: Star Wars (1977), The Empire Strikes Back (1980) and Return of the Jedi (1983).",
        "You might like \"Heat\" (1995); it is long but gripping.",
        "Here is my pick: \u{201c}Casablanca\u{201d}.",
        "1. Toy Story (1995)\n2. Babe (1995)\n3. Chicken Run (2000)",
        "I recommend Fargo. It is darkly funny.",
        "Let me explain: the first two are comedies, the third is a drama.",
        "Sure. Do you prefer something older or newer?",
        "Enjoy!",
        "The search found 3 films: Scream, Fargo and The Game.",
        "Rated 4/5 by most viewers: a crowd-pleaser.",
        LONG_PROSE,
    ];
    for text in cases {
        assert_eq!(unusable_reason(text, TOOLS), None, "{text:?}");
    }
}

#[test]
fn strips_prose_around_blobs() {
    let cases: &[(&str, Option<&str>)] = &[
        (
            "Here are some space comedies for you.\n{\"name\": \"search_catalog\", \"arguments\": {\"query\": \"space comedy\"}}",
            Some("Here are some space comedies for you."),
        ),
        ("<tool_call>{\"name\": \"recommend\", \"arguments\": {}}</tool_call>\nI picked three classics.", Some("I picked three classics.")),
        ("I'll search the catalog for that:\n```json\n{\"name\": \"search_catalog\", \"arguments\": {\"query\": \"x\"}}\n```", Some("I'll search the catalog for that.")),
        ("Fargo (1996) is a great pick. {\"answer\": \"Fargo\", \"items\": [\"100\"]}", Some("Fargo (1996) is a great pick.")),
        ("Here you go! {\"name\": \"search_catalog\", \"arguments\": {\"query\": \"fun", Some("Here you go!")),
        ("search_catalog\n{\"query\": {\"type\": \"string\"}}", None),
        ("{\"name\": \"recommend\", \"arguments\": {}}", None),
        ("", None),
        ("Plain prose stays as it is.  ", Some("Plain prose stays as it is.")),
        ("{\"query\": {\"type\": \"string\"}}\n1", None),
    ];
    for (text, want) in cases {
        assert_eq!(strip_to_prose(text).as_deref(), *want, "{text:?}");
    }
}

#[test]
fn display_titles_move_the_article_to_the_front() {
    assert_eq!(display_title("Godfather, The (1972)"), "The Godfather (1972)");
    assert_eq!(display_title("Godfather: Part II, The"), "The Godfather: Part II");
    assert_eq!(display_title("Usual Suspects, The"), "The Usual Suspects");
    assert_eq!(display_title("Perfect World, A (1993)"), "A Perfect World (1993)");
    assert_eq!(display_title("Horseman on the Roof, The (Hussard sur le toit, Le)"), "The Horseman on the Roof (Hussard sur le toit, Le)");
    assert_eq!(display_title("Misérables, Les (1995)"), "Les Misérables (1995)");
    assert_eq!(display_title("Homme, L'"), "L'Homme");
    assert_eq!(display_title("Star Wars (1977)"), "Star Wars (1977)");
    assert_eq!(display_title("Seven (Se7en)"), "Seven (Se7en)");
    assert_eq!(display_title("Love, Texas"), "Love, Texas");
    assert_eq!(display_title(", The"), ", The");
    assert_eq!(display_title("  Toy Story  "), "Toy Story");
}

#[test]
fn composes_the_device_answer() {
    let items: Vec<AnswerItem> = [("1", "Scream (1996)"), ("2", "Fargo (1996)"), ("3", "Game, The (1997)"), ("4", "Seven (Se7en)"), ("5", "Heat")]
        .iter()
        .map(|(id, t)| item(id, t))
        .collect();
    let what = Some("for Thriller after 1995, without Horror");
    assert_eq!(
        compose_answer(&items, what, None),
        "Here are 5 picks for Thriller after 1995, without Horror: Scream (1996), Fargo (1996) and The Game (1997) lead the list."
    );
    assert_eq!(compose_answer(&items[..3], what, None), "Here are 3 picks for Thriller after 1995, without Horror: Scream (1996), Fargo (1996) and The Game (1997).");
    assert_eq!(compose_answer(&items[..2], None, None), "Here are 2 picks: Scream (1996) and Fargo (1996).");
    assert_eq!(compose_answer(&items[2..3], what, None), "Here is one pick for Thriller after 1995, without Horror: The Game (1997).");
    assert_eq!(compose_answer(&items[..1], None, None), "Here is one pick: Scream (1996).");
    assert_eq!(compose_answer(&[], what, None), "I found no picks for Thriller after 1995, without Horror.");
    assert_eq!(compose_answer(&[], Some("  "), None), "I found nothing that matches your request.");
    let note = "Only 3 items match everything you asked; the last 2 are not Comedy.";
    assert_eq!(compose_answer(&items[..2], Some(", without Horror"), None), "Here are 2 picks, without Horror: Scream (1996) and Fargo (1996).");
    assert!(compose_answer(&items, Some("for Comedy."), Some(note)).ends_with(&format!("lead the list. {note}")));
    assert!(compose_answer(&items[..1], None, Some("No model was used")).ends_with("Scream (1996). No model was used."));
    // Never a bare number: numeric or empty titles are named by id.
    let odd = [item("7", "1"), item("8", ""), item("", "")];
    let text = compose_answer(&odd, None, None);
    assert_eq!(text, "Here are 2 picks: item 7 and item 8.");
    for t in [compose_answer(&items, None, None), text] {
        assert!(unusable_reason(&t, TOOLS).is_none(), "{t}");
    }
}

const CATALOG: &[&str] = &[
    "Star Wars",
    "Empire Strikes Back, The",
    "Return of the Jedi",
    "Godfather, The",
    "Godfather: Part II, The",
    "Heat",
    "It",
    "Game, The",
    "Fargo",
    "Die Hard",
    "Die Hard 2",
    "Usual Suspects, The",
    "Shawshank Redemption, The (1994)",
    "Misérables, Les",
    "Big Night",
    "Seven (Se7en)",
];

#[test]
fn finds_titles_the_tools_did_not_return() {
    let returned = [item("50", "Star Wars (1977)"), item("187", "Godfather: Part II, The")];
    let text = "Star Wars (1977) is a must. The Godfather: Part II is great too, and so is The Usual Suspects, not the usual suspects. \
                You could also try The Shawshank Redemption, return of the jedi or les miserables (1995), not Misérables. \
                It is hard to pick; the heat of the moment says Heat (1995). Die Hard 2 is fun.";
    let got = ungrounded_titles(text, &returned, CATALOG);
    assert_eq!(got, ["Usual Suspects, The", "Shawshank Redemption, The (1994)", "Return of the Jedi", "Misérables, Les", "Heat", "Die Hard 2"]);
    // Grounded mentions and plain words are not flagged.
    let fine = "It was a big night. The game is on, and the heat is rising; Star Wars fans will love it. The Godfather: Part II too.";
    assert!(ungrounded_titles(fine, &returned, CATALOG).is_empty(), "{:?}", ungrounded_titles(fine, &returned, CATALOG));
    // A returned title written in RecBole form still grounds its mention.
    let returned = [item("127", "Godfather, The")];
    assert!(ungrounded_titles("I loved The Godfather (1972).", &returned, CATALOG).is_empty());
    assert_eq!(ungrounded_titles("I loved The Godfather (1972).", &[], CATALOG), ["Godfather, The"]);
    // A one-word title without its year is a plain word.
    assert!(ungrounded_titles("I loved The Godfather.", &[], CATALOG).is_empty());
    assert_eq!(ungrounded_titles("Big Night (1996) is lovely", &[], CATALOG), ["Big Night"]);
    assert!(ungrounded_titles("", &[], CATALOG).is_empty());
    assert!(ungrounded_titles("{\"name\": ", &[], &[]).is_empty());
}

#[test]
fn title_lookup_is_linear_in_practice() {
    // 100,000 titles sharing first words, a long text: one pass, quick.
    let titles: Vec<String> = (0..100_000).map(|i| format!("Night Train {i}, The")).collect();
    let refs: Vec<&str> = titles.iter().map(String::as_str).collect();
    let text = "the night train to nowhere ".repeat(400) + "and The Night Train 99999.";
    let got = ungrounded_titles(&text, &[], &refs);
    assert_eq!(got, ["Night Train 99999, The"]);
}

#[test]
fn removes_sentences_and_list_lines_that_name_titles() {
    let titles = vec!["Usual Suspects, The".to_string(), "Heat".to_string()];
    let text = "Here are my picks. The Usual Suspects is a twisty classic. Mr. Holland's Opus is warm.\n\
                1. Scream (1996)\n2. Heat (1995)\n3. Fargo (1996)\n\n\n- The Usual Suspects\n- Alien\n\nEnjoy the heat of summer!";
    assert_eq!(
        remove_ungrounded(text, &titles),
        "Here are my picks. Mr. Holland's Opus is warm.\n1. Scream (1996)\n2. Fargo (1996)\n\n- Alien\n\nEnjoy the heat of summer!"
    );
    assert_eq!(remove_ungrounded("The Usual Suspects (1995) is great.", &titles), "");
    assert_eq!(remove_ungrounded("Nothing to remove here.", &titles), "Nothing to remove here.");
    assert_eq!(remove_ungrounded("", &titles), "");
    assert_eq!(remove_ungrounded("Keep it all.", &[]), "Keep it all.");
}

#[test]
fn never_panics_on_odd_input() {
    let odd = [
        "{", "[", "\"", "{\"", "[{\"", "```", "```json", "<tool_call>", "</tool_call>", "functions.", "search_catalog(",
        "é{\"a\":", "{\"a\": \"\u{1F600}", "((((", "))))", "1) ", "- ", "Mr.", "A. B. C.", "\u{2026}\u{2026}", "(1977)",
        "Heat (19", "Heat (", ", The", "{}", "[]", "\u{0301}",
    ];
    for t in odd {
        let _ = unusable_reason(t, TOOLS);
        let _ = strip_to_prose(t);
        let _ = ungrounded_titles(t, &[item("1", t)], &[t, "Heat", ", The"]);
        let _ = remove_ungrounded(t, &[t.to_string(), "Heat".to_string()]);
        let _ = compose_answer(&[item(t, t)], Some(t), Some(t));
        let _ = display_title(t);
    }
}

#[test]
fn an_echo_of_the_prompt_is_not_an_answer() {
    // What SmolLM2-135M wrote in the demo: the start of its own prompt.
    let echo = "The device ranked the items below for this request.\n\n<data source=\"tool:recommend\" trust=\"untrusted\">";
    assert!(unusable_reason(echo, TOOLS).unwrap().contains("prompt"));
    assert_eq!(strip_to_prose(echo), None);
    assert!(unusable_reason("The device ranked the items below for this request.", TOOLS).is_some());
    assert!(unusable_reason("These films were ranked on your device: enjoy them.", TOOLS).is_none());
}

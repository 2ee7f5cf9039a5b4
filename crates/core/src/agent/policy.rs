//! The privacy policy: what may be sent to which endpoint, and the data
//! class of every piece of outbound content.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How much may be sent to an endpoint, from least to most. Ordered: a
/// level allows everything the levels below it allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShareLevel {
    /// Nothing: no request is made at all.
    Nothing,
    /// Only the user's own words (redacted).
    RequestText,
    /// The request text plus catalog ids, titles and public item text.
    #[default]
    PublicItems,
    /// Also a redacted summary of preferences (interest tags, statements).
    PreferenceSummary,
    /// Also memory: facts, episodes, history items, explanations citing history.
    FullMemory,
}

/// The class of one piece of outbound content; each needs a minimum
/// [`ShareLevel`] ([`DataClass::required_level`]). In JSON each class also
/// accepts the name of the level it needs (`public_items`, `full_memory`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataClass {
    /// The user's own words.
    RequestText,
    /// Catalog ids, titles, public attributes and descriptions.
    #[serde(alias = "public_items")]
    PublicItem,
    /// A summary of the profile: interest tags, statements such as "no horror".
    #[serde(alias = "preference_summary")]
    Preferences,
    /// Memory facts, episodes, the user's history items, explanations citing history.
    #[serde(alias = "full_memory")]
    Memory,
    /// A vector made from the user's history (their taste in the catalog's
    /// text space), which a candidate engine could search with. It needs
    /// [`ShareLevel::FullMemory`]: off unless the app allows memory to go
    /// to that endpoint.
    ProfileVector,
}

impl DataClass {
    /// The lowest share level at which content of this class may be sent.
    pub fn required_level(self) -> ShareLevel {
        match self {
            DataClass::RequestText => ShareLevel::RequestText,
            DataClass::PublicItem => ShareLevel::PublicItems,
            DataClass::Preferences => ShareLevel::PreferenceSummary,
            DataClass::Memory => ShareLevel::FullMemory,
            DataClass::ProfileVector => ShareLevel::FullMemory,
        }
    }

    /// Whether content of this class may go to an endpoint allowed `level`.
    pub fn allowed_at(self, level: ShareLevel) -> bool {
        level >= self.required_level()
    }
}

/// What the app allows to be sent where. The default sends the request
/// text and public item text to any endpoint, and never memory or the profile.
///
/// Read it from JSON with [`PrivacyPolicy::from_json`] (or serde): every
/// endpoint key is normalised to its origin ([`normalize_origin`]); a key
/// that is not an origin, an unknown level or field is refused.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrivacyPolicy {
    /// The level for endpoints not listed in `endpoints` (default `public_items`).
    #[serde(default)]
    pub share: ShareLevel,
    /// Per-origin levels, overriding `share`; keys are normalised origins.
    #[serde(default)]
    pub endpoints: EndpointLevels,
    /// When true, endpoints not listed get [`ShareLevel::Nothing`].
    #[serde(default)]
    pub only_listed_endpoints: bool,
}

impl PrivacyPolicy {
    /// A policy that sends nothing anywhere.
    pub fn nothing() -> Self {
        Self { share: ShareLevel::Nothing, ..Self::default() }
    }

    /// A policy with `share` for every endpoint.
    pub fn sharing(share: ShareLevel) -> Self {
        Self { share, ..Self::default() }
    }

    /// Reads a policy from its JSON form (`{"share", "endpoints",
    /// "onlyListedEndpoints"}`). Anything that cannot be read — an unknown
    /// field or level, an endpoint key that is not an http(s) origin, two
    /// keys naming one origin with different levels — is
    /// [`Error::InvalidPolicy`]; nothing is guessed.
    pub fn from_json(value: serde_json::Value) -> Result<Self> {
        serde_json::from_value(value).map_err(|e| Error::InvalidPolicy(e.to_string()))
    }

    /// [`PrivacyPolicy::from_json`] over JSON bytes (a policy file).
    pub fn from_json_slice(bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes).map_err(|e| Error::InvalidPolicy(e.to_string()))
    }

    /// The level for the endpoint at `origin` (any URL of it: it is
    /// normalised like the keys): its entry if listed; else `nothing` when
    /// only listed endpoints may be used; else `share`. An `origin` that is
    /// not an http(s) origin (e.g. `""` or `"null"`) is never listed.
    pub fn share_for(&self, origin: &str) -> ShareLevel {
        match self.endpoints.get(origin) {
            Some(level) => level,
            None if self.only_listed_endpoints => ShareLevel::Nothing,
            None => self.share,
        }
    }
}

/// The per-origin levels of a [`PrivacyPolicy`]: a map whose keys are
/// always normalised origins (`scheme://host[:port]`, see
/// [`normalize_origin`]), so `https://HOST:443/v1/` and `https://host` are
/// one entry. Serialises as a JSON object; deserialising refuses a key
/// that is not an origin.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct EndpointLevels(BTreeMap<String, ShareLevel>);

impl EndpointLevels {
    /// No endpoint listed.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lists `key` (any http(s) URL; its origin is what is stored) at
    /// `level`. [`Error::InvalidPolicy`] when `key` is not an http(s)
    /// origin, or names an origin already listed at another level.
    pub fn insert(&mut self, key: &str, level: ShareLevel) -> Result<()> {
        let origin = normalize_origin(key)?;
        match self.0.get(&origin) {
            Some(existing) if *existing != level => Err(Error::InvalidPolicy(format!(
                "endpoint keys name the origin {origin} twice, with the levels {} and {}",
                existing.name(),
                level.name()
            ))),
            _ => {
                self.0.insert(origin, level);
                Ok(())
            }
        }
    }

    /// The level listed for the origin of `url`, if any (`None` as well
    /// when `url` is not an http(s) URL).
    pub fn get(&self, url: &str) -> Option<ShareLevel> {
        let origin = normalize_origin(url).ok()?;
        self.0.get(&origin).copied()
    }

    /// The listed origins and their levels, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, ShareLevel)> {
        self.0.iter().map(|(o, l)| (o.as_str(), *l))
    }

    /// How many origins are listed.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no origin is listed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de> Deserialize<'de> for EndpointLevels {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let raw = BTreeMap::<String, ShareLevel>::deserialize(deserializer)?;
        let mut levels = EndpointLevels::new();
        for (key, level) in raw {
            levels.insert(&key, level).map_err(|e| -> D::Error {
                match e {
                    Error::InvalidPolicy(m) => serde::de::Error::custom(m),
                    other => serde::de::Error::custom(other),
                }
            })?;
        }
        Ok(levels)
    }
}

impl ShareLevel {
    /// The level's name as in JSON (`public_items`, …).
    pub fn name(self) -> &'static str {
        match self {
            ShareLevel::Nothing => "nothing",
            ShareLevel::RequestText => "request_text",
            ShareLevel::PublicItems => "public_items",
            ShareLevel::PreferenceSummary => "preference_summary",
            ShareLevel::FullMemory => "full_memory",
        }
    }
}

/// The origin a policy key or an endpoint URL names, normalised:
/// `scheme://host[:port]` with the scheme and host lower-cased, the
/// default port (80 for http, 443 for https) removed, an IPv6 literal in
/// its canonical form (`[::1]`), an IPv4 address in dotted decimal, and
/// any path, query, fragment or trailing slash dropped (a URL names its
/// origin). [`Error::InvalidPolicy`] for anything else: not `http://` or
/// `https://`, no host, user info (`user@host`), a port that is not a
/// number up to 65535, a host with characters outside `[a-z0-9.-_]`
/// (write international names in their `xn--` form).
pub fn normalize_origin(key: &str) -> Result<String> {
    let bad = |why: &str| Error::InvalidPolicy(format!("{key:?} is not an http(s) origin: {why}"));
    let trimmed = key.trim();
    let (scheme, rest) = trimmed.split_once("://").ok_or_else(|| bad("it must start with http:// or https://"))?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return Err(bad("the scheme must be http or https")),
    };
    let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(bad("user info (user@host) is not allowed"));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (literal, after) = v6.split_once(']').ok_or_else(|| bad("an IPv6 address needs its closing ]"))?;
        let address: std::net::Ipv6Addr = literal.parse().map_err(|_| bad("not an IPv6 address"))?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(|| bad("junk after the IPv6 address"))?),
        };
        (format!("[{address}]"), port)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        let host = host.to_ascii_lowercase();
        if !host.bytes().any(|b| b.is_ascii_alphanumeric()) {
            return Err(bad("no host"));
        }
        if !host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')) {
            return Err(bad("the host has characters outside a-z, 0-9, '.', '-', '_'"));
        }
        let host = match ipv4(&host) {
            Ipv4::Not => host,
            Ipv4::Address(a) => a.to_string(),
            Ipv4::Invalid => return Err(bad("a numeric host that is not an IPv4 address")),
        };
        (host, port)
    };
    let port = match port {
        None | Some("") => None,
        Some(p) if p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().map_err(|_| bad("the port is above 65535"))?)
        }
        Some(_) => return Err(bad("the port must be a number")),
    };
    Ok(match port {
        Some(p) if p != default_port => format!("{scheme}://{host}:{p}"),
        _ => format!("{scheme}://{host}"),
    })
}

/// What the host parser of URLs makes of a host that may be an IPv4 address.
enum Ipv4 {
    /// A name, not an address.
    Not,
    /// An address (any of the forms browsers accept: `127.1`, `0x7f.0.0.1`, `2130706433`).
    Address(std::net::Ipv4Addr),
    /// Ends in a number but is no address: browsers refuse it too.
    Invalid,
}

/// The URL standard's IPv4 parser: a host whose last label is a number is
/// an IPv4 address of 1-4 decimal, octal (`0…`) or hex (`0x…`) parts.
fn ipv4(host: &str) -> Ipv4 {
    let mut labels: Vec<&str> = host.split('.').collect();
    if labels.len() > 1 && labels.last() == Some(&"") {
        labels.pop();
    }
    let number = |label: &str| -> Option<u64> {
        let (digits, radix) = match label.strip_prefix("0x").or_else(|| label.strip_prefix("0X")) {
            Some(hex) => (hex, 16),
            None if label.len() > 1 && label.starts_with('0') => (&label[1..], 8),
            None => (label, 10),
        };
        if digits.is_empty() {
            return (!label.is_empty()).then_some(0);
        }
        // Past 2^32 it is no address anyway; the cap keeps u64 from overflowing.
        let digits = digits.trim_start_matches('0');
        if digits.len() > 12 {
            return None;
        }
        if digits.is_empty() {
            return Some(0);
        }
        u64::from_str_radix(digits, radix).ok()
    };
    // The URL standard's "ends in a number": all digits, or 0x and hex digits.
    let numeric = |label: &str| {
        !label.is_empty()
            && (label.bytes().all(|b| b.is_ascii_digit())
                || label
                    .strip_prefix("0x")
                    .or_else(|| label.strip_prefix("0X"))
                    .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit())))
    };
    match labels.last() {
        Some(last) if numeric(*last) => {}
        _ => return Ipv4::Not,
    }
    if labels.len() > 4 {
        return Ipv4::Invalid;
    }
    let Some(parts) = labels.iter().map(|l| number(*l)).collect::<Option<Vec<u64>>>() else {
        return Ipv4::Invalid;
    };
    let Some((last, init)) = parts.split_last() else { return Ipv4::Invalid };
    if init.iter().any(|p| *p > 255) {
        return Ipv4::Invalid;
    }
    let room = 8 * (4 - init.len() as u32);
    if room < 64 && *last >= 1u64 << room {
        return Ipv4::Invalid;
    }
    let mut address = *last;
    for (i, p) in init.iter().enumerate() {
        address += p << (8 * (3 - i as u32));
    }
    match u32::try_from(address) {
        Ok(a) => Ipv4::Address(std::net::Ipv4Addr::from(a)),
        Err(_) => Ipv4::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_ordered_and_classes_need_their_level() {
        assert!(ShareLevel::Nothing < ShareLevel::RequestText);
        assert!(ShareLevel::RequestText < ShareLevel::PublicItems);
        assert!(ShareLevel::PublicItems < ShareLevel::PreferenceSummary);
        assert!(ShareLevel::PreferenceSummary < ShareLevel::FullMemory);
        let d = ShareLevel::default();
        assert!(DataClass::RequestText.allowed_at(d));
        assert!(DataClass::PublicItem.allowed_at(d));
        assert!(!DataClass::Preferences.allowed_at(d));
        assert!(!DataClass::Memory.allowed_at(d));
        assert!(!DataClass::RequestText.allowed_at(ShareLevel::Nothing));
        assert!(DataClass::Memory.allowed_at(ShareLevel::FullMemory));
        assert!(!DataClass::Memory.allowed_at(ShareLevel::PreferenceSummary));
    }

    #[test]
    fn policy_json_and_per_endpoint_levels() {
        let p: PrivacyPolicy = serde_json::from_str(
            r#"{"share":"request_text","endpoints":{"http://127.0.0.1:8080":"full_memory"},"onlyListedEndpoints":false}"#,
        )
        .unwrap();
        assert_eq!(p.share_for("http://127.0.0.1:8080"), ShareLevel::FullMemory);
        assert_eq!(p.share_for("HTTP://127.0.0.1:8080/"), ShareLevel::FullMemory);
        assert_eq!(p.share_for("https://api.openai.com"), ShareLevel::RequestText);
        let only = PrivacyPolicy { only_listed_endpoints: true, ..p };
        assert_eq!(only.share_for("https://api.openai.com"), ShareLevel::Nothing);
        let d: PrivacyPolicy = serde_json::from_str("{}").unwrap();
        assert_eq!(d, PrivacyPolicy::default());
        assert_eq!(d.share_for("https://x.example"), ShareLevel::PublicItems);
        assert!(serde_json::from_str::<PrivacyPolicy>(r#"{"shares":"nothing"}"#).is_err());
        assert!(serde_json::from_str::<PrivacyPolicy>(r#"{"share":"everything"}"#).is_err());
    }

    #[test]
    fn keys_are_normalised_to_their_origin() {
        let table = [
            ("https://host", "https://host"),
            ("https://host:443", "https://host"),
            ("https://HOST/", "https://host"),
            ("HTTPS://Host.Example.COM:443/v1/chat?x=1#f", "https://host.example.com"),
            ("https://host:8443/", "https://host:8443"),
            ("http://host:80", "http://host"),
            ("http://host:443", "http://host:443"),
            ("https://host:80", "https://host:80"),
            ("http://host:", "http://host"),
            ("http://host:08080", "http://host:8080"),
            ("  http://127.0.0.1:8080/v1  ", "http://127.0.0.1:8080"),
            ("http://[::1]:8080", "http://[::1]:8080"),
            ("http://[0:0:0:0:0:0:0:1]:8080/x", "http://[::1]:8080"),
            ("https://[2001:DB8::1]:443", "https://[2001:db8::1]"),
            ("http://2130706433:9", "http://127.0.0.1:9"),
            ("http://127.1", "http://127.0.0.1"),
            ("http://0x7F.0.0.1", "http://127.0.0.1"),
            ("http://0177.0.0.1", "http://127.0.0.1"),
            ("http://my_host-1.local", "http://my_host-1.local"),
            ("http://host?q", "http://host"),
            ("http://host#frag", "http://host"),
        ];
        for (key, origin) in table {
            assert_eq!(normalize_origin(key).unwrap(), origin, "{key}");
        }
        for bad in [
            "", "host", "host:8080", "//host", "ftp://host", "file:///etc/passwd", "ws://host", "http:/host", "http:host",
            "http://", "http:///path", "http://:8080", "http://user@host", "https://user:pw@host", "https://good.example@evil.example",
            "http://host:port", "http://host:65536", "http://host:-1", "http://host:1:2", "http://[::1", "http://[::1]x",
            "http://[zz::1]", "http://[fe80::1%25eth0]", "http://ho st", "http://hôst.example", "http://h%6Fst", "http://256.0.0.1",
            "http://1.2.3.4.5", "http://08.0.0.1", "http://0x100000000", "http://...", "null",
        ] {
            let e = normalize_origin(bad).unwrap_err();
            assert_eq!(e.code(), "invalid_policy", "{bad}");
        }
    }

    #[test]
    fn every_spelling_of_an_origin_finds_its_level_and_bad_keys_are_refused() {
        let p = PrivacyPolicy::from_json(serde_json::json!({
            "share": "request_text",
            "endpoints": {"HTTPS://LLM.example.com:443/v1/": "full_memory", "http://[::1]:8080": "nothing"}
        }))
        .unwrap();
        for origin in ["https://llm.example.com", "https://LLM.EXAMPLE.COM", "https://llm.example.com:443/", "https://llm.example.com/v1/chat/completions"] {
            assert_eq!(p.share_for(origin), ShareLevel::FullMemory, "{origin}");
        }
        assert_eq!(p.share_for("http://[0::1]:8080/"), ShareLevel::Nothing);
        assert_eq!(p.share_for("http://llm.example.com"), ShareLevel::RequestText, "another scheme is another origin");
        assert_eq!(p.share_for("https://llm.example.com:8443"), ShareLevel::RequestText, "another port too");
        assert_eq!(p.share_for(""), ShareLevel::RequestText);
        assert_eq!(p.share_for("null"), ShareLevel::RequestText);
        let only = PrivacyPolicy { only_listed_endpoints: true, ..p.clone() };
        assert_eq!(only.share_for("null"), ShareLevel::Nothing);
        // What the app reads back is the normalised form.
        let back = serde_json::to_value(&p).unwrap();
        assert_eq!(back["endpoints"], serde_json::json!({"http://[::1]:8080": "nothing", "https://llm.example.com": "full_memory"}));
        assert_eq!(PrivacyPolicy::from_json(back).unwrap(), p);
        // The same origin twice: fine at one level, refused at two.
        let same = PrivacyPolicy::from_json(serde_json::json!({"endpoints": {"https://h": "nothing", "https://H:443/": "nothing"}})).unwrap();
        assert_eq!(same.endpoints.len(), 1);
        for bad in [
            serde_json::json!({"endpoints": {"https://h": "nothing", "https://H:443/": "full_memory"}}),
            serde_json::json!({"endpoints": {"llm.example.com": "nothing"}}),
            serde_json::json!({"endpoints": {"https://u@h": "nothing"}}),
            serde_json::json!({"endpoints": {"https://h": "everything"}}),
            serde_json::json!({"share": "everything"}),
            serde_json::json!({"shares": "nothing"}),
            serde_json::json!({"endpoints": ["https://h"]}),
            serde_json::json!("public_items"),
        ] {
            assert_eq!(PrivacyPolicy::from_json(bad.clone()).unwrap_err().code(), "invalid_policy", "{bad}");
            assert_eq!(PrivacyPolicy::from_json_slice(bad.to_string().as_bytes()).unwrap_err().code(), "invalid_policy", "{bad}");
        }
        let mut levels = EndpointLevels::new();
        levels.insert("https://a.example/x", ShareLevel::Nothing).unwrap();
        assert_eq!(levels.insert("no scheme", ShareLevel::Nothing).unwrap_err().code(), "invalid_policy");
        assert_eq!(levels.iter().collect::<Vec<_>>(), vec![("https://a.example", ShareLevel::Nothing)]);
    }
}

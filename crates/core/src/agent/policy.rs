//! The privacy policy: what may be sent to which endpoint, and the data
//! class of every piece of outbound content.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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
}

impl DataClass {
    /// The lowest share level at which content of this class may be sent.
    pub fn required_level(self) -> ShareLevel {
        match self {
            DataClass::RequestText => ShareLevel::RequestText,
            DataClass::PublicItem => ShareLevel::PublicItems,
            DataClass::Preferences => ShareLevel::PreferenceSummary,
            DataClass::Memory => ShareLevel::FullMemory,
        }
    }

    /// Whether content of this class may go to an endpoint allowed `level`.
    pub fn allowed_at(self, level: ShareLevel) -> bool {
        level >= self.required_level()
    }
}

/// What the app allows to be sent where. The default sends the request
/// text and public item text to any endpoint, and never memory or the profile.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrivacyPolicy {
    /// The level for endpoints not listed in `endpoints` (default `public_items`).
    #[serde(default)]
    pub share: ShareLevel,
    /// Per-origin levels (`scheme://host[:port]`, lower case), overriding `share`.
    #[serde(default)]
    pub endpoints: BTreeMap<String, ShareLevel>,
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

    /// The level for `origin`: its entry if listed (compared lower-cased,
    /// without a trailing `/`); else `nothing` when only listed endpoints
    /// may be used; else `share`.
    pub fn share_for(&self, origin: &str) -> ShareLevel {
        let wanted = origin.trim_end_matches('/').to_ascii_lowercase();
        let listed = self
            .endpoints
            .iter()
            .find(|(o, _)| o.trim_end_matches('/').eq_ignore_ascii_case(&wanted))
            .map(|(_, level)| *level);
        match listed {
            Some(level) => level,
            None if self.only_listed_endpoints => ShareLevel::Nothing,
            None => self.share,
        }
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
}

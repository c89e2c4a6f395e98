//! What a partner publishes for the offloading side: the URL form its edge accepts.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::collections::HashSet;
use std::fmt;

use crate::authority::Authority;
use crate::host::HostError;
use crate::origin_key::OriginKey;

/// Why a partner form or an offload list is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PartnerFormError {
    /// An entry that is not a valid `host[:port]`.
    #[error("{input:?}: {source}")]
    Host {
        /// The entry as written.
        input: String,
        /// What is wrong with it.
        source: HostError,
    },
    /// A semantic suffix must be a name: an IP literal cannot have names below it.
    #[error("semantic suffix {0:?} is an IP address")]
    SuffixIsIp(String),
    /// A table form without entries.
    #[error("table form with an empty table")]
    EmptyTable,
    /// Two table entries for one origin host.
    #[error("origin {0:?} is mapped twice")]
    DuplicateOrigin(String),
    /// Two origins mapped to one partner host: the edge could not tell them apart.
    #[error("partner host {0:?} is mapped from two origins")]
    PartnerHostReused(String),
}

fn entry<T>(
    input: &str,
    parse: impl FnOnce(&str) -> Result<T, HostError>,
) -> Result<T, PartnerFormError> {
    parse(input).map_err(|source| PartnerFormError::Host {
        input: input.to_owned(),
        source,
    })
}

/// A host name of the partner's edge as it appears in rewritten URLs, with an optional
/// port (`foo.cdn-g.example`, or `foo.cdn-g.example:8090` for an edge on another port).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PartnerHost(Authority);

impl PartnerHost {
    /// Reads `host[:port]`, canonicalising the host.
    pub fn parse(input: &str) -> Result<Self, HostError> {
        Authority::parse(input).map(Self)
    }

    /// The canonical text, `host` or `host:port`, as written into URLs.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The canonical host without the port.
    pub fn host(&self) -> &str {
        self.0.host()
    }

    /// The port, when one is given.
    pub fn port(&self) -> Option<u16> {
        self.0.port()
    }
}

impl fmt::Display for PartnerHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The URL form a partner G's edge accepts from this offloading CDN (spec §5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartnerForm {
    /// `http://<host>/<origin-host[:port]>/<path>`.
    Embedded {
        /// The partner host that tells G which offloader the request is for.
        host: PartnerHost,
    },
    /// `http://<map[origin]>/<path>`.
    Table {
        /// Origin host -> partner host.
        map: HashMap<OriginKey, PartnerHost>,
    },
    /// `http://<origin-host>.<suffix>/<path>`; the suffix includes this CDN's label
    /// (`c.cdn-g.example`). Origins with a port cannot be written in this form.
    Semantic {
        /// The suffix appended to origin host names, with an optional port.
        suffix: PartnerHost,
    },
}

impl PartnerForm {
    /// The embedded form with partner host `host`.
    pub fn embedded(host: &str) -> Result<Self, PartnerFormError> {
        Ok(Self::Embedded {
            host: entry(host, PartnerHost::parse)?,
        })
    }

    /// The semantic form with `suffix` (a name, not an IP literal).
    pub fn semantic(suffix: &str) -> Result<Self, PartnerFormError> {
        let suffix = entry(suffix, PartnerHost::parse)?;
        if suffix.0.is_ip() {
            return Err(PartnerFormError::SuffixIsIp(suffix.as_str().to_owned()));
        }
        Ok(Self::Semantic { suffix })
    }

    /// The table form from `(origin host, partner host)` entries.
    pub fn table(
        entries: impl IntoIterator<Item = (impl AsRef<str>, impl AsRef<str>)>,
    ) -> Result<Self, PartnerFormError> {
        let mut map = HashMap::new();
        let mut partner_hosts = HashSet::new();
        for (origin, partner) in entries {
            let origin = entry(origin.as_ref(), OriginKey::parse)?;
            let partner = entry(partner.as_ref(), PartnerHost::parse)?;
            if !partner_hosts.insert(partner.clone()) {
                return Err(PartnerFormError::PartnerHostReused(
                    partner.as_str().to_owned(),
                ));
            }
            if let Some(_old) = map.insert(origin.clone(), partner) {
                return Err(PartnerFormError::DuplicateOrigin(
                    origin.as_str().to_owned(),
                ));
            }
        }
        if map.is_empty() {
            return Err(PartnerFormError::EmptyTable);
        }
        Ok(Self::Table { map })
    }
}

/// The origin hosts of a customer that may be offloaded to a partner (`offload = [...]`).
///
/// Asked once per URL of a page, mostly about other hosts: the keys sit sorted by length,
/// then bytes, so a lookup is a binary search whose comparisons mostly stop at the length
/// (no hashing of the URL's host; set equality is slice equality).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OffloadHosts(Box<[OriginKey]>);

impl OffloadHosts {
    /// Reads `host[:port]` entries.
    pub fn new(hosts: impl IntoIterator<Item = impl AsRef<str>>) -> Result<Self, PartnerFormError> {
        let mut keys = hosts
            .into_iter()
            .map(|h| entry(h.as_ref(), OriginKey::parse))
            .collect::<Result<Vec<_>, _>>()?;
        keys.sort_unstable_by(|a, b| by_len_then_bytes(a.as_str(), b.as_str()));
        keys.dedup();
        Ok(Self(keys.into_boxed_slice()))
    }

    /// True when the canonical key text `key` is listed.
    pub fn contains(&self, key: &str) -> bool {
        self.0
            .binary_search_by(|k| by_len_then_bytes(k.as_str(), key))
            .is_ok()
    }

    /// The listed keys.
    pub fn iter(&self) -> impl Iterator<Item = &OriginKey> {
        self.0.iter()
    }
}

/// The order of [`OffloadHosts`]: shorter first, so most mismatches cost one comparison.
fn by_len_then_bytes(a: &str, b: &str) -> Ordering {
    a.len()
        .cmp(&b.len())
        .then_with(|| a.as_bytes().cmp(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_built_from_plain_values() {
        assert!(matches!(PartnerForm::embedded("FOO.cdn-g.example"),
            Ok(PartnerForm::Embedded { host }) if host.as_str() == "foo.cdn-g.example"));
        assert!(matches!(PartnerForm::semantic("c.cdn-g.example:8090"),
            Ok(PartnerForm::Semantic { suffix }) if suffix.port() == Some(8090)));
        let table = PartnerForm::table([("img.xyz.com", "xyz.cdn-g.example")]).unwrap();
        let PartnerForm::Table { map } = table else {
            panic!("not a table")
        };
        assert_eq!(
            map.get("img.xyz.com").map(PartnerHost::as_str),
            Some("xyz.cdn-g.example")
        );
    }

    #[test]
    fn bad_entries_are_typed_errors() {
        assert_eq!(
            PartnerForm::embedded("a@b"),
            Err(PartnerFormError::Host {
                input: "a@b".into(),
                source: HostError::UserInfo
            })
        );
        assert_eq!(
            PartnerForm::semantic("10.0.0.1"),
            Err(PartnerFormError::SuffixIsIp("10.0.0.1".into()))
        );
        assert_eq!(
            PartnerForm::table([("", ""); 0]),
            Err(PartnerFormError::EmptyTable)
        );
        assert_eq!(
            PartnerForm::table([("a.com", "x.g"), ("A.com.", "y.g")]),
            Err(PartnerFormError::DuplicateOrigin("a.com".into()))
        );
        assert_eq!(
            PartnerForm::table([("a.com", "x.g"), ("b.com", "X.g")]),
            Err(PartnerFormError::PartnerHostReused("x.g".into()))
        );
        assert!(OffloadHosts::new(["img.xyz.com:80"]).is_err());
    }

    #[test]
    fn offload_hosts_match_canonical_text() {
        let owned = vec![
            String::from("IMG.xyz.com"),
            String::from("img.xyz.com:8080"),
        ];
        let hosts = OffloadHosts::new(&owned).unwrap();
        assert!(hosts.contains("img.xyz.com"));
        assert!(hosts.contains("img.xyz.com:8080"));
        assert!(!hosts.contains("IMG.xyz.com"));
        assert_eq!(hosts.iter().count(), 2);
    }

    #[test]
    fn offload_hosts_are_a_set() {
        let many: Vec<String> = (0..40).map(|i| format!("h{i}.example")).collect();
        let spellings = many.iter().map(String::as_str).chain(["H3.EXAMPLE."]);
        let hosts = OffloadHosts::new(spellings).unwrap();
        assert_eq!(hosts.iter().count(), 40, "duplicates are one entry");
        for key in &many {
            assert!(hosts.contains(key), "{key}");
        }
        for absent in [
            "",
            "h40.example",
            "h1.exampl",
            "h1.examplf",
            "h11.example.x",
        ] {
            assert!(!hosts.contains(absent), "{absent}");
        }
        let reversed = OffloadHosts::new(many.iter().rev()).unwrap();
        assert_eq!(hosts, reversed, "equality ignores order");
    }
}

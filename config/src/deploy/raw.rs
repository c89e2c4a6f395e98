//! The deployment file as serde sees it: one struct per table of spec §7, unknown keys
//! refused, every value that needs a check kept `Spanned` so that its error can point at
//! it. The same structs print the canonical file (spans are then empty).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use toml::Spanned;

pub(crate) type S<T> = Spanned<T>;
/// A TOML table of strings to strings (`origin = { "a" = "b" }`), keys spanned too.
pub(crate) type StrMap = BTreeMap<S<String>, S<String>>;

/// The whole document, for printing; parsing reads it section by section.
#[derive(Debug, Serialize)]
pub(crate) struct RawDocument {
    pub(crate) node: RawNode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) dns: Option<RawDns>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) control: Option<RawControl>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) proxy: Option<RawProxy>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) partner: Vec<RawPartner>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) customer: Vec<RawCustomer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) edge: Option<RawEdge>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cluster: Option<RawCluster>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCluster {
    pub(crate) etcd: S<Vec<S<String>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) prefix: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) lease_s: Option<S<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) advertise: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ca: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) user: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) password_file: Option<S<String>>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNode {
    pub(crate) name: S<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDns {
    pub(crate) listen: S<Vec<S<String>>>,
    pub(crate) control: S<String>,
    pub(crate) ns: Vec<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ttl: Option<S<u32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) query_log: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) load: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) metrics: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) dnssec: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) signature_days: Option<S<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) rrl: Option<S<RawRrl>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) max_tcp: Option<S<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) relay_in_flight: Option<S<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) max_transaction_mb: Option<S<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) token: Option<S<String>>,
}

/// `[dns] rrl = { responses_per_s, slip, ipv4_prefix, ipv6_prefix }`, each optional.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRrl {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) responses_per_s: Option<S<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) slip: Option<S<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ipv4_prefix: Option<S<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ipv6_prefix: Option<S<u64>>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTls {
    pub(crate) cert: S<String>,
    pub(crate) key: S<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawControl {
    pub(crate) regions: S<String>,
    pub(crate) cdns: S<String>,
    pub(crate) customers: S<String>,
    pub(crate) engines: Vec<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) management: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) api: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) token: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) alerts: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tls: Option<S<RawTls>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) poll_period_s: Option<S<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) poll_timeout_s: Option<S<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) max_connections: Option<S<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) engine_token: Option<S<String>>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProxy {
    pub(crate) listen: S<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) special_ports: StrMap,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) trusted_proxies: Vec<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) metrics: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) https_listen: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) tls: Vec<S<RawSiteTls>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) origin_ca: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) origin_timeout_s: Option<S<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) origin_idle_timeout_s: Option<S<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) client_header_timeout_s: Option<S<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) client_write_timeout_s: Option<S<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) max_header_bytes: Option<S<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) rewrite_cache_mb: Option<S<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) max_connections: Option<S<u64>>,
}

/// One entry of `[proxy] tls`: a certificate and the site names it is served for.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSiteTls {
    pub(crate) names: Vec<S<String>>,
    pub(crate) cert: S<String>,
    pub(crate) key: S<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPartner {
    pub(crate) name: S<String>,
    pub(crate) form: S<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) host: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) table: Option<S<StrMap>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) status: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) token: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ca: Option<S<String>>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCustomer {
    pub(crate) name: S<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) site: Vec<S<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) offload: Vec<S<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) dns: Vec<S<String>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) origin: StrMap,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEdge {
    pub(crate) listen: S<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) status: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tls: Option<S<RawTls>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cache_mb: Option<S<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) metrics: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) max_connections: Option<S<u64>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) offloader: Vec<S<RawOffloader>>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOffloader {
    pub(crate) name: S<String>,
    pub(crate) token: S<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) capacity_kbps: Option<S<u64>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) embedded_hosts: Vec<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) semantic_suffix: Option<S<String>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) table: StrMap,
    pub(crate) origins: StrMap,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) alert: Option<S<OneOrMany>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ca: Option<S<String>>,
}

/// A key that takes one string or a list of them (`alert = "url"` or `alert = [...]`).
#[derive(Debug, PartialEq)]
pub(crate) enum OneOrMany {
    /// One string; its place is the key's value.
    One(String),
    Many(Vec<S<String>>),
}

impl OneOrMany {
    /// Each string with its span (`whole`: the span of the value, for `One`).
    pub(crate) fn items(&self, whole: std::ops::Range<usize>) -> Vec<S<String>> {
        match self {
            Self::One(s) => vec![Spanned::new(whole, s.clone())],
            Self::Many(items) => items.clone(),
        }
    }
}

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany::One(v.to_owned()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<OneOrMany, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<S<String>>()? {
                    items.push(item);
                }
                Ok(OneOrMany::Many(items))
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl Serialize for OneOrMany {
    fn serialize<Z: serde::Serializer>(&self, z: Z) -> Result<Z::Ok, Z::Error> {
        match self {
            Self::One(s) => z.serialize_str(s),
            Self::Many(items) => items.serialize(z),
        }
    }
}

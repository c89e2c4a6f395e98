//! Edge side: what each offloader may ask this edge for, built once per config snapshot.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;

use broker_config::Name;

use crate::authority::Authority;
use crate::back_door::{BackDoor, BackDoorError};
use crate::host::HostError;
use crate::origin_key::OriginKey;
use crate::own_endpoint::{EdgeAddress, Target};

/// One `[[edge.offloader]]` in plain values (the caller converts its TOML model).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OffloaderSpec {
    /// The offloading CDN's name (`C`).
    pub name: String,
    /// Partner hosts of the embedded form (`foo.cdn-g.example`, optionally `:port`).
    pub embedded_hosts: Vec<String>,
    /// Suffix of the semantic form, including the offloader's label (`c.cdn-g.example`).
    pub semantic_suffix: Option<String>,
    /// Table form: partner host -> origin host.
    pub table: Vec<(String, String)>,
    /// Allowed origins -> back doors (`img.xyz.com` -> `http://127.0.0.1:8000`).
    pub origins: Vec<(String, String)>,
}

/// One thing wrong in the offloaders given to [`EdgeMap::new`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EdgeMapError {
    /// The offloader name breaks the name syntax.
    #[error("offloader {name:?}: {reason}")]
    BadName {
        /// The name as given.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// Two offloaders with one name.
    #[error("offloader {0:?} is given twice")]
    DuplicateOffloader(String),
    /// None of embedded hosts, semantic suffix, table.
    #[error("offloader {0:?}: no embedded host, semantic suffix or table")]
    NoForm(String),
    /// A host entry (origin, edge name, table host, own name) that is not a valid host.
    #[error("offloader {offloader:?}: {input:?}: {source}")]
    BadHost {
        /// The offloader (empty for the edge's own names).
        offloader: String,
        /// The entry as written.
        input: String,
        /// What is wrong with it.
        source: HostError,
    },
    /// A back door that does not parse.
    #[error("offloader {offloader:?}: back door {input:?}: {source}")]
    BadBackDoor {
        /// The offloader.
        offloader: String,
        /// The entry as written.
        input: String,
        /// What is wrong with it.
        source: BackDoorError,
    },
    /// One origin listed twice for one offloader.
    #[error("offloader {offloader:?}: origin {origin:?} is listed twice")]
    DuplicateOrigin {
        /// The offloader.
        offloader: String,
        /// The canonical origin key.
        origin: String,
    },
    /// One edge name (embedded host, table host, suffix) used twice.
    #[error("offloader {offloader:?}: edge name {name:?} is already in use")]
    NameReused {
        /// The offloader of the second use.
        offloader: String,
        /// The canonical name.
        name: String,
    },
    /// A semantic suffix that is an IP literal.
    #[error("offloader {offloader:?}: semantic suffix {suffix:?} is an IP address")]
    SuffixIsIp {
        /// The offloader.
        offloader: String,
        /// The canonical suffix.
        suffix: String,
    },
    /// A table entry whose origin is not among the offloader's origins (no back door).
    #[error("offloader {offloader:?}: table origin {origin:?} is not in its origins")]
    TableOriginNotAllowed {
        /// The offloader.
        offloader: String,
        /// The canonical origin key.
        origin: String,
    },
    /// An origin that is one of the edge's own names or addresses (with its port).
    #[error("offloader {offloader:?}: origin {origin:?} is a name or address of this edge")]
    OriginIsEdgeName {
        /// The offloader.
        offloader: String,
        /// The canonical origin key.
        origin: String,
    },
    /// A back door that points at one of the edge's own names, or at an address and port
    /// of it: a fetch loop.
    #[error("offloader {offloader:?}: back door of {origin:?} is this edge")]
    BackDoorLoops {
        /// The offloader.
        offloader: String,
        /// The canonical origin key.
        origin: String,
    },
}

/// Every problem found by [`EdgeMap::new`], in the order found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct EdgeMapErrors(pub Vec<EdgeMapError>);

impl fmt::Display for EdgeMapErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            error.fmt(f)?;
        }
        Ok(())
    }
}

/// An offloading CDN as the edge knows it: its name and the origins it may ask for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offloader {
    name: Name,
    index: usize,
    origins: HashMap<OriginKey, BackDoor>,
}

impl Offloader {
    /// Its position in [`EdgeMap::offloaders`] (the order the specs were given in), for
    /// per-offloader tables kept beside the map.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The offloader's name, as in `[[edge.offloader]] name`.
    pub fn name(&self) -> &Name {
        &self.name
    }

    /// The origin listed under canonical key text `key`, with its back door.
    pub fn origin(&self, key: &str) -> Option<(&OriginKey, &BackDoor)> {
        self.origins.get_key_value(key)
    }

    /// Every allowed origin with its back door.
    pub fn origins(&self) -> impl Iterator<Item = (&OriginKey, &BackDoor)> {
        self.origins.iter()
    }
}

/// What an exact edge name leads to.
#[derive(Clone, Debug)]
pub(crate) enum NameTarget {
    /// The first path segment names the origin.
    Embedded,
    /// The name itself maps to this origin.
    Table(OriginKey),
}

/// An exact edge name: for which offloader, which form, and the port it requires.
#[derive(Clone, Debug)]
pub(crate) struct NameRoute {
    pub(crate) offloader: usize,
    pub(crate) port: Option<u16>,
    pub(crate) target: NameTarget,
}

/// A semantic suffix, stored with its leading dot for a one-step `ends_with`.
#[derive(Clone, Debug)]
pub(crate) struct SuffixRoute {
    pub(crate) dotted: Box<str>,
    pub(crate) port: Option<u16>,
    pub(crate) offloader: usize,
}

/// Everything the edge needs to decide a request: exact names, semantic suffixes, the
/// origins served under their own names (DNS-outsourced clients), and per offloader the
/// allowed origins with back doors. Immutable; rebuild and swap on config change.
#[derive(Clone, Debug)]
pub struct EdgeMap {
    pub(crate) offloaders: Vec<Offloader>,
    pub(crate) names: HashMap<Box<str>, NameRoute>,
    /// Origin key -> the first offloader listing it.
    pub(crate) direct: HashMap<OriginKey, usize>,
    /// Longest first, so the most specific suffix wins.
    pub(crate) suffixes: Vec<SuffixRoute>,
}

impl EdgeMap {
    /// Builds the map from the offloaders and the edge's other names and addresses
    /// (`own_names`, `host` or `host:port`: its listen and status addresses, its status
    /// host name, other CDNs' names), which no origin or back door may be. A name is the
    /// edge at every port; an IP address only at its port, or at 80 and 443 when written
    /// without one (see `own_endpoint`). Reports every problem found, not only the first.
    pub fn new(
        specs: impl IntoIterator<Item = OffloaderSpec>,
        own_names: &[&str],
    ) -> Result<Self, EdgeMapErrors> {
        let mut builder = Builder::default();
        for name in own_names {
            match Authority::parse(name) {
                Ok(own) => match EdgeAddress::of(own.host(), own.port()) {
                    Some(address) => builder.own_addresses.push(address),
                    None => builder.own_names.push(own.host().to_owned()),
                },
                Err(source) => builder.errors.push(EdgeMapError::BadHost {
                    offloader: String::new(),
                    input: (*name).to_owned(),
                    source,
                }),
            }
        }
        for spec in specs {
            builder.add(spec);
        }
        builder.check_loops();
        if builder.errors.is_empty() {
            Ok(builder.map)
        } else {
            Err(EdgeMapErrors(builder.errors))
        }
    }

    /// The offloaders, in the order given.
    pub fn offloaders(&self) -> &[Offloader] {
        &self.offloaders
    }

    /// The offloader called `name`.
    pub fn offloader(&self, name: &str) -> Option<&Offloader> {
        self.offloaders.iter().find(|o| o.name.as_str() == name)
    }
}

struct Builder {
    map: EdgeMap,
    /// DNS names: the edge at every port.
    own_names: Vec<String>,
    /// IP addresses: the edge at their port (or 80 and 443).
    own_addresses: Vec<EdgeAddress>,
    errors: Vec<EdgeMapError>,
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            map: EdgeMap {
                offloaders: Vec::new(),
                names: HashMap::new(),
                direct: HashMap::new(),
                suffixes: Vec::new(),
            },
            own_names: Vec::new(),
            own_addresses: Vec::new(),
            errors: Vec::new(),
        }
    }
}

impl Builder {
    fn add(&mut self, spec: OffloaderSpec) {
        let index = self.map.offloaders.len();
        let off = spec.name.clone();
        let name = match Name::new(&spec.name) {
            Ok(name) => name,
            Err(reason) => {
                self.errors
                    .push(EdgeMapError::BadName { name: off, reason });
                return;
            }
        };
        if self.map.offloaders.iter().any(|o| o.name == name) {
            self.errors.push(EdgeMapError::DuplicateOffloader(off));
            return;
        }
        if spec.embedded_hosts.is_empty() && spec.semantic_suffix.is_none() && spec.table.is_empty()
        {
            self.errors.push(EdgeMapError::NoForm(off.clone()));
        }
        let origins = self.origins(&off, &spec.origins);
        for host in &spec.embedded_hosts {
            if let Some(host) = self.authority(&off, host) {
                self.add_name(
                    &off,
                    host,
                    NameRoute {
                        offloader: index,
                        port: None,
                        target: NameTarget::Embedded,
                    },
                );
            }
        }
        if let Some(suffix) = &spec.semantic_suffix {
            self.add_suffix(&off, index, suffix);
        }
        for (partner, origin) in &spec.table {
            let Some(host) = self.authority(&off, partner) else {
                continue;
            };
            let origin = match OriginKey::parse(origin) {
                Ok(key) if origins.contains_key(&key) => key,
                Ok(key) => {
                    let origin = key.as_str().to_owned();
                    self.errors.push(EdgeMapError::TableOriginNotAllowed {
                        offloader: off.clone(),
                        origin,
                    });
                    continue;
                }
                Err(source) => {
                    self.bad_host(&off, origin, source);
                    continue;
                }
            };
            self.add_name(
                &off,
                host,
                NameRoute {
                    offloader: index,
                    port: None,
                    target: NameTarget::Table(origin),
                },
            );
        }
        for key in origins.keys() {
            self.map.direct.entry(key.clone()).or_insert(index);
        }
        self.map.offloaders.push(Offloader {
            name,
            index,
            origins,
        });
    }

    fn origins(&mut self, off: &str, entries: &[(String, String)]) -> HashMap<OriginKey, BackDoor> {
        let mut origins = HashMap::new();
        for (key, back_door) in entries {
            let key = match OriginKey::parse(key) {
                Ok(key) => key,
                Err(source) => {
                    self.bad_host(off, key, source);
                    continue;
                }
            };
            let back_door = match BackDoor::parse(back_door) {
                Ok(back_door) => back_door,
                Err(source) => {
                    let input = back_door.clone();
                    self.errors.push(EdgeMapError::BadBackDoor {
                        offloader: off.to_owned(),
                        input,
                        source,
                    });
                    continue;
                }
            };
            if let Entry::Vacant(slot) = origins.entry(key.clone()) {
                slot.insert(back_door);
            } else {
                let origin = key.as_str().to_owned();
                self.errors.push(EdgeMapError::DuplicateOrigin {
                    offloader: off.to_owned(),
                    origin,
                });
            }
        }
        origins
    }

    fn authority(&mut self, off: &str, input: &str) -> Option<Authority> {
        Authority::parse(input)
            .map_err(|source| self.bad_host(off, input, source))
            .ok()
    }

    fn bad_host(&mut self, off: &str, input: &str, source: HostError) {
        self.errors.push(EdgeMapError::BadHost {
            offloader: off.to_owned(),
            input: input.to_owned(),
            source,
        });
    }

    fn add_name(&mut self, off: &str, host: Authority, mut route: NameRoute) {
        route.port = host.port();
        match self.map.names.entry(host.host().into()) {
            Entry::Vacant(slot) => {
                slot.insert(route);
            }
            Entry::Occupied(_) => self.errors.push(EdgeMapError::NameReused {
                offloader: off.to_owned(),
                name: host.host().to_owned(),
            }),
        }
    }

    fn add_suffix(&mut self, off: &str, index: usize, input: &str) {
        let Some(suffix) = self.authority(off, input) else {
            return;
        };
        if suffix.is_ip() {
            let suffix = suffix.as_str().to_owned();
            self.errors.push(EdgeMapError::SuffixIsIp {
                offloader: off.to_owned(),
                suffix,
            });
            return;
        }
        let dotted: Box<str> = format!(".{}", suffix.host()).into();
        if self.map.suffixes.iter().any(|s| s.dotted == dotted) {
            let name = suffix.host().to_owned();
            self.errors.push(EdgeMapError::NameReused {
                offloader: off.to_owned(),
                name,
            });
            return;
        }
        self.map.suffixes.push(SuffixRoute {
            dotted,
            port: suffix.port(),
            offloader: index,
        });
        self.map
            .suffixes
            .sort_by_key(|s| std::cmp::Reverse(s.dotted.len()));
    }

    /// True when canonical DNS name `host` is a name this edge answers to.
    fn is_edge_name(&self, host: &str) -> bool {
        self.map.names.contains_key(host)
            || self.own_names.iter().any(|n| n == host)
            || self
                .map
                .suffixes
                .iter()
                .any(|s| host.ends_with(&*s.dotted) || host == &s.dotted[1..])
    }

    /// True when a connection to canonical `host` at one of `ports` reaches this edge:
    /// a name of it at any port, an address of it at its port.
    fn is_edge(&self, host: &str, ports: &[u16], addresses: &[EdgeAddress]) -> bool {
        match Target::of(host) {
            Target::Name(name) => self.is_edge_name(name),
            target => addresses
                .iter()
                .any(|a| ports.iter().any(|&p| a.reaches(target, p))),
        }
    }

    fn check_loops(&mut self) {
        // The edge's addresses: its own, and its exact names that are IP literals.
        let mut addresses = self.own_addresses.clone();
        addresses.extend(
            self.map
                .names
                .iter()
                .filter_map(|(host, route)| EdgeAddress::of(host, route.port)),
        );
        let mut found = Vec::new();
        for off in &self.map.offloaders {
            for (key, back_door) in &off.origins {
                let offloader = off.name.to_string();
                let origin = key.as_str().to_owned();
                // An origin key without a port is requested at either default port.
                let key_ports = key.port().map_or([80, 443], |p| [p, p]);
                if self.is_edge(key.host(), &key_ports, &addresses) {
                    found.push(EdgeMapError::OriginIsEdgeName { offloader, origin });
                } else if self.is_edge(back_door.host(), &[back_door.port()], &addresses) {
                    found.push(EdgeMapError::BackDoorLoops { offloader, origin });
                }
            }
        }
        self.errors.extend(found);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_c() -> OffloaderSpec {
        OffloaderSpec {
            name: "C".into(),
            embedded_hosts: vec!["foo.cdn-g.example".into()],
            semantic_suffix: Some("c.cdn-g.example".into()),
            table: vec![("xyz.cdn-g.example".into(), "img.xyz.com".into())],
            origins: vec![("img.xyz.com".into(), "http://127.0.0.1:8000".into())],
        }
    }

    fn errors(specs: Vec<OffloaderSpec>, own: &[&str]) -> Vec<EdgeMapError> {
        EdgeMap::new(specs, own)
            .err()
            .map(|e| e.0)
            .unwrap_or_default()
    }

    #[test]
    fn spec_7_example_builds() {
        let map = EdgeMap::new([spec_c()], &["status.cdn-g.example"]).unwrap();
        assert_eq!(map.offloaders().len(), 1);
        assert!(map.offloader("D").is_none());
        let c = map.offloader("C").unwrap();
        assert_eq!(c.index(), 0);
        assert_eq!(c.name().as_str(), "C");
        let (key, back_door) = c.origin("img.xyz.com").unwrap();
        assert_eq!((key.as_str(), back_door.port()), ("img.xyz.com", 8000));
        assert_eq!(c.origins().count(), 1);
    }

    #[test]
    fn every_error_is_reported() {
        let bad = OffloaderSpec {
            name: "D".into(),
            embedded_hosts: vec!["foo.cdn-g.example".into(), "a@b".into()],
            semantic_suffix: Some("10.1.2.3".into()),
            table: vec![("t.cdn-g.example".into(), "other.com".into())],
            origins: vec![
                ("x.com".into(), "ftp://x".into()),
                ("y.com:80".into(), "y-real.com".into()),
                ("z.com".into(), "z1.com".into()),
                ("Z.com".into(), "z2.com".into()),
            ],
        };
        let found = errors(vec![spec_c(), bad], &[]);
        let want = [
            EdgeMapError::BadBackDoor {
                offloader: "D".into(),
                input: "ftp://x".into(),
                source: BackDoorError::Scheme,
            },
            EdgeMapError::BadHost {
                offloader: "D".into(),
                input: "y.com:80".into(),
                source: HostError::DefaultPort,
            },
            EdgeMapError::DuplicateOrigin {
                offloader: "D".into(),
                origin: "z.com".into(),
            },
            EdgeMapError::NameReused {
                offloader: "D".into(),
                name: "foo.cdn-g.example".into(),
            },
            EdgeMapError::BadHost {
                offloader: "D".into(),
                input: "a@b".into(),
                source: HostError::UserInfo,
            },
            EdgeMapError::SuffixIsIp {
                offloader: "D".into(),
                suffix: "10.1.2.3".into(),
            },
            EdgeMapError::TableOriginNotAllowed {
                offloader: "D".into(),
                origin: "other.com".into(),
            },
        ];
        assert_eq!(found, want);
    }

    #[test]
    fn names_and_forms_are_checked() {
        let mut nameless = spec_c();
        nameless.name = "bad name".into();
        assert!(matches!(
            errors(vec![nameless], &[])[..],
            [EdgeMapError::BadName { .. }]
        ));
        assert_eq!(
            errors(vec![spec_c(), spec_c()], &[]),
            [EdgeMapError::DuplicateOffloader("C".into())]
        );
        let formless = OffloaderSpec {
            name: "E".into(),
            ..OffloaderSpec::default()
        };
        assert_eq!(
            errors(vec![formless], &[]),
            [EdgeMapError::NoForm("E".into())]
        );
        assert!(matches!(
            errors(vec![spec_c()], &["a@b"])[..],
            [EdgeMapError::BadHost { .. }]
        ));
    }

    #[test]
    fn edge_names_can_be_neither_origins_nor_back_doors() {
        let mut spec = spec_c();
        spec.origins
            .push(("foo.cdn-g.example".into(), "http://10.0.0.1".into()));
        spec.origins
            .push(("x.c.cdn-g.example".into(), "http://10.0.0.1".into()));
        spec.origins
            .push(("status.cdn-g.example".into(), "http://10.0.0.1".into()));
        spec.origins
            .push(("a.com".into(), "http://xyz.cdn-g.example:8090".into()));
        spec.origins
            .push(("b.com".into(), "http://C.cdn-g.example".into()));
        let mut found = errors(vec![spec], &["status.cdn-g.example"]);
        found.sort_by_key(|e| e.to_string());
        let origin = |o: &str| o.to_owned();
        assert_eq!(
            found,
            [
                EdgeMapError::BackDoorLoops {
                    offloader: "C".into(),
                    origin: origin("a.com")
                },
                EdgeMapError::BackDoorLoops {
                    offloader: "C".into(),
                    origin: origin("b.com")
                },
                EdgeMapError::OriginIsEdgeName {
                    offloader: "C".into(),
                    origin: origin("foo.cdn-g.example")
                },
                EdgeMapError::OriginIsEdgeName {
                    offloader: "C".into(),
                    origin: origin("status.cdn-g.example")
                },
                EdgeMapError::OriginIsEdgeName {
                    offloader: "C".into(),
                    origin: origin("x.c.cdn-g.example")
                },
            ]
        );
    }

    /// The example deployment of G: edge and origin on one address, different ports.
    fn spec_on_one_address(back_door: &str) -> OffloaderSpec {
        OffloaderSpec {
            name: "C".into(),
            embedded_hosts: vec!["127.0.0.1:8090".into()],
            origins: vec![("img.xyz.com".into(), back_door.into())],
            ..OffloaderSpec::default()
        }
    }

    fn loops(back_door: &str, own: &[&str]) -> bool {
        let found = errors(vec![spec_on_one_address(back_door)], own);
        assert!(
            found
                .iter()
                .all(|e| matches!(e, EdgeMapError::BackDoorLoops { .. })),
            "{found:?}"
        );
        !found.is_empty()
    }

    #[test]
    fn an_address_is_the_edge_only_at_its_port() {
        let own = ["127.0.0.1:8090", "127.0.0.1:8443"];
        assert!(!loops("http://127.0.0.1:8000", &own));
        assert!(
            !loops("http://127.0.0.1", &own),
            "port 80 is not the edge's"
        );
        assert!(loops("http://127.0.0.1:8090", &own), "the edge name's port");
        assert!(
            loops("http://127.0.0.1:8090", &[]),
            "an embedded host alone"
        );
        assert!(loops("https://127.0.0.1:8443", &own), "the status listener");
        assert!(loops("http://0x7f.1:8443", &own), "another spelling");
        assert!(loops("http://[::ffff:127.0.0.1]:8090", &own));
        assert!(loops("http://localhost:8090", &own));
        assert!(loops("http://0.0.0.0:8090", &own));
        assert!(!loops("http://127.0.0.2:8090", &own), "another address");
    }

    #[test]
    fn an_address_without_a_port_is_the_edge_at_the_default_ports() {
        let own = ["10.0.0.5"];
        assert!(loops("http://10.0.0.5", &own));
        assert!(loops("https://10.0.0.5", &own));
        assert!(loops("http://10.0.0.5:443", &own));
        assert!(!loops("http://10.0.0.5:8000", &own));
    }

    #[test]
    fn an_unspecified_listen_address_catches_loopback_back_doors() {
        let own = ["0.0.0.0:8090"];
        assert!(loops("http://127.0.0.1:8090", &own));
        assert!(loops("http://[::1]:8090", &own));
        assert!(!loops("http://127.0.0.1:8000", &own));
    }

    #[test]
    fn a_name_is_the_edge_at_every_port() {
        let own = ["status.cdn-g.example:8443", "g.example"];
        assert!(loops("http://status.cdn-g.example:8000", &own));
        assert!(loops("http://g.example:8000", &own));
        assert!(!loops("http://img-real.xyz.com:8090", &own));
        let mut spec = spec_c();
        spec.origins
            .push(("a.com".into(), "http://foo.cdn-g.example:8000".into()));
        assert!(matches!(
            errors(vec![spec], &[])[..],
            [EdgeMapError::BackDoorLoops { .. }]
        ));
    }

    #[test]
    fn an_ip_origin_conflicts_only_at_the_edge_port() {
        let mut spec = spec_on_one_address("http://10.9.9.9");
        spec.origins = vec![
            ("127.0.0.1:8000".into(), "http://10.9.9.9".into()),
            ("127.0.0.1".into(), "http://10.9.9.9".into()),
            ("127.0.0.1:8090".into(), "http://10.9.9.9".into()),
        ];
        let found = errors(vec![spec], &["127.0.0.1"]);
        let mut origins: Vec<_> = found
            .iter()
            .map(|e| match e {
                EdgeMapError::OriginIsEdgeName { origin, .. } => origin.as_str(),
                other => panic!("{other:?}"),
            })
            .collect();
        origins.sort_unstable();
        assert_eq!(origins, ["127.0.0.1", "127.0.0.1:8090"]);
    }

    #[test]
    fn errors_display_joined() {
        let e = EdgeMapErrors(vec![
            EdgeMapError::NoForm("E".into()),
            EdgeMapError::DuplicateOffloader("C".into()),
        ]);
        assert_eq!(
            e.to_string(),
            "offloader \"E\": no embedded host, semantic suffix or table; offloader \"C\" is given twice"
        );
    }
}

//! What can be wrong with a deployment file: TOML errors kept as they come from the
//! parser, and semantic problems found by validation, each at a `LINE:COL`.

use std::fmt;

use crate::error::Pos;

/// One error in a deployment file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeployError {
    /// TOML syntax, a wrong type, a missing or unknown key: as the TOML parser says it.
    #[error("{pos}: {}", .source.message())]
    Toml {
        /// Where the TOML parser points.
        pos: Pos,
        /// The parser's error (its span gave `pos`).
        source: toml::de::Error,
    },
    /// A value that is well-formed TOML but wrong for cdnbroker.
    #[error("{pos}: {problem}")]
    Invalid {
        /// Where the offending value (or key) starts.
        pos: Pos,
        /// What is wrong.
        problem: Problem,
    },
}

impl DeployError {
    /// Where the error is.
    pub fn pos(&self) -> Pos {
        match self {
            Self::Toml { pos, .. } | Self::Invalid { pos, .. } => *pos,
        }
    }

    /// What is wrong, without the position.
    pub fn message(&self) -> String {
        match self {
            Self::Toml { source, .. } => source.message().to_owned(),
            Self::Invalid { problem, .. } => problem.to_string(),
        }
    }
}

/// A semantic problem in a deployment file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// A top-level key that is not a section of spec §7.
    #[error("unknown key `{0}`: expected node, dns, control, proxy, partner, customer or edge")]
    UnknownSection(String),
    /// A required table is absent.
    #[error("missing table `[{0}]`")]
    MissingSection(&'static str),
    /// A section of the wrong TOML kind (e.g. `partner = 1`).
    #[error("`{key}` must be {expected}")]
    WrongKind {
        /// The key.
        key: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// A value that does not parse as what the key holds.
    #[error("{0}")]
    BadValue(&'static str),
    /// A listening or connecting address that is not `IP:PORT`.
    #[error("expected IP:PORT, e.g. 127.0.0.1:8080")]
    BadSocketAddr,
    /// An empty path.
    #[error("a path may not be empty")]
    EmptyPath,
    /// A key required by another key's value.
    #[error("`{key}` is required {because}")]
    Required {
        /// The missing key.
        key: &'static str,
        /// Why, e.g. "when `alerts` is set".
        because: &'static str,
    },
    /// `form` is not one of the three URL forms.
    #[error("unknown form `{0}`: expected embedded, table or semantic")]
    UnknownForm(String),
    /// A URL whose scheme this key does not allow.
    #[error("expected an {0} URL")]
    WrongScheme(&'static str),
    /// A URL with a path where only scheme, host and port make sense.
    #[error("this URL has no path")]
    UrlWithPath,
    /// Two entries with one name, or one host given twice.
    #[error("{what} `{name}` is defined twice")]
    Duplicate {
        /// What kind of thing (partner, customer, host...).
        what: &'static str,
        /// The repeated name.
        name: String,
    },
    /// A host or name claimed by two entries.
    #[error("{what} `{name}` already belongs to {owner}")]
    Claimed {
        /// What kind of thing.
        what: &'static str,
        /// The name.
        name: String,
        /// Who claimed it first.
        owner: String,
    },
    /// `special_ports` names a CDN that is not a `[[partner]]`.
    #[error("`{0}` is not a [[partner]] of this file")]
    UnknownPartner(String),
    /// A partner or offloader named like this node.
    #[error("`{0}` is this node's own name")]
    SelfReference(String),
    /// A customer `site` host without an `origin` entry.
    #[error("site host `{0}` has no `origin` entry: the front proxy fetches pages from there")]
    SiteWithoutOrigin(String),
    /// An offloader `table` entry whose origin is not in its `origins`.
    #[error("origin host `{0}` is not in this offloader's `origins`")]
    OriginNotAllowed(String),
    /// An offloader with no URL form at all.
    #[error("an offloader needs `embedded_hosts`, `semantic_suffix` or `table`")]
    OffloaderWithoutForm,
    /// Two roles of one file listening on one address.
    #[error("address {addr} is also used by `{other}`")]
    AddressReused {
        /// The address.
        addr: std::net::SocketAddr,
        /// The key that uses it first.
        other: String,
    },
}

/// Every error found in one deployment file, in text order. Prints one `LINE:COL: message`
/// per line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct DeployErrors {
    /// The errors, sorted by position.
    pub errors: Vec<DeployError>,
}

impl fmt::Display for DeployErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

//! The two URL schemes a convoluted URL or a back door may use.

use std::fmt;

/// `http` or `https`: the only schemes this crate rewrites, serves or fetches from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain HTTP, default port 80.
    Http,
    /// HTTP over TLS, default port 443.
    Https,
}

impl Scheme {
    /// The scheme's name, lower-case, without `://`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }

    /// The port a URL of this scheme means when it names none.
    pub const fn default_port(self) -> u16 {
        match self {
            Self::Http => 80,
            Self::Https => 443,
        }
    }

    /// Reads a scheme name case-insensitively (`HTTP` is `http`).
    pub fn from_name(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("http") {
            Some(Self::Http)
        } else if name.eq_ignore_ascii_case("https") {
            Some(Self::Https)
        } else {
            None
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_case_insensitive_and_limited_to_http() {
        assert_eq!(Scheme::from_name("HtTpS"), Some(Scheme::Https));
        assert_eq!(Scheme::from_name("http"), Some(Scheme::Http));
        assert_eq!(Scheme::from_name("ftp"), None);
        assert_eq!(Scheme::from_name("https:"), None);
    }

    #[test]
    fn default_ports() {
        assert_eq!(Scheme::Http.default_port(), 80);
        assert_eq!(Scheme::Https.default_port(), 443);
    }
}

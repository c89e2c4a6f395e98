//! Validated names: CDN, region, coverage and customer names, and DNS names.

use std::fmt;

/// A CDN, region, coverage or customer name: `[A-Za-z0-9._-]{1,63}`, case-sensitive.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(String);

impl Name {
    /// Checks `s` against the name syntax.
    pub fn new(s: &str) -> Result<Self, &'static str> {
        if s.is_empty() || s.len() > 63 {
            return Err("a name has 1 to 63 characters");
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err("a name has only letters, digits, '.', '_' and '-'");
        }
        Ok(Self(s.to_owned()))
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::borrow::Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// A DNS name in canonical form: lower-case ASCII, no trailing dot, labels of 1..=63 bytes,
/// at most 253 bytes. Compared case-insensitively by construction.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DnsName(String);

impl DnsName {
    /// Checks and canonicalises `s` (a single trailing dot is accepted and dropped).
    pub fn new(s: &str) -> Result<Self, &'static str> {
        let s = s.strip_suffix('.').unwrap_or(s);
        if s.is_empty() {
            return Err("a DNS name may not be empty");
        }
        if s.len() > 253 {
            return Err("a DNS name has at most 253 characters");
        }
        for label in s.split('.') {
            if label.is_empty() || label.len() > 63 {
                return Err("a DNS label has 1 to 63 characters");
            }
            if !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
            {
                return Err("a DNS label has only letters, digits, '-' and '_'");
            }
        }
        Ok(Self(s.to_ascii_lowercase()))
    }

    /// The canonical (lower-case, no trailing dot) text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when `self` is `other` or a name below it.
    pub fn is_within(&self, other: &Self) -> bool {
        self.0 == other.0
            || (self.0.len() > other.0.len()
                && self.0.ends_with(other.0.as_str())
                && self.0.as_bytes()[self.0.len() - other.0.len() - 1] == b'.')
    }
}

impl fmt::Display for DnsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

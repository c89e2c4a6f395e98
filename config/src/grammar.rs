//! Terms shared by every ASCII format: names, DNS names, addresses, prefixes, numbers.
//!
//! Each reads one term from a [`Lexer`] and reports a bad value at its own token.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::error::{ParseError, Pos};
use crate::lexer::{Lexer, Token, TokenKind, expected};
use crate::name::{DnsName, Name};
use crate::transaction::Located;

/// A name (`[A-Za-z0-9._-]{1,63}`); `what` says which kind, e.g. "region name".
pub fn name(lx: &mut Lexer<'_>, what: &str) -> Result<Located<Name>, ParseError> {
    let (word, pos) = lx.expect_word(what)?;
    let value = checked_name(word, pos, what)?;
    Ok(Located { pos, value })
}

/// Checks `word` (read at `pos`) as a name.
pub fn checked_name(word: &str, pos: Pos, what: &str) -> Result<Name, ParseError> {
    Name::new(word)
        .map_err(|why| ParseError::new(pos, format!("bad {what} '{}': {why}", clip(word))))
}

/// A DNS name, canonicalised.
pub fn dns_name(lx: &mut Lexer<'_>, what: &str) -> Result<Located<DnsName>, ParseError> {
    let (word, pos) = lx.expect_word(what)?;
    let value = checked_dns_name(word, pos, what)?;
    Ok(Located { pos, value })
}

/// Checks `word` (read at `pos`) as a DNS name.
pub fn checked_dns_name(word: &str, pos: Pos, what: &str) -> Result<DnsName, ParseError> {
    DnsName::new(word)
        .map_err(|why| ParseError::new(pos, format!("bad {what} '{}': {why}", clip(word))))
}

/// An IPv4 or IPv6 address.
pub fn ip(lx: &mut Lexer<'_>, what: &str) -> Result<(IpAddr, Pos), ParseError> {
    ip_from(lx.next_address()?, what)
}

/// An IP address from a token already read with [`Lexer::next_address`].
pub fn ip_from(tok: Token<'_>, what: &str) -> Result<(IpAddr, Pos), ParseError> {
    let TokenKind::Word(word) = tok.kind else {
        return Err(expected(&tok, what));
    };
    match word.parse() {
        Ok(addr) => Ok((addr, tok.pos)),
        Err(_) => Err(ParseError::new(
            tok.pos,
            format!("bad IP address '{}'", clip(word)),
        )),
    }
}

/// `<ip> <sep> <prefixlen>`: a prefix whose host bits are clear; `sep` is `,` in every
/// format of the spec.
pub fn prefix(lx: &mut Lexer<'_>) -> Result<(IpNet, Pos), ParseError> {
    let first = lx.next_address()?;
    prefix_from(first, lx)
}

/// A prefix whose address token (read with [`Lexer::next_address`]) is `first`.
pub fn prefix_from(first: Token<'_>, lx: &mut Lexer<'_>) -> Result<(IpNet, Pos), ParseError> {
    let (addr, pos) = ip_from(first, "an IP address")?;
    lx.expect_punct(b',', "after the prefix address")?;
    let (len, len_pos) = number::<u8>(lx, "a prefix length")?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let net = IpNet::new(addr, len)
        .map_err(|_| ParseError::new(len_pos, format!("prefix length {len} is over {max}")))?;
    if net.trunc() != net {
        return Err(ParseError::new(
            pos,
            format!(
                "host bits set in {addr},{len} (the prefix is {})",
                net.trunc()
            ),
        ));
    }
    Ok((net, pos))
}

/// A non-negative decimal integer that fits `T`.
pub fn number<T: std::str::FromStr>(
    lx: &mut Lexer<'_>,
    what: &str,
) -> Result<(T, Pos), ParseError> {
    let (word, pos) = lx.expect_word(what)?;
    Ok((checked_number(word, pos, what)?, pos))
}

/// Checks `word` (read at `pos`) as a non-negative decimal integer that fits `T`.
pub fn checked_number<T: std::str::FromStr>(
    word: &str,
    pos: Pos,
    what: &str,
) -> Result<T, ParseError> {
    if !word.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::new(
            pos,
            format!(
                "{what} must be a non-negative integer, found '{}'",
                clip(word)
            ),
        ));
    }
    word.parse()
        .map_err(|_| ParseError::new(pos, format!("{} is too large for {what}", clip(word))))
}

/// Remembers where each name was first seen, to report a second one.
#[derive(Debug)]
pub struct FirstSeen<K> {
    first: std::collections::HashMap<K, Pos>,
    what: &'static str,
}

impl<K: std::hash::Hash + Eq + std::fmt::Display> FirstSeen<K> {
    /// An empty record; `what` names the kind in messages ("region", "CDN").
    pub fn new(what: &'static str) -> Self {
        Self {
            first: std::collections::HashMap::new(),
            what,
        }
    }

    /// Records `key` at `pos`, or fails if it was seen before.
    pub fn insert(&mut self, key: K, pos: Pos) -> Result<(), ParseError> {
        match self.first.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => Err(ParseError::new(
                pos,
                format!(
                    "{} {} appears twice (first at {})",
                    self.what,
                    e.key(),
                    e.get()
                ),
            )),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(pos);
                Ok(())
            }
        }
    }
}

/// `word` cut short (40 bytes at most, on a character boundary) for a message.
pub fn clip(word: &str) -> &str {
    let mut end = word.len().min(40);
    while !word.is_char_boundary(end) {
        end -= 1;
    }
    &word[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix_of(src: &str) -> Result<IpNet, String> {
        prefix(&mut Lexer::new(src))
            .map(|(n, _)| n)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn reads_v4_and_v6_prefixes() {
        assert_eq!(
            prefix_of("198.54.234.0, 23"),
            Ok("198.54.234.0/23".parse().unwrap())
        );
        assert_eq!(
            prefix_of("2001:db8:de::,48"),
            Ok("2001:db8:de::/48".parse().unwrap())
        );
        assert_eq!(prefix_of("0.0.0.0,0"), Ok("0.0.0.0/0".parse().unwrap()));
    }

    #[test]
    fn rejects_host_bits_and_long_lengths_at_the_offending_token() {
        assert_eq!(
            prefix_of("10.0.0.1,8"),
            Err("1:1: host bits set in 10.0.0.1,8 (the prefix is 10.0.0.0/8)".into())
        );
        assert_eq!(
            prefix_of("10.0.0.0, 33"),
            Err("1:11: prefix length 33 is over 32".into())
        );
        assert_eq!(
            prefix_of("::, 129"),
            Err("1:5: prefix length 129 is over 128".into())
        );
        assert_eq!(
            prefix_of("::, 999"),
            Err("1:5: 999 is too large for a prefix length".into())
        );
        assert_eq!(
            prefix_of("::, -1"),
            Err("1:5: a prefix length must be a non-negative integer, found '-1'".into())
        );
        assert_eq!(
            prefix_of("10.0.0.256, 8"),
            Err("1:1: bad IP address '10.0.0.256'".into())
        );
        assert_eq!(
            prefix_of("10.0.0.0 8"),
            Err("1:10: expected ',' after the prefix address, found '8'".into())
        );
    }

    #[test]
    fn clipping_never_splits_a_character() {
        let word = format!("{}é", "a".repeat(39));
        assert_eq!(clip(&word), "a".repeat(39));
        assert_eq!(clip("short"), "short");
        assert!(checked_name(&"é".repeat(40), Pos::new(1, 1), "name").is_err());
    }

    #[test]
    fn names_are_checked_at_their_token() {
        let err = name(&mut Lexer::new("  a/b"), "region name").unwrap_err();
        assert_eq!(err.pos, Pos::new(1, 3));
        assert!(err.message.starts_with("bad region name 'a/b'"), "{err}");
        let n = dns_name(&mut Lexer::new("Img.XYZ.com."), "domain").unwrap();
        assert_eq!(n.value.as_str(), "img.xyz.com");
    }
}

//! `<lookup>` and `<action>` (spec §1), shared by transactions and `cdn.txt` (spec §2):
//! parsers and the canonical printers.

use std::fmt;

use crate::error::ParseError;
use crate::grammar;
use crate::lexer::{Lexer, TokenKind, expected};
use crate::transaction::{Action, CnameTarget, Lookup, NameServer, Weighted};

/// Reads `A:<ip>`, `N:(<ns> <ip>), ...`, `C:<target>`, `T:(<ns> <ip>)` or `R:(<ns> <ip>)`.
pub fn parse_lookup(lx: &mut Lexer<'_>) -> Result<Lookup, ParseError> {
    let tok = lx.next_token()?;
    let TokenKind::Word(kind @ ("A" | "N" | "C" | "T" | "R")) = tok.kind else {
        return Err(expected(&tok, "a lookup (A:, N:, C:, T: or R:)"));
    };
    lx.expect_punct(b':', &format!("after lookup type {kind}"))?;
    Ok(match kind {
        "A" => Lookup::Address(grammar::ip(lx, "an IP address")?.0),
        "N" => {
            let mut servers = vec![name_server(lx)?];
            // The seed writes `(ns ip),` after every server: a trailing ',' is accepted.
            while lx.peek()?.is_punct(b',') {
                lx.next_token()?;
                if !lx.peek()?.is_punct(b'(') {
                    break;
                }
                servers.push(name_server(lx)?);
            }
            Lookup::Referral(servers)
        }
        "C" => {
            let (word, pos) = lx.expect_word("a CNAME target")?;
            match word.strip_prefix('.') {
                Some(suffix) => Lookup::Alias(CnameTarget::Suffix(grammar::checked_dns_name(
                    suffix,
                    pos,
                    "CNAME suffix",
                )?)),
                None => Lookup::Alias(CnameTarget::Name(grammar::checked_dns_name(
                    word,
                    pos,
                    "CNAME target",
                )?)),
            }
        }
        "T" => Lookup::Triangle(name_server(lx)?),
        _ => Lookup::Relay(name_server(lx)?),
    })
}

/// `(<ns-name> <ip>)`.
fn name_server(lx: &mut Lexer<'_>) -> Result<NameServer, ParseError> {
    lx.expect_punct(b'(', "before a name server")?;
    let name = grammar::dns_name(lx, "a name server name")?.value;
    let (addr, _) = grammar::ip(lx, "the name server's IP address")?;
    lx.expect_punct(b')', "after the name server's address")?;
    Ok(NameServer { name, addr })
}

/// Reads `[ <weight> = <lookup>; ... ]`; the weights must sum to more than 0.
pub fn parse_action(lx: &mut Lexer<'_>) -> Result<Action, ParseError> {
    let open = lx.expect_punct(b'[', "to open an action")?;
    let mut choices = Vec::new();
    let mut sum = 0u64;
    while !lx.peek()?.is_punct(b']') {
        let (weight, _) = grammar::number::<u32>(lx, "a weight")?;
        lx.expect_punct(b'=', "after the weight")?;
        let lookup = parse_lookup(lx)?;
        lx.expect_punct(b';', "after a lookup")?;
        sum += u64::from(weight);
        choices.push(Weighted { weight, lookup });
    }
    lx.next_token()?;
    if sum == 0 {
        return Err(ParseError::new(open, "the weights of an action sum to 0"));
    }
    Ok(Action { choices })
}

impl fmt::Display for NameServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({} {})", self.name, self.addr)
    }
}

impl fmt::Display for CnameTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Suffix(s) => write!(f, ".{s}"),
            Self::Name(n) => write!(f, "{n}"),
        }
    }
}

impl fmt::Display for Lookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Address(ip) => write!(f, "A:{ip}"),
            Self::Referral(servers) => {
                f.write_str("N:")?;
                for (i, ns) in servers.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{ns}")?;
                }
                Ok(())
            }
            Self::Alias(target) => write!(f, "C:{target}"),
            Self::Triangle(ns) => write!(f, "T:{ns}"),
            Self::Relay(ns) => write!(f, "R:{ns}"),
        }
    }
}

/// More choices than this are printed one per line, to stay far below the line limit.
const CHOICES_PER_LINE: usize = 8;

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let multi_line = self.choices.len() > CHOICES_PER_LINE;
        f.write_str("[")?;
        for (i, c) in self.choices.iter().enumerate() {
            if multi_line {
                f.write_str("\n    ")?;
            } else if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{} = {};", c.weight, c.lookup)?;
        }
        if multi_line {
            f.write_str("\n  ")?;
        }
        f.write_str("]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(src: &str) -> Result<Lookup, String> {
        parse_lookup(&mut Lexer::new(src)).map_err(|e| e.to_string())
    }

    fn action(src: &str) -> Result<Action, String> {
        parse_action(&mut Lexer::new(src)).map_err(|e| e.to_string())
    }

    #[test]
    fn every_lookup_kind_parses_and_prints_back() {
        for text in [
            "A:192.0.2.10",
            "A:2001:db8::1",
            "N:(ns1.cdn-g.example 198.51.100.53)",
            "N:(ns1.cdn-g.example 198.51.100.53), (ns2.cdn-g.example 2001:db8::53)",
            "C:.cdn-g.example",
            "C:img.cdn-g.example",
            "T:(ns.g.example 192.0.2.1)",
            "R:(ns.g.example ::1)",
        ] {
            let parsed = lookup(text).unwrap();
            assert_eq!(parsed.to_string(), text);
        }
    }

    #[test]
    fn suffix_and_name_targets_are_told_apart() {
        assert_eq!(
            lookup("C:.CDN.example").unwrap(),
            Lookup::Alias(CnameTarget::Suffix(
                crate::DnsName::new("cdn.example").unwrap()
            ))
        );
        assert_eq!(
            lookup("C:x.example").unwrap(),
            Lookup::Alias(CnameTarget::Name(crate::DnsName::new("x.example").unwrap()))
        );
    }

    #[test]
    fn the_seeds_trailing_comma_after_a_name_server_is_accepted() {
        let l = lookup("N:(a.example 192.0.2.1), (b.example 192.0.2.2),;").unwrap();
        assert_eq!(
            l.to_string(),
            "N:(a.example 192.0.2.1), (b.example 192.0.2.2)"
        );
    }

    #[test]
    fn bad_lookups_are_reported_at_the_offending_token() {
        assert_eq!(
            lookup("X:1.2.3.4"),
            Err("1:1: expected a lookup (A:, N:, C:, T: or R:), found 'X'".into())
        );
        assert_eq!(lookup("A:1.2.3"), Err("1:3: bad IP address '1.2.3'".into()));
        assert_eq!(
            lookup("N:(ns 1.2.3.4"),
            Err("1:14: expected ')' after the name server's address, found end of input".into())
        );
        assert!(
            lookup("C:.")
                .unwrap_err()
                .starts_with("1:3: bad CNAME suffix")
        );
    }

    #[test]
    fn actions_parse_weights_and_reject_a_zero_sum() {
        let a = action("[70 = A:192.0.2.10; 30 = N:(ns1.cdn-g.example 198.51.100.53);]").unwrap();
        assert_eq!(a.choices.len(), 2);
        assert_eq!(a.choices[0].weight, 70);
        assert_eq!(
            a.to_string(),
            "[70 = A:192.0.2.10; 30 = N:(ns1.cdn-g.example 198.51.100.53);]"
        );
        assert_eq!(
            action("[0 = A:1.2.3.4;]"),
            Err("1:1: the weights of an action sum to 0".into())
        );
        assert_eq!(
            action("[]"),
            Err("1:1: the weights of an action sum to 0".into())
        );
        assert_eq!(
            action("[-1 = A:1.2.3.4;]"),
            Err("1:2: a weight must be a non-negative integer, found '-1'".into())
        );
        assert_eq!(
            action("[1.5 = A:1.2.3.4;]"),
            Err("1:2: a weight must be a non-negative integer, found '1.5'".into())
        );
        assert_eq!(
            action("[1 = A:1.2.3.4]"),
            Err("1:15: expected ';' after a lookup, found ']'".into())
        );
    }

    #[test]
    fn weights_near_the_limit_do_not_overflow_the_sum() {
        let a = action("[4294967295 = A:1.2.3.4; 4294967295 = A:1.2.3.5;]").unwrap();
        assert_eq!(a.choices[1].weight, u32::MAX);
        assert_eq!(
            action("[4294967296 = A:1.2.3.4;]"),
            Err("1:2: 4294967296 is too large for a weight".into())
        );
    }

    #[test]
    fn long_actions_print_one_choice_per_line_and_read_back() {
        let text = format!("[{}]", "1 = A:192.0.2.1; ".repeat(20));
        let a = action(&text).unwrap();
        let printed = a.to_string();
        assert!(printed.lines().count() > 20);
        assert_eq!(action(&printed).unwrap(), a);
    }
}

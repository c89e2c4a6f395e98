//! Spec §6: the client-clustering output, one block per region:
//!
//! ```text
//! FRANCE {
//!   198.54.234.0,23;
//!   209.88.72.0,21;
//! }
//! ```
//!
//! This codec reads and writes the form only; whether the prefix set is minimal is the
//! clustering's business, and `regions.txt` ([`crate::RegionsFile`]) checks names and
//! duplicates when it reads this form.

use std::fmt;

use ipnet::IpNet;

use crate::error::{ParseError, Pos};
use crate::grammar;
use crate::lexer::{Lexer, TokenKind};
use crate::name::Name;
use crate::transaction::Located;
use crate::transaction_codec::parse_prefix_list;

/// Regions and their prefixes, in the order written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegionList {
    /// One entry per block.
    pub regions: Vec<(Name, Vec<IpNet>)>,
}

impl RegionList {
    /// Parses the whole text as §6 blocks.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let mut lx = Lexer::new(text);
        let mut regions = Vec::new();
        while lx.peek()?.kind != TokenKind::End {
            let (name, prefixes) = parse_block(&mut lx, &mut |_, _| Ok(()))?;
            regions.push((name.value, prefixes));
        }
        Ok(Self { regions })
    }
}

/// `<region> { <ip>,<len>; ... }`; `seen` gets every prefix with its position.
pub(crate) fn parse_block(
    lx: &mut Lexer<'_>,
    seen: &mut dyn FnMut(IpNet, Pos) -> Result<(), ParseError>,
) -> Result<(Located<Name>, Vec<IpNet>), ParseError> {
    let name = grammar::name(lx, "region name")?;
    lx.expect_punct(b'{', "after the region name")?;
    let prefixes = parse_prefix_list(lx, seen)?;
    Ok((name, prefixes))
}

/// Writes one block.
pub(crate) fn write_block(
    f: &mut fmt::Formatter<'_>,
    name: &Name,
    prefixes: &[IpNet],
) -> fmt::Result {
    writeln!(f, "{name} {{")?;
    for p in prefixes {
        writeln!(f, "  {},{};", p.addr(), p.prefix_len())?;
    }
    writeln!(f, "}}")
}

/// The canonical form: one block per region, one prefix per line.
impl fmt::Display for RegionList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, prefixes) in &self.regions {
            write_block(f, name, prefixes)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_EXAMPLE: &str = "\
FRANCE {
  198.54.234.0,23;
  209.88.72.0,21;
}
GERMANY {
  196.8.0.0,16;
}
";

    #[test]
    fn the_spec_example_reads_and_prints_back_unchanged() {
        let list = RegionList::parse(SPEC_EXAMPLE).unwrap();
        assert_eq!(list.regions.len(), 2);
        assert_eq!(list.regions[0].0.as_str(), "FRANCE");
        assert_eq!(
            list.regions[0].1,
            vec![
                "198.54.234.0/23".parse::<IpNet>().unwrap(),
                "209.88.72.0/21".parse().unwrap()
            ]
        );
        assert_eq!(list.to_string(), SPEC_EXAMPLE);
    }

    #[test]
    fn the_seeds_own_example_with_ipv6_and_loose_spacing_reads() {
        let list = RegionList::parse("# clusters\nX{2001:db8::,32 ;\n\t10.0.0.0 , 8;}").unwrap();
        assert_eq!(list.regions[0].1.len(), 2);
        assert_eq!(
            list.to_string(),
            "X {\n  2001:db8::,32;\n  10.0.0.0,8;\n}\n"
        );
    }

    #[test]
    fn errors_point_at_the_offending_token() {
        let err = |t: &str| RegionList::parse(t).unwrap_err().to_string();
        assert_eq!(
            err("FRANCE {\n  1.2.3.4,23;\n}"),
            "2:3: host bits set in 1.2.3.4,23 (the prefix is 1.2.2.0/23)"
        );
        assert_eq!(
            err("FRANCE {\n  1.2.2.0,23\n}"),
            "3:1: expected ';' after the prefix length, found '}'"
        );
        assert_eq!(
            err("FRANCE 1.2.2.0,23;"),
            "1:8: expected '{' after the region name, found '1.2.2.0'"
        );
        assert_eq!(
            err("FRANCE {"),
            "1:9: expected an IP address, found end of input"
        );
        assert_eq!(err("{"), "1:1: expected region name, found '{'");
    }

    #[test]
    fn an_empty_text_is_an_empty_list() {
        assert_eq!(
            RegionList::parse("\n# nothing\n").unwrap(),
            RegionList::default()
        );
        assert_eq!(RegionList::default().to_string(), "");
    }
}

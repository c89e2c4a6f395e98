//! Spec §2 `regions.txt`: `ADD REG <region> { <ip>, <prefixlen>; ... }!` statements, or
//! the client-clustering blocks of §6 (`<region> { <ip>,<len>; ... }`); the two forms may
//! be mixed, one per region.
//!
//! Checked within the file: a region is defined once, no prefix is in two regions (or
//! twice in one), and the names `DEFAULT` (every address no region holds) and `CDNTOTAL`
//! (a CDN's total in §3 events) are reserved.

use std::collections::HashMap;
use std::fmt;

use ipnet::IpNet;

use crate::error::ParseError;
use crate::grammar::{self, FirstSeen};
use crate::lexer::{Lexer, TokenKind, expected};
use crate::name::Name;
use crate::region_list::RegionList;
use crate::transaction::{DEFAULT_REGION, Located, RegionDef};
use crate::transaction_codec::parse_prefix_list;

/// The region name that §3 events use for a CDN's total, so no region may take it.
pub const CDN_TOTAL: &str = "CDNTOTAL";

/// The regions of a `regions.txt`, each with the position of its statement.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegionsFile {
    /// The regions in the order written.
    pub regions: Vec<Located<RegionDef>>,
}

impl RegionsFile {
    /// Parses and checks a whole `regions.txt`.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let mut lx = Lexer::new(text);
        let mut regions: Vec<Located<RegionDef>> = Vec::new();
        let mut names = FirstSeen::new("region");
        // Which region (index into `regions`) holds each prefix.
        let mut owner: HashMap<IpNet, usize> = HashMap::new();
        loop {
            let tok = lx.peek()?;
            let statement = match tok.kind {
                TokenKind::End => break,
                TokenKind::Word("ADD") => {
                    lx.next_token()?;
                    let kind = lx.next_token()?;
                    if kind.kind != TokenKind::Word("REG") {
                        return Err(expected(&kind, "REG after ADD in regions.txt"));
                    }
                    true
                }
                _ => false,
            };
            let index = regions.len();
            let name = grammar::name(&mut lx, "region name")?;
            check_region_name(&name)?;
            names.insert(name.value.clone(), name.pos)?;
            lx.expect_punct(b'{', "after the region name")?;
            let prefixes = parse_prefix_list(&mut lx, &mut |net, pos| {
                let Some(other) = owner.insert(net, index) else {
                    return Ok(());
                };
                let message = match regions.get(other) {
                    Some(r) => format!("prefix {net} is already in region {}", r.value.name),
                    None => format!("prefix {net} appears twice in this region"),
                };
                Err(ParseError::new(pos, message))
            })?;
            if statement {
                lx.expect_statement_end(false, "a region's '}'")?;
            }
            regions.push(Located {
                pos: tok.pos,
                value: RegionDef {
                    name: name.value,
                    prefixes,
                },
            });
        }
        Ok(Self { regions })
    }

    /// The same regions in the §6 form.
    pub fn to_region_list(&self) -> RegionList {
        RegionList {
            regions: self
                .regions
                .iter()
                .map(|r| (r.value.name.clone(), r.value.prefixes.clone()))
                .collect(),
        }
    }

    /// The region named `name`, if defined.
    pub fn get(&self, name: &str) -> Option<&RegionDef> {
        self.regions
            .iter()
            .map(|r| &r.value)
            .find(|r| r.name.as_str() == name)
    }
}

/// A region's name may be neither `DEFAULT` nor `CDNTOTAL`.
pub(crate) fn check_region_name(name: &Located<Name>) -> Result<(), ParseError> {
    let reserved = [DEFAULT_REGION, CDN_TOTAL];
    if reserved.contains(&name.value.as_str()) {
        return Err(ParseError::new(
            name.pos,
            format!("region name {} is reserved", name.value),
        ));
    }
    Ok(())
}

/// The canonical form: one `ADD REG ... !` statement per region (the §1 writer).
impl fmt::Display for RegionsFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.regions {
            writeln!(f, "{}", RegionStatement(&r.value))?;
        }
        Ok(())
    }
}

/// Prints a borrowed region as `ADD REG` with the §1 writer, without cloning it into a
/// `Statement`.
struct RegionStatement<'a>(&'a RegionDef);

impl fmt::Display for RegionStatement<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ADD REG ")?;
        crate::transaction_codec::write_region_body(f, self.0)?;
        f.write_str("!")
    }
}

#[cfg(test)]
mod tests;

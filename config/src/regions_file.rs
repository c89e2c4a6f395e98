//! Spec §2 `regions.txt`: `ADD REG <region> { <ip>, <prefixlen>; ... }!` statements, or
//! the client-clustering blocks of §6 (`<region> { <ip>,<len>; ... }`); the two forms may
//! be mixed, one per region.
//!
//! Checked within the file: a region is defined once, no prefix is in two regions (or
//! twice in one), and the names `DEFAULT` (every address no region holds) and `CDNTOTAL`
//! (a CDN's total in §3 events) are reserved.

use std::fmt;

use ipnet::IpNet;

use crate::error::{ParseError, Pos};
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
        let mut reader = Reader::default();
        let syntax = reader.read(&mut Lexer::new(text));
        // Duplicates are found after reading, by sorting: over a million prefixes that is
        // a third of the time of a hash set. The first error in the text wins.
        match (syntax, reader.first_duplicate()) {
            (Ok(()), None) => Ok(Self {
                regions: reader.regions,
            }),
            (Err(syntax), Some(duplicate)) if duplicate.pos < syntax.pos => Err(duplicate),
            (Err(error), _) | (Ok(()), Some(error)) => Err(error),
        }
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

/// The state of one read of a `regions.txt`.
#[derive(Default)]
struct Reader {
    regions: Vec<Located<RegionDef>>,
    /// Every region name met, in order (also the one being read when an error stops).
    names: Vec<Name>,
    /// Every prefix met with its sequence number (an index into `met`).
    prefixes: Vec<(IpNet, u32)>,
    /// Where each prefix was met, and in which region (an index into `names`).
    met: Vec<(Pos, u32)>,
}

impl Reader {
    fn read(&mut self, lx: &mut Lexer<'_>) -> Result<(), ParseError> {
        let mut names = FirstSeen::new("region");
        loop {
            let tok = lx.peek()?;
            let statement = match tok.kind {
                TokenKind::End => return Ok(()),
                // `ADD {` is a §6 block of a region named ADD.
                TokenKind::Word("ADD") if !next_is_brace(lx)? => {
                    lx.next_token()?;
                    let kind = lx.next_token()?;
                    if kind.kind != TokenKind::Word("REG") {
                        return Err(expected(&kind, "REG after ADD in regions.txt"));
                    }
                    true
                }
                _ => false,
            };
            let name = grammar::name(lx, "region name")?;
            check_region_name(&name)?;
            names.insert(name.value.clone(), name.pos)?;
            let region = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
            self.names.push(name.value.clone());
            lx.expect_punct(b'{', "after the region name")?;
            let prefixes = parse_prefix_list(lx, &mut |net, pos| {
                let seq = u32::try_from(self.met.len()).unwrap_or(u32::MAX);
                self.prefixes.push((net, seq));
                self.met.push((pos, region));
                Ok(())
            })?;
            if statement {
                lx.expect_statement_end(false, "a region's '}'")?;
            }
            self.regions.push(Located {
                pos: tok.pos,
                value: RegionDef {
                    name: name.value,
                    prefixes,
                },
            });
        }
    }

    /// The duplicate prefix met first in the text, if any.
    fn first_duplicate(&mut self) -> Option<ParseError> {
        self.prefixes.sort_unstable();
        // In a run of equal prefixes the first is the owner, every other one a duplicate.
        let mut first: Option<(u32, u32, IpNet)> = None;
        for run in self.prefixes.chunk_by(|a, b| a.0 == b.0) {
            let (net, owner) = run[0];
            if let Some(&(_, dup)) = run.get(1)
                && first.is_none_or(|(d, _, _)| dup < d)
            {
                first = Some((dup, owner, net));
            }
        }
        let (dup, owner, net) = first?;
        let (pos, region) = self.met[dup as usize];
        let owner_region = self.met[owner as usize].1;
        let message = if owner_region == region {
            format!("prefix {net} appears twice in this region")
        } else {
            format!(
                "prefix {net} is already in region {}",
                self.names[owner_region as usize]
            )
        };
        Some(ParseError::new(pos, message))
    }
}

/// True when the token after the next one is `{`.
fn next_is_brace(lx: &Lexer<'_>) -> Result<bool, ParseError> {
    let mut ahead = *lx;
    ahead.next_token()?;
    Ok(ahead.next_token()?.is_punct(b'{'))
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

//! Spec §2 `cdn.txt`:
//! `ADD CDN <name>:<total_capacity_kbps> { <lookup> } [ <region>:<coverage>; ... ]!`
//!
//! `<coverage>` is the quality of that CDN's coverage of the region, 0..=100. Checked
//! within the file: a CDN is defined once, a region appears once per CDN, and `CDNTOTAL`
//! is not a region. Whether the regions exist is [`crate::AgentFiles`]' cross-check.

use std::fmt;

use crate::error::ParseError;
use crate::grammar::{self, FirstSeen};
use crate::lexer::{Lexer, TokenKind, expected};
use crate::lookup_codec::parse_lookup;
use crate::name::Name;
use crate::regions_file::CDN_TOTAL;
use crate::transaction::{Located, Lookup};

/// The highest coverage quality.
pub const MAX_COVERAGE: u8 = 100;

/// Regions with more entries than this print one entry per line.
const ENTRIES_PER_LINE: usize = 8;

/// One CDN we may send clients to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CdnDef {
    /// Its name (the position of the name, for cross-checks).
    pub name: Located<Name>,
    /// Total capacity reserved for us, kbit/s.
    pub capacity_kbps: u64,
    /// How DNS sends a client to it.
    pub lookup: Lookup,
    /// Its coverage quality per region.
    pub coverage: Vec<RegionCoverage>,
}

/// `<region>:<coverage>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionCoverage {
    /// The region (`DEFAULT` allowed), with its position.
    pub region: Located<Name>,
    /// 0 (no presence) ..= 100.
    pub quality: u8,
}

/// The CDNs of a `cdn.txt`, in the order written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CdnFile {
    /// One entry per `ADD CDN` statement.
    pub cdns: Vec<CdnDef>,
}

impl CdnFile {
    /// Parses and checks a whole `cdn.txt`.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let mut lx = Lexer::new(text);
        let mut cdns = Vec::new();
        let mut names = FirstSeen::new("CDN");
        loop {
            let tok = lx.next_token()?;
            match tok.kind {
                TokenKind::End => break,
                TokenKind::Word("ADD") => {}
                _ => return Err(expected(&tok, "ADD CDN")),
            }
            let kind = lx.next_token()?;
            if kind.kind != TokenKind::Word("CDN") {
                return Err(expected(&kind, "CDN after ADD in cdn.txt"));
            }
            let cdn = parse_cdn_body(&mut lx)?;
            names.insert(cdn.name.value.clone(), cdn.name.pos)?;
            cdns.push(cdn);
        }
        Ok(Self { cdns })
    }

    /// The CDN named `name`, if defined.
    pub fn get(&self, name: &str) -> Option<&CdnDef> {
        self.cdns.iter().find(|c| c.name.value.as_str() == name)
    }
}

/// `<name>:<kbps> { <lookup> } [ <region>:<coverage>; ... ]!` after `ADD CDN`.
fn parse_cdn_body(lx: &mut Lexer<'_>) -> Result<CdnDef, ParseError> {
    let name = grammar::name(lx, "CDN name")?;
    lx.expect_punct(b':', "after the CDN name")?;
    let (capacity_kbps, _) = grammar::number::<u64>(lx, "a capacity in kbit/s")?;
    lx.expect_punct(b'{', "before the CDN's lookup")?;
    let lookup = parse_lookup(lx)?;
    lx.expect_punct(b'}', "after the CDN's lookup")?;
    lx.expect_punct(b'[', "before the CDN's region coverage list")?;
    let mut coverage = Vec::new();
    let mut regions = FirstSeen::new("region");
    while !lx.peek()?.is_punct(b']') {
        let region = grammar::name(lx, "region name")?;
        if region.value.as_str() == CDN_TOTAL {
            return Err(ParseError::new(
                region.pos,
                format!("{CDN_TOTAL} is not a region"),
            ));
        }
        regions.insert(region.value.clone(), region.pos)?;
        lx.expect_punct(b':', "after the region name")?;
        let (quality, pos) = grammar::number::<u64>(lx, "a coverage (0..100)")?;
        let quality = u8::try_from(quality)
            .ok()
            .filter(|&q| q <= MAX_COVERAGE)
            .ok_or_else(|| {
                ParseError::new(pos, format!("coverage {quality} is over {MAX_COVERAGE}"))
            })?;
        lx.expect_punct(b';', "after the coverage")?;
        coverage.push(RegionCoverage { region, quality });
    }
    lx.next_token()?;
    lx.expect_statement_end(false, "the region coverage list")?;
    Ok(CdnDef {
        name,
        capacity_kbps,
        lookup,
        coverage,
    })
}

impl fmt::Display for CdnDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ADD CDN {}:{} {{{}}} [",
            self.name.value, self.capacity_kbps, self.lookup
        )?;
        let multi_line = self.coverage.len() > ENTRIES_PER_LINE;
        for c in &self.coverage {
            let sep = if multi_line { "\n  " } else { " " };
            write!(f, "{sep}{}:{};", c.region.value, c.quality)?;
        }
        f.write_str(if multi_line { "\n]!" } else { " ]!" })
    }
}

/// The canonical form: one statement per line (per block for long coverage lists).
impl fmt::Display for CdnFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.cdns {
            writeln!(f, "{c}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        CdnFile::parse(text).unwrap_err().to_string()
    }

    const SPEC_EXAMPLE: &str = "\
ADD CDN C:400000 {A:192.0.2.10} [ FRANCE:90; GERMANY:40; DEFAULT:50; ]!
ADD CDN G:100000 {N:(ns1.cdn-g.example 198.51.100.53)} [ FRANCE:60; GERMANY:95; ]!
";

    #[test]
    fn the_spec_example_reads_and_prints_back_unchanged() {
        let file = CdnFile::parse(SPEC_EXAMPLE).unwrap();
        assert_eq!(file.cdns.len(), 2);
        let c = file.get("C").unwrap();
        assert_eq!(c.capacity_kbps, 400_000);
        assert_eq!(c.lookup, Lookup::Address("192.0.2.10".parse().unwrap()));
        assert_eq!(c.coverage[2].region.value.as_str(), "DEFAULT");
        assert_eq!(c.coverage[2].quality, 50);
        assert_eq!(c.coverage[1].region.pos, crate::Pos::new(1, 46));
        assert_eq!(file.to_string(), SPEC_EXAMPLE);
    }

    #[test]
    fn long_coverage_lists_print_one_entry_per_line_and_read_back() {
        let entries: String = (0..20).map(|i| format!("R{i}:{i}; ")).collect();
        let file = CdnFile::parse(&format!("ADD CDN X:1 {{C:.x.example}} [ {entries}]!")).unwrap();
        let printed = file.to_string();
        assert_eq!(printed.lines().count(), 22);
        assert_eq!(CdnFile::parse(&printed).unwrap().to_string(), printed);
    }

    #[test]
    fn values_and_duplicates_are_checked_at_their_token() {
        assert_eq!(
            err("ADD CDN C:1 {A:1.2.3.4} [ X:101; ]!"),
            "1:29: coverage 101 is over 100"
        );
        assert_eq!(
            err("ADD CDN C:1 {A:1.2.3.4} [ X:300; ]!"),
            "1:29: coverage 300 is over 100"
        );
        assert_eq!(
            err("ADD CDN C:1 {A:1.2.3.4} [ X:-1; ]!"),
            "1:29: a coverage (0..100) must be a non-negative integer, found '-1'"
        );
        assert_eq!(
            err("ADD CDN C:x {A:1.2.3.4} [ ]!"),
            "1:11: a capacity in kbit/s must be a non-negative integer, found 'x'"
        );
        assert_eq!(
            err("ADD CDN C:1 {A:1.2.3.4} [ X:1; X:2; ]!"),
            "1:32: region X appears twice (first at 1:27)"
        );
        assert_eq!(
            err("ADD CDN C:1 {A:1.2.3.4} [ ]!\nADD CDN C:2 {A:1.2.3.4} [ ]!"),
            "2:9: CDN C appears twice (first at 1:9)"
        );
        assert_eq!(
            err("ADD CDN C:1 {A:1.2.3.4} [ CDNTOTAL:1; ]!"),
            "1:27: CDNTOTAL is not a region"
        );
        assert_eq!(
            err("ADD CST x [ C; ]!"),
            "1:5: expected CDN after ADD in cdn.txt, found 'CST'"
        );
        assert_eq!(
            err("ADD CDN C:1 A:1.2.3.4 [ ]!"),
            "1:13: expected '{' before the CDN's lookup, found 'A'"
        );
        assert_eq!(
            err("ADD CDN C:1 {A:1.2.3.4} [ X:1 ]!"),
            "1:31: expected ';' after the coverage, found ']'"
        );
    }
}

//! Inputs of client clustering (seed "client clustering"): the routed prefixes cut from a
//! BGP table and the address-to-region databases, in the formats those come in.
//!
//! - Routes: one `CIDR` a line, optional trailing columns (an origin AS, say) ignored.
//! - Geo, [`GeoFormat::Cidr`]: `CIDR REGION` a line.
//! - Geo, [`GeoFormat::Delegated`]: the RIRs' "delegated" statistics,
//!   `registry|cc|type|start|value|date|status[|...]`, with its version and summary lines.
//!   An `ipv4` record's value is an address count (a range, not always CIDR-aligned; it is
//!   split into CIDR blocks); an `ipv6` record's value is a prefix length.
//!
//! In every format blank lines and lines whose first non-blank character is `#` are
//! skipped. These tables are large and come from outside, so a bad line does not stop the
//! parse: it is recorded as a `LINE:COL: message` error in [`Parsed::errors`] and skipped,
//! and the caller decides whether any error fails the run.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::{IpNet, Ipv4Net, Ipv4Subnets, Ipv6Net};

use crate::regions_file::CDN_TOTAL;
use crate::transaction::DEFAULT_REGION;
use crate::{Name, ParseError, Pos};

/// Longest accepted line, in bytes: real lines are under 100 bytes, so a longer one is
/// not a table line (and bounds the work per line on hostile input).
pub const MAX_LINE: usize = 4096;

/// What a lenient parse kept, and the errors of the lines it skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed<T> {
    /// Everything read from the good lines.
    pub value: T,
    /// One error per skipped line, in line order.
    pub errors: Vec<ParseError>,
}

/// Index of a region in a [`GeoTable`]'s [`GeoTable::regions`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegionIdx(pub u32);

/// One prefix of an address-to-region table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GeoEntry {
    /// The prefix (host bits zero).
    pub net: IpNet,
    /// Its region.
    pub region: RegionIdx,
}

/// An address-to-region table: prefixes with a region each, region names interned so the
/// million-line tables hold one copy of each name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GeoTable {
    regions: Vec<Name>,
    index: HashMap<Name, RegionIdx>,
    entries: Vec<GeoEntry>,
}

impl GeoTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The index of region `name`, added if new. Names the other formats reserve are
    /// refused, so the clustering output stays a valid `regions.txt`.
    pub fn intern(&mut self, name: &str) -> Result<RegionIdx, &'static str> {
        if let Some(&idx) = self.index.get(name) {
            return Ok(idx);
        }
        if name == DEFAULT_REGION || name == CDN_TOTAL {
            return Err("DEFAULT and CDNTOTAL are reserved region names");
        }
        let name = Name::new(name)?;
        let idx = RegionIdx(u32::try_from(self.regions.len()).map_err(|_| "too many regions")?);
        self.regions.push(name.clone());
        self.index.insert(name, idx);
        Ok(idx)
    }

    /// Adds an entry; `net` is truncated to its network.
    pub fn push(&mut self, net: IpNet, region: RegionIdx) {
        self.entries.push(GeoEntry {
            net: net.trunc(),
            region,
        });
    }

    /// The entries in input order (duplicates and nested prefixes kept as given).
    pub fn entries(&self) -> &[GeoEntry] {
        &self.entries
    }

    /// The region names, indexed by [`RegionIdx`].
    pub fn regions(&self) -> &[Name] {
        &self.regions
    }

    /// The name of region `idx`.
    ///
    /// # Panics
    /// If `idx` was not returned by this table's [`GeoTable::intern`].
    pub fn name(&self, idx: RegionIdx) -> &Name {
        &self.regions[idx.0 as usize]
    }
}

/// The formats of an address-to-region table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GeoFormat {
    /// `CIDR REGION` a line.
    #[default]
    Cidr,
    /// The RIR "delegated" statistics format (`registry|cc|type|start|value|...`).
    Delegated,
}

impl FromStr for GeoFormat {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cidr" => Ok(Self::Cidr),
            "delegated" => Ok(Self::Delegated),
            _ => Err("expected `cidr` or `delegated`"),
        }
    }
}

impl fmt::Display for GeoFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cidr => "cidr",
            Self::Delegated => "delegated",
        })
    }
}

/// Parses a routes file: one `CIDR` a line, trailing columns ignored.
pub fn parse_routes(input: &[u8]) -> Parsed<Vec<IpNet>> {
    let mut parser = RoutesParser::new();
    input
        .split(|&b| b == b'\n')
        .for_each(|l| parser.push_line(l));
    parser.finish()
}

/// Parses an address-to-region table in `format`.
pub fn parse_geo(input: &[u8], format: GeoFormat) -> Parsed<GeoTable> {
    let mut parser = GeoParser::new(format);
    input
        .split(|&b| b == b'\n')
        .for_each(|l| parser.push_line(l));
    parser.finish()
}

/// [`parse_routes`] a line at a time, for files streamed rather than held in memory.
#[derive(Clone, Debug, Default)]
pub struct RoutesParser {
    line: u32,
    out: Parsed<Vec<IpNet>>,
}

impl RoutesParser {
    /// A parser at line 1.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next line, without its `\n`.
    pub fn push_line(&mut self, raw: &[u8]) {
        self.line = self.line.saturating_add(1);
        let Some(line) = checked_line(self.line, raw) else {
            return;
        };
        let parsed = line.and_then(|text| {
            let Some((col, tok)) = words(text).next() else {
                return Ok(());
            };
            self.out
                .value
                .push(parse_cidr(tok, Pos::new(self.line, col))?);
            Ok(())
        });
        if let Err(e) = parsed {
            self.out.errors.push(e);
        }
    }

    /// Everything parsed so far.
    pub fn finish(self) -> Parsed<Vec<IpNet>> {
        self.out
    }
}

/// [`parse_geo`] a line at a time, for files streamed rather than held in memory.
#[derive(Clone, Debug, Default)]
pub struct GeoParser {
    format: GeoFormat,
    line: u32,
    out: Parsed<GeoTable>,
}

impl GeoParser {
    /// A parser of `format` at line 1.
    pub fn new(format: GeoFormat) -> Self {
        Self {
            format,
            ..Self::default()
        }
    }

    /// The next line, without its `\n`.
    pub fn push_line(&mut self, raw: &[u8]) {
        self.line = self.line.saturating_add(1);
        let Some(line) = checked_line(self.line, raw) else {
            return;
        };
        let n = self.line;
        let table = &mut self.out.value;
        let parsed = line.and_then(|text| match self.format {
            GeoFormat::Cidr => cidr_line(table, n, text),
            GeoFormat::Delegated => delegated_line(table, n, text),
        });
        if let Err(e) = parsed {
            self.out.errors.push(e);
        }
    }

    /// Everything parsed so far.
    pub fn finish(self) -> Parsed<GeoTable> {
        self.out
    }
}

/// `CIDR REGION`, optionally followed by a `#` comment.
fn cidr_line(table: &mut GeoTable, n: u32, text: &str) -> Result<(), ParseError> {
    let mut words = words(text);
    let Some((col, tok)) = words.next() else {
        return Ok(());
    };
    let net = parse_cidr(tok, Pos::new(n, col))?;
    let end = col + tok.len() as u32;
    let Some((rcol, region)) = words.next() else {
        return Err(ParseError::new(
            Pos::new(n, end),
            "expected a region after the prefix",
        ));
    };
    let region = table
        .intern(region)
        .map_err(|m| ParseError::new(Pos::new(n, rcol), format!("bad region: {m}")))?;
    if let Some((xcol, extra)) = words.next()
        && !extra.starts_with('#')
    {
        return Err(ParseError::new(
            Pos::new(n, xcol),
            "unexpected text after the region",
        ));
    }
    table.push(net, region);
    Ok(())
}

/// One line of an RIR delegated-statistics file.
fn delegated_line(table: &mut GeoTable, n: u32, text: &str) -> Result<(), ParseError> {
    let text = text.trim_end();
    if text.trim_start().is_empty() {
        return Ok(());
    }
    let fields: Vec<(u32, &str)> = fields(text).collect();
    let at = |i: usize| Pos::new(n, fields.get(i).map_or(text.len() as u32 + 1, |f| f.0));
    // Version line: `version|registry|serial|records|startdate|enddate|UTCoffset`.
    let first = fields[0].1;
    if first.starts_with(|c: char| c.is_ascii_digit())
        && first.bytes().all(|b| b.is_ascii_digit() || b == b'.')
    {
        return Ok(());
    }
    // Summary line: `registry|*|type|*|count|summary`.
    if fields.len() >= 6 && fields[1].1 == "*" && fields[5].1 == "summary" {
        return Ok(());
    }
    if fields.len() < 7 {
        return Err(ParseError::new(
            at(fields.len()),
            "expected registry|cc|type|start|value|date|status",
        ));
    }
    let (cc, kind, start, value, status) = (fields[1], fields[2], fields[3], fields[4], fields[6]);
    let family = match kind.1 {
        "asn" => return Ok(()),
        "ipv4" | "ipv6" => kind.1,
        _ => {
            return Err(ParseError::new(
                at(2),
                "expected a type of ipv4, ipv6 or asn",
            ));
        }
    };
    match status.1 {
        "allocated" | "assigned" => {}
        // Address space held by no one has no country.
        "available" | "reserved" => return Ok(()),
        _ => {
            return Err(ParseError::new(
                at(6),
                "expected a status of allocated, assigned, available or reserved",
            ));
        }
    }
    let region = table
        .intern(cc.1)
        .map_err(|m| ParseError::new(at(1), format!("bad country code: {m}")))?;
    if family == "ipv4" {
        let first = Ipv4Addr::from_str(start.1)
            .map_err(|_| ParseError::new(at(3), "expected an IPv4 address"))?;
        let count: u64 = value
            .1
            .parse()
            .ok()
            .filter(|&c| c > 0)
            .ok_or_else(|| ParseError::new(at(4), "expected an address count of at least 1"))?;
        let last = u64::from(u32::from(first)) + count - 1;
        let last = u32::try_from(last)
            .map_err(|_| ParseError::new(at(4), "the range runs past 255.255.255.255"))?;
        for net in Ipv4Subnets::new(first, Ipv4Addr::from(last), 0) {
            table.push(IpNet::V4(net), region);
        }
    } else {
        let addr = Ipv6Addr::from_str(start.1)
            .map_err(|_| ParseError::new(at(3), "expected an IPv6 address"))?;
        let len: u8 = value
            .1
            .parse()
            .map_err(|_| ParseError::new(at(4), "expected a prefix length"))?;
        let net = Ipv6Net::new(addr, len)
            .map_err(|_| ParseError::new(at(4), "an IPv6 prefix length is at most 128"))?;
        check_network(IpNet::V6(net), at(3))?;
        table.push(IpNet::V6(net), region);
    }
    Ok(())
}

/// Parses `ADDRESS/LENGTH` (IPv4 or IPv6) whose host bits are zero.
fn parse_cidr(tok: &str, pos: Pos) -> Result<IpNet, ParseError> {
    let Some((addr, len)) = tok.split_once('/') else {
        return Err(ParseError::new(pos, "expected a prefix ADDRESS/LENGTH"));
    };
    let addr = IpAddr::from_str(addr)
        .map_err(|_| ParseError::new(pos, "expected an IPv4 or IPv6 address"))?;
    let len_pos = Pos::new(pos.line, pos.col + tok.len() as u32 - len.len() as u32);
    let len: u8 = if len.bytes().all(|b| b.is_ascii_digit()) {
        len.parse().ok()
    } else {
        None
    }
    .ok_or_else(|| ParseError::new(len_pos, "expected a prefix length"))?;
    let net = match addr {
        IpAddr::V4(a) => Ipv4Net::new(a, len).map(IpNet::V4),
        IpAddr::V6(a) => Ipv6Net::new(a, len).map(IpNet::V6),
    }
    .map_err(|_| ParseError::new(len_pos, "prefix length too long for the address family"))?;
    check_network(net, pos)?;
    Ok(net)
}

/// Rejects prefixes with host bits set: a table with those is likely cut wrong, and
/// guessing which bits were meant would hide it.
fn check_network(net: IpNet, pos: Pos) -> Result<(), ParseError> {
    if net.trunc() != net {
        return Err(ParseError::new(
            pos,
            format!("host bits set (the network would be {})", net.trunc()),
        ));
    }
    Ok(())
}

/// The text of line `n` if it holds something, or an error if it is too long or not
/// UTF-8; None for blank and comment lines. Strips a final CR.
fn checked_line(n: u32, raw: &[u8]) -> Option<Result<&str, ParseError>> {
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    if raw.len() > MAX_LINE {
        return Some(Err(ParseError::new(
            Pos::new(n, MAX_LINE as u32 + 1),
            format!("line longer than {MAX_LINE} bytes"),
        )));
    }
    let text = match std::str::from_utf8(raw) {
        Ok(text) => text,
        Err(e) => {
            return Some(Err(ParseError::new(
                Pos::new(n, e.valid_up_to() as u32 + 1),
                "not UTF-8",
            )));
        }
    };
    let first = text.trim_start_matches([' ', '\t']);
    (!first.is_empty() && !first.starts_with('#')).then_some(Ok(text))
}

/// Whitespace-separated words with their 1-based byte columns.
fn words(text: &str) -> impl Iterator<Item = (u32, &str)> {
    let base = text.as_ptr() as usize;
    text.split([' ', '\t', '\r'])
        .filter(|w| !w.is_empty())
        .map(move |w| ((w.as_ptr() as usize - base) as u32 + 1, w))
}

/// `|`-separated fields with their 1-based byte columns.
fn fields(text: &str) -> impl Iterator<Item = (u32, &str)> {
    let base = text.as_ptr() as usize;
    text.split('|').map(move |f| {
        let f = f.trim();
        ((f.as_ptr() as usize - base) as u32 + 1, f)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn messages(errors: &[ParseError]) -> Vec<String> {
        errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn routes_take_the_first_column_and_skip_comments() {
        let p = parse_routes(b"# dump\n1.0.0.0/24 13335\n\n  2001:db8::/32\t64500 x\r\n");
        assert_eq!(p.value, vec![net("1.0.0.0/24"), net("2001:db8::/32")]);
        assert!(p.errors.is_empty());
    }

    #[test]
    fn bad_routes_are_reported_at_line_and_column_and_skipped() {
        let p =
            parse_routes(b"1.0.0.0/24\n  1.0.0.1/24\nfoo\n10.0.0.0/33\n10.0.0.0/2x\n2.0.0.0/8\n");
        assert_eq!(p.value, vec![net("1.0.0.0/24"), net("2.0.0.0/8")]);
        assert_eq!(
            messages(&p.errors),
            [
                "2:3: host bits set (the network would be 1.0.0.0/24)",
                "3:1: expected a prefix ADDRESS/LENGTH",
                "4:10: prefix length too long for the address family",
                "5:10: expected a prefix length",
            ]
        );
    }

    #[test]
    fn non_utf8_and_overlong_lines_are_errors() {
        let mut input = b"1.0.0.0/24\n1.\xff\n".to_vec();
        input.extend(std::iter::repeat_n(b' ', MAX_LINE + 1));
        let p = parse_routes(&input);
        assert_eq!(p.value.len(), 1);
        assert_eq!(
            messages(&p.errors),
            ["2:3: not UTF-8", "3:4097: line longer than 4096 bytes"]
        );
    }

    #[test]
    fn cidr_geo_interns_regions() {
        let p = parse_geo(
            b"1.0.0.0/24 AU\n1.0.1.0/24 CN # note\n2001:db8::/32 AU\n",
            GeoFormat::Cidr,
        );
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let t = p.value;
        assert_eq!(t.regions().len(), 2);
        assert_eq!(t.entries().len(), 3);
        assert_eq!(t.entries()[0].region, t.entries()[2].region);
        assert_eq!(t.name(t.entries()[1].region).as_str(), "CN");
    }

    #[test]
    fn cidr_geo_errors_name_the_column() {
        let p = parse_geo(
            b"1.0.0.0/24\n1.0.0.0/24 A!\n1.0.0.0/24 AU extra\n1.0.0.0/24 DEFAULT\n",
            GeoFormat::Cidr,
        );
        assert!(p.value.entries().is_empty());
        assert_eq!(
            messages(&p.errors),
            [
                "1:11: expected a region after the prefix",
                "2:12: bad region: a name has only letters, digits, '.', '_' and '-'",
                "3:15: unexpected text after the region",
                "4:12: bad region: DEFAULT and CDNTOTAL are reserved region names",
            ]
        );
    }

    const DELEGATED: &str = "\
2|apnic|20240101|5|19830613|20231231|+1000
apnic|*|ipv4|*|2|summary
apnic|*|ipv6|*|1|summary
apnic|AU|ipv4|1.0.0.0|256|20110811|assigned
apnic|CN|ipv4|1.0.1.0|768|20110414|allocated|A92E1062
apnic|JP|ipv6|2001:200::|35|19990813|allocated
apnic|JP|asn|173|1|20020801|allocated
arin||ipv4|3.0.0.0|256||available|
";

    #[test]
    fn delegated_splits_ipv4_ranges_into_cidr_blocks() {
        let p = parse_geo(DELEGATED.as_bytes(), GeoFormat::Delegated);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let t = &p.value;
        let got: Vec<(String, &str)> = t
            .entries()
            .iter()
            .map(|e| (e.net.to_string(), t.name(e.region).as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("1.0.0.0/24".to_owned(), "AU"),
                ("1.0.1.0/24".to_owned(), "CN"),
                ("1.0.2.0/23".to_owned(), "CN"),
                ("2001:200::/35".to_owned(), "JP"),
            ]
        );
    }

    #[test]
    fn delegated_errors_point_at_the_field() {
        let p = parse_geo(
            b"ripencc|FR|ipv4|1.2.3|256|20000101|allocated\n\
              ripencc|FR|ipv4|255.255.255.0|512|20000101|allocated\n\
              ripencc|FR|ipv9|1.0.0.0|1|20000101|allocated\n\
              ripencc|FR|ipv6|2001:db8::1|32|20000101|allocated\n\
              ripencc|FR|ipv4|1.0.0.0|0|20000101|allocated\n\
              ripencc|FR|ipv4|1.0.0.0\n\
              ripencc|FR|ipv4|1.0.0.0|1|20000101|lost\n",
            GeoFormat::Delegated,
        );
        assert!(p.value.entries().is_empty());
        assert_eq!(
            messages(&p.errors),
            [
                "1:17: expected an IPv4 address",
                "2:31: the range runs past 255.255.255.255",
                "3:12: expected a type of ipv4, ipv6 or asn",
                "4:17: host bits set (the network would be 2001:db8::/32)",
                "5:25: expected an address count of at least 1",
                "6:24: expected registry|cc|type|start|value|date|status",
                "7:36: expected a status of allocated, assigned, available or reserved",
            ]
        );
    }

    #[test]
    fn geo_format_names_round_trip() {
        for f in [GeoFormat::Cidr, GeoFormat::Delegated] {
            assert_eq!(f.to_string().parse::<GeoFormat>(), Ok(f));
        }
        assert!("csv".parse::<GeoFormat>().is_err());
    }
}

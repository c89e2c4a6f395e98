//! Spec §4: status reports between peering CDNs (the seed's "Status Reports").
//!
//! Three texts: the request target a load agent sends (`/load?region=france&200`,
//! [`StatusQuery`]), the one-line body the granting CDN answers (`Load france=20,47`,
//! [`StatusReport`]) and the body of a grantor-initiated alert (`G Load france=50000,8800`,
//! [`Alert`]). Each parses from bytes and prints its canonical form with `Display`;
//! `parse(print(x)) == x`.

use std::fmt;

use crate::error::{ParseError, Pos};
use crate::name::Name;

/// The averaging period when a query names none (seconds).
pub const DEFAULT_PERIOD_SECS: u32 = 300;

/// Longest text any parser of this module reads: a body or target past it is refused.
pub const MAX_STATUS_LEN: usize = 64 * 1024;

/// A region id of a status report: `[A-Za-z0-9.]{1,63}`, case-sensitive.
///
/// `all` and `aggregate` are refused: they are keywords in the query and the body.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegionId(String);

impl RegionId {
    /// Checks `s` against the region id syntax.
    pub fn new(s: &str) -> Result<Self, &'static str> {
        if s.is_empty() || s.len() > 63 {
            return Err("a region id has 1 to 63 characters");
        }
        if !s.bytes().all(is_region_byte) {
            return Err("a region id has only letters, digits and '.'");
        }
        if s == "all" || s == "aggregate" {
            return Err("`all` and `aggregate` are keywords, not region ids");
        }
        Ok(Self(s.to_owned()))
    }

    /// The id as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RegionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_region_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.'
}

/// What a query asks about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Metric {
    /// `/load`: the load the offloading CDN puts on the granting CDN.
    Load,
    /// `/capacity`: the capacity the granting CDN can still give.
    Capacity,
}

impl Metric {
    fn path(self) -> &'static str {
        match self {
            Self::Load => "/load",
            Self::Capacity => "/capacity",
        }
    }
}

/// Which part of the granting CDN a query is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `aggregate`: the whole CDN.
    Aggregate,
    /// `region=all`: every region, one figure each.
    AllRegions,
    /// `region=<id>` or `region=(<id>,...)`: these regions (never empty).
    Regions(Vec<RegionId>),
}

/// A request target: `/load?aggregate`, `/capacity?region=(a,b)&60`...
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StatusQuery {
    /// Load or capacity.
    pub metric: Metric,
    /// Aggregate, all regions or a set of regions.
    pub scope: Scope,
    /// Averaging period in seconds, at least 1 ([`DEFAULT_PERIOD_SECS`] when not written).
    pub period_secs: u32,
}

impl StatusQuery {
    /// Parses a request target (path and query, as in `GET <target> HTTP/1.1`).
    pub fn parse(target: &[u8]) -> Result<Self, ParseError> {
        let mut c = Cursor::new(target)?;
        let metric = if c.eat(b"/load?") {
            Metric::Load
        } else if c.eat(b"/capacity?") {
            Metric::Capacity
        } else {
            return Err(c.error("expected `/load?` or `/capacity?`"));
        };
        let scope = if c.eat(b"aggregate") {
            Scope::Aggregate
        } else if c.eat(b"region=") {
            if c.region_run() == b"all" {
                c.pos += 3;
                Scope::AllRegions
            } else if c.eat(b"(") {
                let mut ids = vec![c.region_id()?];
                while c.eat(b",") {
                    ids.push(c.region_id()?);
                }
                c.expect(b")", "expected `,` or `)`")?;
                Scope::Regions(ids)
            } else {
                Scope::Regions(vec![c.region_id()?])
            }
        } else {
            return Err(c.error("expected `aggregate` or `region=`"));
        };
        let period_secs = if c.eat(b"&") {
            let at = c.pos;
            let n = c.number()?;
            match u32::try_from(n) {
                Ok(0) | Err(_) => {
                    return Err(c.error_at(at, "the period is 1 to 4294967295 seconds"));
                }
                Ok(n) => n,
            }
        } else {
            DEFAULT_PERIOD_SECS
        };
        if !c.at_end() {
            return Err(c.error("expected `&<seconds>` or the end of the target"));
        }
        Ok(Self {
            metric,
            scope,
            period_secs,
        })
    }
}

impl fmt::Display for StatusQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}?", self.metric.path())?;
        match &self.scope {
            Scope::Aggregate => f.write_str("aggregate")?,
            Scope::AllRegions => f.write_str("region=all")?,
            Scope::Regions(ids) if ids.len() == 1 => write!(f, "region={}", ids[0])?,
            Scope::Regions(ids) => {
                f.write_str("region=(")?;
                write_list(f, ids.iter())?;
                f.write_str(")")?;
            }
        }
        if self.period_secs != DEFAULT_PERIOD_SECS {
            write!(f, "&{}", self.period_secs)?;
        }
        Ok(())
    }
}

/// A load figure: kbps, and hits per second when the reporter counts them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Load {
    /// Bandwidth in kbit/s.
    pub kbps: u64,
    /// Requests per second, when reported.
    pub hits_per_s: Option<u64>,
}

impl fmt::Display for Load {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kbps)?;
        if let Some(hits) = self.hits_per_s {
            write!(f, ",{hits}")?;
        }
        Ok(())
    }
}

/// Figures for the whole CDN or per region.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Figures<T> {
    /// `aggregate=<figure>`.
    Aggregate(T),
    /// `<id>=<figure>,<id>=<figure>...`: never empty, no id twice, in the order written.
    Regions(Vec<(RegionId, T)>),
}

impl<T: fmt::Display> fmt::Display for Figures<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Aggregate(v) => write!(f, "aggregate={v}"),
            Self::Regions(items) => write_list(f, items.iter().map(|(id, v)| format!("{id}={v}"))),
        }
    }
}

/// A status report body: the answer to a [`StatusQuery`], or the payload of an [`Alert`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum StatusReport {
    /// `Load <figures>`.
    Load(Figures<Load>),
    /// `Capacity <figures>` (kbps).
    Capacity(Figures<u64>),
    /// `Unavailable`: the figures asked for are absent (or, in an alert, the CDN is gone).
    Unavailable,
}

impl StatusReport {
    /// Parses a response body: one line, an optional line end and trailing blanks allowed.
    pub fn parse(body: &[u8]) -> Result<Self, ParseError> {
        let mut c = Cursor::new(body)?;
        let report = c.report()?;
        c.end_of_body()?;
        Ok(report)
    }
}

impl fmt::Display for StatusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Load(figures) => write!(f, "Load {figures}"),
            Self::Capacity(figures) => write!(f, "Capacity {figures}"),
            Self::Unavailable => f.write_str("Unavailable"),
        }
    }
}

/// The body of a grantor-initiated `POST /alert`: `<cdn-id> <report>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Alert {
    /// The CDN that raises the alert.
    pub cdn: Name,
    /// What it reports.
    pub report: StatusReport,
}

impl Alert {
    /// Parses an alert body.
    pub fn parse(body: &[u8]) -> Result<Self, ParseError> {
        let mut c = Cursor::new(body)?;
        let start = c.pos;
        c.take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        let word = c.text(start);
        let cdn = Name::new(word).map_err(|e| c.error_at(start, e))?;
        if c.skip_blanks() == 0 {
            return Err(c.error("expected a blank after the CDN id"));
        }
        let report = c.report()?;
        c.end_of_body()?;
        Ok(Self { cdn, report })
    }
}

impl fmt::Display for Alert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.cdn, self.report)
    }
}

fn write_list<I, T>(f: &mut fmt::Formatter<'_>, items: I) -> fmt::Result
where
    I: Iterator<Item = T>,
    T: fmt::Display,
{
    for (i, item) in items.enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

/// A byte cursor that knows how to turn its offset into a `LINE:COL`.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8]) -> Result<Self, ParseError> {
        let c = Self { bytes, pos: 0 };
        if bytes.len() > MAX_STATUS_LEN {
            return Err(c.error_at(MAX_STATUS_LEN, "longer than 65536 bytes"));
        }
        Ok(c)
    }

    fn error(&self, message: &str) -> ParseError {
        self.error_at(self.pos, message)
    }

    fn error_at(&self, offset: usize, message: &str) -> ParseError {
        let before = &self.bytes[..offset.min(self.bytes.len())];
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let col = offset - line_start + 1;
        let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        ParseError::new(Pos::new(clamp(line), clamp(col)), message)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn eat(&mut self, lit: &[u8]) -> bool {
        if self.bytes[self.pos..].starts_with(lit) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, lit: &[u8], message: &str) -> Result<(), ParseError> {
        if self.eat(lit) {
            Ok(())
        } else {
            Err(self.error(message))
        }
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> usize {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// The text from `start` to here; only called over ASCII runs.
    fn text(&self, start: usize) -> &'a str {
        std::str::from_utf8(&self.bytes[start..self.pos]).unwrap_or("")
    }

    fn skip_blanks(&mut self) -> usize {
        self.take_while(|b| b == b' ' || b == b'\t')
    }

    fn number(&mut self) -> Result<u64, ParseError> {
        let start = self.pos;
        if self.take_while(|b| b.is_ascii_digit()) == 0 {
            return Err(self.error("expected a number"));
        }
        self.text(start)
            .parse()
            .map_err(|_| self.error_at(start, "number too large"))
    }

    /// The run of region-id bytes at the cursor, without moving.
    fn region_run(&self) -> &'a [u8] {
        let rest = &self.bytes[self.pos..];
        &rest[..rest.iter().take_while(|&&b| is_region_byte(b)).count()]
    }

    fn region_id(&mut self) -> Result<RegionId, ParseError> {
        let start = self.pos;
        if self.take_while(is_region_byte) == 0 {
            return Err(self.error("expected a region id"));
        }
        RegionId::new(self.text(start)).map_err(|e| self.error_at(start, e))
    }

    fn report(&mut self) -> Result<StatusReport, ParseError> {
        let start = self.pos;
        self.take_while(|b| b.is_ascii_alphabetic());
        let report = match self.text(start) {
            "Load" => {
                self.blanks_before_figures()?;
                StatusReport::Load(self.figures(Self::load)?)
            }
            "Capacity" => {
                self.blanks_before_figures()?;
                StatusReport::Capacity(self.figures(|c, _| c.number())?)
            }
            "Unavailable" => StatusReport::Unavailable,
            _ => {
                return Err(self.error_at(start, "expected `Load`, `Capacity` or `Unavailable`"));
            }
        };
        Ok(report)
    }

    fn blanks_before_figures(&mut self) -> Result<(), ParseError> {
        if self.skip_blanks() == 0 {
            return Err(self.error("expected a blank"));
        }
        Ok(())
    }

    /// `aggregate=<v>` (also `aggregate <v>` and the seed's `aggregate<v>`) or
    /// `<id>=<v>,<id>=<v>...`. `value` gets whether the list continues after it.
    fn figures<T>(
        &mut self,
        value: impl Fn(&mut Self, bool) -> Result<T, ParseError>,
    ) -> Result<Figures<T>, ParseError> {
        let run = self.region_run();
        let seed_form = run.strip_prefix(b"aggregate").is_some_and(|digits| {
            !digits.is_empty()
                && digits.iter().all(u8::is_ascii_digit)
                && self.bytes.get(self.pos + run.len()) != Some(&b'=')
        });
        if run == b"aggregate" || seed_form {
            self.pos += b"aggregate".len();
            if !self.eat(b"=") {
                self.skip_blanks();
            }
            return Ok(Figures::Aggregate(value(self, false)?));
        }
        let mut items: Vec<(RegionId, T)> = Vec::new();
        loop {
            let at = self.pos;
            let id = self.region_id()?;
            if items.iter().any(|(seen, _)| *seen == id) {
                return Err(self.error_at(at, "a region appears twice"));
            }
            self.expect(b"=", "expected `=`")?;
            items.push((id, value(self, true)?));
            if !self.eat(b",") {
                return Ok(Figures::Regions(items));
            }
        }
    }

    /// `<kbps>[,<hits>]`; in a region list, the item after a comma is hits only when it
    /// is not itself `<id>=...`.
    fn load(&mut self, in_list: bool) -> Result<Load, ParseError> {
        let kbps = self.number()?;
        let mut hits_per_s = None;
        if self.peek() == Some(b',') && !(in_list && self.next_item_is_region()) {
            self.pos += 1;
            hits_per_s = Some(self.number()?);
        }
        Ok(Load { kbps, hits_per_s })
    }

    /// Looks past the `,` at the cursor: does a `<id>=` follow?
    fn next_item_is_region(&self) -> bool {
        let rest = &self.bytes[self.pos + 1..];
        let id_len = rest.iter().take_while(|&&b| is_region_byte(b)).count();
        id_len > 0 && rest.get(id_len) == Some(&b'=')
    }

    fn end_of_body(&mut self) -> Result<(), ParseError> {
        self.take_while(|b| b.is_ascii_whitespace());
        if self.at_end() {
            Ok(())
        } else {
            Err(self.error("expected the end of the report"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> RegionId {
        RegionId::new(s).unwrap()
    }

    #[test]
    fn seed_example_query_parses() {
        let q = StatusQuery::parse(b"/load?region=france&200").unwrap();
        assert_eq!(
            q,
            StatusQuery {
                metric: Metric::Load,
                scope: Scope::Regions(vec![id("france")]),
                period_secs: 200,
            }
        );
        assert_eq!(q.to_string(), "/load?region=france&200");
    }

    #[test]
    fn query_period_defaults_to_300_and_is_not_printed() {
        let q = StatusQuery::parse(b"/capacity?aggregate&300").unwrap();
        assert_eq!(q.period_secs, 300);
        assert_eq!(q.to_string(), "/capacity?aggregate");
    }

    #[test]
    fn region_set_and_all() {
        let q = StatusQuery::parse(b"/capacity?region=(a,b.c,9)").unwrap();
        assert_eq!(q.scope, Scope::Regions(vec![id("a"), id("b.c"), id("9")]));
        assert_eq!(q.to_string(), "/capacity?region=(a,b.c,9)");
        let all = StatusQuery::parse(b"/load?region=all").unwrap();
        assert_eq!(all.scope, Scope::AllRegions);
        // `allx` is a region id, not the keyword.
        let allx = StatusQuery::parse(b"/load?region=allx").unwrap();
        assert_eq!(allx.scope, Scope::Regions(vec![id("allx")]));
    }

    #[test]
    fn query_errors_point_at_the_token() {
        let e = |t: &[u8]| StatusQuery::parse(t).unwrap_err().to_string();
        assert_eq!(
            e(b"/loads?aggregate"),
            "1:1: expected `/load?` or `/capacity?`"
        );
        assert_eq!(e(b"/load?agg"), "1:7: expected `aggregate` or `region=`");
        assert_eq!(e(b"/load?region=(a,)"), "1:17: expected a region id");
        assert_eq!(e(b"/load?region=(a"), "1:16: expected `,` or `)`");
        assert_eq!(
            e(b"/load?aggregate&0"),
            "1:17: the period is 1 to 4294967295 seconds"
        );
        assert_eq!(e(b"/load?aggregate&x"), "1:17: expected a number");
        assert_eq!(
            e(b"/load?aggregate&5&6"),
            "1:18: expected `&<seconds>` or the end of the target"
        );
        assert_eq!(
            e(b"/load?region=(all)"),
            "1:15: `all` and `aggregate` are keywords, not region ids"
        );
    }

    #[test]
    fn load_list_tells_hits_from_regions() {
        let r = StatusReport::parse(b"Load a=1,2,b=3,4=5,c=6,7").unwrap();
        let load = |kbps, hits| Load {
            kbps,
            hits_per_s: hits,
        };
        assert_eq!(
            r,
            StatusReport::Load(Figures::Regions(vec![
                (id("a"), load(1, Some(2))),
                (id("b"), load(3, None)),
                (id("4"), load(5, None)),
                (id("c"), load(6, Some(7))),
            ]))
        );
        assert_eq!(r.to_string(), "Load a=1,2,b=3,4=5,c=6,7");
    }

    #[test]
    fn aggregate_forms_are_all_read() {
        let want = StatusReport::Load(Figures::Aggregate(Load {
            kbps: 20,
            hits_per_s: Some(47),
        }));
        for body in [
            &b"Load aggregate=20,47"[..],
            b"Load aggregate 20,47",
            b"Load aggregate20,47\r\n",
        ] {
            assert_eq!(StatusReport::parse(body).unwrap(), want);
        }
        assert_eq!(want.to_string(), "Load aggregate=20,47");
        assert_eq!(
            StatusReport::parse(b"Capacity aggregate=100000").unwrap(),
            StatusReport::Capacity(Figures::Aggregate(100_000))
        );
    }

    #[test]
    fn regions_that_start_like_aggregate_stay_regions() {
        for body in [&b"Capacity aggregatex=5"[..], b"Capacity aggregate2=5"] {
            let r = StatusReport::parse(body).unwrap();
            assert!(
                matches!(r, StatusReport::Capacity(Figures::Regions(_))),
                "{r:?}"
            );
        }
        assert_eq!(
            StatusReport::parse(b"Capacity aggregate2").unwrap(),
            StatusReport::Capacity(Figures::Aggregate(2))
        );
    }

    #[test]
    fn capacity_items_after_commas_are_regions() {
        let e = StatusReport::parse(b"Capacity a=1,2").unwrap_err();
        assert_eq!(e.to_string(), "1:15: expected `=`");
    }

    #[test]
    fn body_errors() {
        let e = |t: &[u8]| StatusReport::parse(t).unwrap_err().to_string();
        assert_eq!(e(b""), "1:1: expected `Load`, `Capacity` or `Unavailable`");
        assert_eq!(
            e(b"Loadx"),
            "1:1: expected `Load`, `Capacity` or `Unavailable`"
        );
        assert_eq!(e(b"Load"), "1:5: expected a blank");
        assert_eq!(e(b"Load a=1,a=2"), "1:10: a region appears twice");
        assert_eq!(e(b"Load a=99999999999999999999"), "1:8: number too large");
        assert_eq!(
            e(b"Unavailable\nmore"),
            "2:1: expected the end of the report"
        );
        assert_eq!(e(b"Load a=1 b=2"), "1:10: expected the end of the report");
        assert_eq!(e(b"Load \xff=1"), "1:6: expected a region id");
    }

    #[test]
    fn alert_seed_example() {
        let a = Alert::parse(b"G Load france=50000,8800").unwrap();
        assert_eq!(a.cdn.as_str(), "G");
        assert_eq!(
            a.report,
            StatusReport::Load(Figures::Regions(vec![(
                id("france"),
                Load {
                    kbps: 50_000,
                    hits_per_s: Some(8_800)
                }
            )]))
        );
        assert_eq!(a.to_string(), "G Load france=50000,8800");
        assert_eq!(
            Alert::parse(b"cdn-g Unavailable\n").unwrap().report,
            StatusReport::Unavailable
        );
        assert_eq!(
            Alert::parse(b"Unavailable").unwrap_err().to_string(),
            "1:12: expected a blank after the CDN id"
        );
        assert_eq!(
            Alert::parse(b" G Unavailable").unwrap_err().to_string(),
            "1:1: a name has 1 to 63 characters"
        );
    }

    #[test]
    fn overlong_input_is_refused() {
        let body = vec![b'a'; MAX_STATUS_LEN + 1];
        assert_eq!(
            StatusReport::parse(&body).unwrap_err().to_string(),
            "1:65537: longer than 65536 bytes"
        );
    }
}

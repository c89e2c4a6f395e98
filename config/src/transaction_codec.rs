//! Spec §1 transactions as text: [`Transaction::parse`] and the canonical printer
//! (`Display`).
//!
//! Reading choices, beyond the spec's grammar:
//! - `|` ends a statement like `!` (the seed's typo).
//! - `EPOCH <n>!` (spec §1, "Fencing"; `n` a `u64`) is read into [`Transaction::epoch`],
//!   not into the statements, and only as the first statement: anywhere else, or a
//!   second time, it is an error at its token. [`epoch_line`] writes it.
//! - `END` is optional (the end of the text also ends a transaction); any token after
//!   `END` is an error, so that a truncated or concatenated transaction is never applied
//!   half-understood. [`EndDetector`] finds `END` in a stream without parsing.
//! - A coverage that names a region twice, or an action whose weights sum to 0, is an
//!   error here; rules across statements are [`crate::Tables::apply`]'s.
//!
//! The printer writes the spec's example layout: the epoch first, one statement per line,
//! a region's prefixes on its line up to 4 (then one per line, to stay far below the
//! lexer's line limit with a million prefixes), a coverage's regions one per line, `END`
//! last.
//!
//! ```
//! use broker_config::{Tables, Transaction};
//!
//! let tx = Transaction::parse(
//!     "ADD REG FRANCE { 198.54.234.0, 23; }|\n\
//!      ADD CVG c { FRANCE, [70 = A:192.0.2.10; 30 = C:.cdn-g.example;]; }!\n\
//!      ADD CST img.xyz.com { c; }!\n\
//!      END\n",
//! )?;
//! let mut tables = Tables::new();
//! tables.apply(&tx)?;
//! assert_eq!(tables.customers().len(), 1);
//! assert_eq!(tx.to_string().lines().next(), Some("ADD REG FRANCE { 198.54.234.0, 23; }!"));
//!
//! let err = Transaction::parse("ADD REG X { 10.0.0.1, 8; }!").unwrap_err();
//! assert_eq!(err.to_string(), "1:13: host bits set in 10.0.0.1,8 (the prefix is 10.0.0.0/8)");
//! # Ok::<(), broker_config::ParseError>(())
//! ```

use std::collections::HashSet;
use std::fmt;

use ipnet::IpNet;

use crate::error::{ParseError, Pos};
use crate::grammar;
use crate::lexer::{Lexer, TokenKind, expected};
use crate::lookup_codec::parse_action;
use crate::transaction::{
    CoverageDef, CustomerBinding, Located, RegionDef, Statement, TableKind, Transaction,
};

/// Regions with more prefixes than this print one prefix per line.
const PREFIXES_PER_LINE: usize = 4;

impl Transaction {
    /// Parses a whole transaction; the first error is returned as `LINE:COL: message`.
    /// Lines may be of any length (spec §1).
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        parse_transaction(&mut Lexer::new(text).any_line_length())
    }

    /// Parses a transaction received as bytes (they must be UTF-8 and ASCII outside
    /// comments); lines may be of any length.
    pub fn parse_bytes(bytes: &[u8]) -> Result<Self, ParseError> {
        parse_transaction(&mut Lexer::from_bytes(bytes)?.any_line_length())
    }
}

fn parse_transaction(lx: &mut Lexer<'_>) -> Result<Transaction, ParseError> {
    let mut epoch = None;
    let mut statements = Vec::new();
    loop {
        let tok = lx.next_token()?;
        let pos = tok.pos;
        let first = epoch.is_none() && statements.is_empty();
        let value = match tok.kind {
            TokenKind::End => break,
            TokenKind::Word("END") => {
                let after = lx.next_token()?;
                if after.kind != TokenKind::End {
                    return Err(ParseError::new(after.pos, "unexpected text after END"));
                }
                break;
            }
            TokenKind::Word("EPOCH") if first => {
                let (value, _) = grammar::number::<u64>(lx, "an epoch")?;
                lx.expect_statement_end(true, "the epoch")?;
                epoch = Some(Located { pos, value });
                continue;
            }
            TokenKind::Word("EPOCH") => {
                return Err(ParseError::new(
                    pos,
                    "EPOCH may only be the first statement of a transaction",
                ));
            }
            TokenKind::Word("ADD") => parse_add(lx)?,
            TokenKind::Word("UPDATE") => parse_update(lx)?,
            TokenKind::Word("DEL") => parse_delete(lx)?,
            TokenKind::Word("RESET") => {
                lx.expect_statement_end(true, "RESET")?;
                Statement::Reset
            }
            _ if first => return Err(expected(&tok, "EPOCH, ADD, UPDATE, DEL, RESET or END")),
            _ => return Err(expected(&tok, "ADD, UPDATE, DEL, RESET or END")),
        };
        statements.push(Located { pos, value });
    }
    Ok(Transaction { epoch, statements })
}

/// The line that fences a transaction with `epoch` (spec §1, "Fencing"): `EPOCH <epoch>!`
/// and a line end. A transaction's text may begin with it and nothing else may come
/// before it but blanks and comments, so a control that holds a transaction as text
/// prefixes it:
///
/// ```
/// use broker_config::{Transaction, epoch_line};
///
/// let text = format!("{}ADD CST img.xyz.com {{ c; }}!\nEND\n", epoch_line(7));
/// assert_eq!(text, "EPOCH 7!\nADD CST img.xyz.com { c; }!\nEND\n");
/// assert_eq!(Transaction::parse(&text)?.epoch.map(|e| e.value), Some(7));
/// # Ok::<(), broker_config::ParseError>(())
/// ```
///
/// A typed [`Transaction`] gets the same first line from [`Transaction::with_epoch`].
pub fn epoch_line(epoch: u64) -> String {
    format!("EPOCH {epoch}!\n")
}

fn parse_add(lx: &mut Lexer<'_>) -> Result<Statement, ParseError> {
    let tok = lx.next_token()?;
    match tok.kind {
        TokenKind::Word("REG") => {
            let def = parse_region_body(lx)?;
            lx.expect_statement_end(true, "a region's '}'")?;
            Ok(Statement::AddRegion(def))
        }
        TokenKind::Word("CVG") => {
            let name = grammar::name(lx, "coverage name")?.value;
            lx.expect_punct(b'{', "after the coverage name")?;
            let mut entries: Vec<(Located<crate::Name>, crate::transaction::Action)> = Vec::new();
            let mut seen = HashSet::new();
            while !lx.peek()?.is_punct(b'}') {
                let region = grammar::name(lx, "region name")?;
                if !seen.insert(region.value.clone()) {
                    return Err(ParseError::new(
                        region.pos,
                        format!("region {} appears twice in coverage {name}", region.value),
                    ));
                }
                lx.expect_punct(b',', "after the region name")?;
                let action = parse_action(lx)?;
                lx.expect_punct(b';', "after an action")?;
                entries.push((region, action));
            }
            lx.next_token()?;
            lx.expect_statement_end(true, "a coverage's '}'")?;
            Ok(Statement::AddCoverage(CoverageDef { name, entries }))
        }
        TokenKind::Word("CST") => {
            let domain = grammar::dns_name(lx, "customer domain")?.value;
            lx.expect_punct(b'{', "after the customer domain")?;
            let coverage = grammar::name(lx, "coverage name")?;
            lx.expect_punct(b';', "after the coverage name")?;
            lx.expect_punct(b'}', "after the customer's coverage")?;
            lx.expect_statement_end(true, "a customer's '}'")?;
            Ok(Statement::AddCustomer(CustomerBinding { domain, coverage }))
        }
        _ => Err(expected(&tok, "REG, CVG or CST after ADD")),
    }
}

/// `<region> { <ip>, <prefixlen>; ... }`: the body of `ADD REG`.
fn parse_region_body(lx: &mut Lexer<'_>) -> Result<RegionDef, ParseError> {
    let name = grammar::name(lx, "region name")?.value;
    lx.expect_punct(b'{', "after the region name")?;
    let prefixes = parse_prefix_list(lx, &mut |_, _| Ok(()))?;
    Ok(RegionDef { name, prefixes })
}

/// `<ip>, <len>; ... }` up to and including the closing brace; `seen` is called with each
/// prefix and its position (files check duplicates there, where the position is known).
pub(crate) fn parse_prefix_list(
    lx: &mut Lexer<'_>,
    seen: &mut dyn FnMut(IpNet, Pos) -> Result<(), ParseError>,
) -> Result<Vec<IpNet>, ParseError> {
    let mut prefixes = Vec::new();
    loop {
        // One scan per prefix: in address mode '}' still comes back as punctuation.
        let tok = lx.next_address()?;
        if tok.is_punct(b'}') {
            return Ok(prefixes);
        }
        let (net, pos) = grammar::prefix_from(tok, lx)?;
        seen(net, pos)?;
        lx.expect_punct(b';', "after the prefix length")?;
        prefixes.push(net);
    }
}

fn parse_update(lx: &mut Lexer<'_>) -> Result<Statement, ParseError> {
    let tok = lx.next_token()?;
    if tok.kind != TokenKind::Word("CVG") {
        return Err(expected(&tok, "CVG after UPDATE"));
    }
    let coverage = grammar::name(lx, "coverage name")?.value;
    lx.expect_punct(b',', "after the coverage name")?;
    let region = grammar::name(lx, "region name")?;
    lx.expect_punct(b':', "after the region name")?;
    let action = parse_action(lx)?;
    lx.expect_statement_end(true, "the action")?;
    Ok(Statement::UpdateCoverage {
        coverage,
        region,
        action,
    })
}

fn parse_delete(lx: &mut Lexer<'_>) -> Result<Statement, ParseError> {
    let (name, name_pos) = lx.expect_word("a name to delete")?;
    lx.expect_punct(b':', "after the name to delete")?;
    let tok = lx.next_token()?;
    let kind = match tok.kind {
        TokenKind::Word("REG") => TableKind::Region,
        TokenKind::Word("CVG") => TableKind::Coverage,
        TokenKind::Word("CST") => TableKind::Customer,
        _ => return Err(expected(&tok, "REG, CVG or CST")),
    };
    match kind {
        TableKind::Region => grammar::checked_name(name, name_pos, "region name").map(drop)?,
        TableKind::Coverage => grammar::checked_name(name, name_pos, "coverage name").map(drop)?,
        TableKind::Customer => {
            grammar::checked_dns_name(name, name_pos, "customer domain").map(drop)?;
        }
    }
    lx.expect_statement_end(true, "the table kind")?;
    Ok(Statement::Delete {
        name: name.to_owned(),
        kind,
    })
}

/// Writes `ADD REG`'s body and closing brace: `<name> { <ip>, <len>; ... }`.
pub(crate) fn write_region_body(f: &mut fmt::Formatter<'_>, def: &RegionDef) -> fmt::Result {
    write!(f, "{} {{", def.name)?;
    if def.prefixes.len() > PREFIXES_PER_LINE {
        for p in &def.prefixes {
            write!(f, "\n  {}, {};", p.addr(), p.prefix_len())?;
        }
        f.write_str("\n}")
    } else {
        for p in &def.prefixes {
            write!(f, " {}, {};", p.addr(), p.prefix_len())?;
        }
        f.write_str(" }")
    }
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AddRegion(def) => {
                f.write_str("ADD REG ")?;
                write_region_body(f, def)?;
                f.write_str("!")
            }
            Self::AddCoverage(def) => {
                if def.entries.is_empty() {
                    return write!(f, "ADD CVG {} {{ }}!", def.name);
                }
                write!(f, "ADD CVG {} {{", def.name)?;
                for (region, action) in &def.entries {
                    write!(f, "\n  {}, {action};", region.value)?;
                }
                f.write_str("\n}!")
            }
            Self::AddCustomer(b) => write!(f, "ADD CST {} {{ {}; }}!", b.domain, b.coverage.value),
            Self::UpdateCoverage {
                coverage,
                region,
                action,
            } => write!(f, "UPDATE CVG {coverage}, {} : {action}!", region.value),
            Self::Delete { name, kind } => {
                let kind = match kind {
                    TableKind::Region => "REG",
                    TableKind::Coverage => "CVG",
                    TableKind::Customer => "CST",
                };
                write!(f, "DEL {name} : {kind}!")
            }
            Self::Reset => f.write_str("RESET!"),
        }
    }
}

/// The canonical text: `EPOCH <n>!` when there is an epoch, then one statement after the
/// other, each from a new line, then `END`.
impl fmt::Display for Transaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(epoch) = &self.epoch {
            f.write_str(&epoch_line(epoch.value))?;
        }
        for st in &self.statements {
            writeln!(f, "{}", st.value)?;
        }
        f.write_str("END\n")
    }
}

/// Finds the `END` of a transaction in a stream of bytes as they arrive, without
/// parsing statements, in time linear in the whole stream.
///
/// `END` counts only where a statement may start (first token, or after `!` or `|`), so
/// a region named `END` does not end anything. Feed it the whole buffer received so far
/// each time; it resumes where it stopped.
#[derive(Clone, Debug)]
pub struct EndDetector {
    /// Offset of the first byte not yet scanned (a token boundary).
    scanned: usize,
    /// True when the next token may start a statement.
    at_statement_start: bool,
    /// True when only blanks precede `scanned` on its line (a `#` there is a comment).
    line_blank: bool,
}

impl Default for EndDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl EndDetector {
    /// A detector at the start of a stream.
    pub fn new() -> Self {
        Self {
            scanned: 0,
            at_statement_start: true,
            line_blank: true,
        }
    }

    /// Looks at `buf` (everything received so far, of which earlier calls saw a prefix);
    /// returns the offset just past `END` once a statement-level `END` has arrived. The
    /// transaction is then `buf[..offset]`.
    ///
    /// `END` as the very last bytes counts (a client may send it without a line end): no
    /// statement starts with `END` followed by more letters, so no valid text is cut.
    pub fn feed(&mut self, buf: &[u8]) -> Option<usize> {
        let mut i = self.scanned;
        while i < buf.len() {
            let b = buf[i];
            match b {
                b'\n' => {
                    self.line_blank = true;
                    i += 1;
                }
                b' ' | b'\t' | b'\r' => i += 1,
                b'#' if self.line_blank => match buf[i..].iter().position(|&c| c == b'\n') {
                    Some(n) => i += n,
                    None => break,
                },
                _ if is_punct(b) => {
                    self.line_blank = false;
                    self.at_statement_start = b == b'!' || b == b'|';
                    i += 1;
                }
                _ => {
                    let len = buf[i..].iter().position(|&c| is_delimiter(c));
                    let word = &buf[i..i + len.unwrap_or(buf.len() - i)];
                    if self.at_statement_start && word == b"END" {
                        return Some(i + 3);
                    }
                    let Some(len) = len else { break };
                    self.line_blank = false;
                    self.at_statement_start = false;
                    i += len;
                }
            }
            self.scanned = i;
        }
        None
    }
}

fn is_punct(b: u8) -> bool {
    b"{}[]();,:=!|".contains(&b)
}

fn is_delimiter(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n') || is_punct(b)
}

#[cfg(test)]
mod tests;

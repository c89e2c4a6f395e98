//! Spec §3: load-agent and management events, and the management batch.
//!
//! ```text
//! LOAD <cdn>,<region>:<kbps>!          LOAD <cdn>,CDNTOTAL:<kbps>!
//! CAPACITY <cdn>,<region>:<kbps>!      CAPACITY <cdn>,CDNTOTAL:<kbps>!
//! ADD CST <customer> [ <cdn>; ... ]!   DEL CST <customer>!
//! RESET!
//! ```
//!
//! A management batch starts with the line `AUTH <token>`; as in §1, `END` (optional)
//! closes a batch and nothing may follow it. Checking the token and applying the events
//! are the control component's business.

use std::fmt;

use crate::customer_file::{CustomerDef, parse_customer_body};
use crate::error::{ParseError, Pos};
use crate::grammar;
use crate::lexer::{Lexer, TokenKind, expected};
use crate::name::Name;
use crate::regions_file::CDN_TOTAL;
use crate::transaction::Located;

/// What a `LOAD` or `CAPACITY` figure is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `CDNTOTAL`: the whole CDN.
    Total,
    /// One region (`DEFAULT` included).
    Region(Name),
}

/// `<cdn>,<scope>:<kbps>`: a load or capacity figure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Figure {
    /// The CDN, with its position.
    pub cdn: Located<Name>,
    /// Region or total, with its position.
    pub scope: Located<Scope>,
    /// kbit/s.
    pub kbps: u64,
}

/// One event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// `LOAD <cdn>,<scope>:<kbps>!`: bandwidth we use at that CDN.
    Load(Figure),
    /// `CAPACITY <cdn>,<scope>:<kbps>!`: capacity that CDN gives us.
    Capacity(Figure),
    /// `ADD CST <customer> [ <cdn>; ... ]!`: adds or replaces a customer.
    AddCustomer(CustomerDef),
    /// `DEL CST <customer>!`.
    RemoveCustomer(Located<Name>),
    /// `RESET!`: reset control and reload the configuration.
    Reset,
}

/// A list of events (what a load agent sends, or a batch's body).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Events {
    /// The events in order, each with the position of its first token.
    pub events: Vec<Located<Event>>,
}

/// `AUTH <token>` then events: one management connection's batch.
#[derive(Clone, PartialEq, Eq)]
pub struct ManagementBatch {
    /// The shared token as sent (printable ASCII, no blanks).
    pub token: String,
    /// The events.
    pub events: Events,
}

/// The token stays out of logs.
impl fmt::Debug for ManagementBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManagementBatch")
            .field("token", &"<redacted>")
            .field("events", &self.events)
            .finish()
    }
}

impl Events {
    /// Parses a list of events, optionally closed by `END`.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        parse_events(&mut Lexer::new(text))
    }
}

impl ManagementBatch {
    /// Parses a batch: `AUTH <token>` on the first line, then events.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        parse_batch(&mut Lexer::new(text))
    }

    /// Parses a batch received as bytes.
    pub fn parse_bytes(bytes: &[u8]) -> Result<Self, ParseError> {
        parse_batch(&mut Lexer::from_bytes(bytes)?)
    }
}

fn parse_batch(lx: &mut Lexer<'_>) -> Result<ManagementBatch, ParseError> {
    let tok = lx.next_token()?;
    if tok.kind != TokenKind::Word("AUTH") || tok.pos.line != 1 {
        return Err(expected(&tok, "AUTH <token> on the first line"));
    }
    let (token, pos) = lx.rest_of_line()?;
    if token.is_empty() {
        return Err(ParseError::new(pos, "expected a token after AUTH"));
    }
    // The token is a secret: say where it is wrong, never echo it.
    if let Some(i) = token.bytes().position(|b| !b.is_ascii_graphic()) {
        let col = pos.col.saturating_add(u32::try_from(i).unwrap_or(u32::MAX));
        return Err(ParseError::new(
            Pos::new(pos.line, col),
            "a token is printable ASCII without blanks",
        ));
    }
    Ok(ManagementBatch {
        token: token.to_owned(),
        events: parse_events(lx)?,
    })
}

fn parse_events(lx: &mut Lexer<'_>) -> Result<Events, ParseError> {
    let mut events = Vec::new();
    loop {
        let tok = lx.next_token()?;
        let value = match tok.kind {
            TokenKind::End => break,
            TokenKind::Word("END") => {
                let after = lx.next_token()?;
                if after.kind != TokenKind::End {
                    return Err(ParseError::new(after.pos, "unexpected text after END"));
                }
                break;
            }
            TokenKind::Word("LOAD") => Event::Load(parse_figure(lx, "LOAD")?),
            TokenKind::Word("CAPACITY") => Event::Capacity(parse_figure(lx, "CAPACITY")?),
            TokenKind::Word(verb @ ("ADD" | "DEL")) => {
                let kind = lx.next_token()?;
                if kind.kind != TokenKind::Word("CST") {
                    return Err(expected(&kind, &format!("CST after {verb}")));
                }
                if verb == "ADD" {
                    Event::AddCustomer(parse_customer_body(lx)?)
                } else {
                    let name = grammar::name(lx, "customer name")?;
                    lx.expect_statement_end(false, "the customer name")?;
                    Event::RemoveCustomer(name)
                }
            }
            TokenKind::Word("RESET") => {
                lx.expect_statement_end(false, "RESET")?;
                Event::Reset
            }
            _ => {
                return Err(expected(
                    &tok,
                    "LOAD, CAPACITY, ADD CST, DEL CST, RESET or END",
                ));
            }
        };
        events.push(Located {
            pos: tok.pos,
            value,
        });
    }
    Ok(Events { events })
}

/// `<cdn>,<region|CDNTOTAL>:<kbps>!` after `LOAD` or `CAPACITY`.
fn parse_figure(lx: &mut Lexer<'_>, verb: &str) -> Result<Figure, ParseError> {
    let cdn = grammar::name(lx, "CDN name")?;
    lx.expect_punct(b',', "after the CDN name")?;
    let (word, pos) = lx.expect_word("a region name or CDNTOTAL")?;
    let scope = if word == CDN_TOTAL {
        Scope::Total
    } else {
        Scope::Region(grammar::checked_name(word, pos, "region name")?)
    };
    lx.expect_punct(b':', "after the region")?;
    let (kbps, _) = grammar::number::<u64>(lx, "a rate in kbit/s")?;
    lx.expect_statement_end(false, &format!("the {verb} figure"))?;
    Ok(Figure {
        cdn,
        scope: Located { pos, value: scope },
        kbps,
    })
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Total => f.write_str(CDN_TOTAL),
            Self::Region(name) => write!(f, "{name}"),
        }
    }
}

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}:{}", self.cdn.value, self.scope.value, self.kbps)
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Load(figure) => write!(f, "LOAD {figure}!"),
            Self::Capacity(figure) => write!(f, "CAPACITY {figure}!"),
            Self::AddCustomer(def) => write!(f, "{def}"),
            Self::RemoveCustomer(name) => write!(f, "DEL CST {}!", name.value),
            Self::Reset => f.write_str("RESET!"),
        }
    }
}

/// One event per line; no `END` (a load agent's message is just its events).
impl fmt::Display for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.events {
            writeln!(f, "{}", e.value)?;
        }
        Ok(())
    }
}

/// `AUTH <token>`, the events, then `END`.
impl fmt::Display for ManagementBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "AUTH {}", self.token)?;
        write!(f, "{}", self.events)?;
        f.write_str("END\n")
    }
}

#[cfg(test)]
mod tests;

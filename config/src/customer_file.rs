//! Spec §2 `customer.txt`: `ADD CST <customer> [ <cdn>; <cdn>; ... ]!`, also `[a;b]`
//! without the last `;`. The same statement is a §3 management event.
//!
//! Checked within the file: a customer is defined once, lists at least one CDN, and
//! lists each CDN once. Whether the CDNs exist is [`crate::AgentFiles`]' cross-check.

use std::fmt;

use crate::error::ParseError;
use crate::grammar::{self, FirstSeen};
use crate::lexer::{Lexer, TokenKind, expected};
use crate::name::Name;
use crate::transaction::Located;

/// A customer and the CDNs that may serve it, in order of preference as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerDef {
    /// The customer's name, with its position.
    pub name: Located<Name>,
    /// The CDNs, with their positions (for "unknown CDN" errors).
    pub cdns: Vec<Located<Name>>,
}

/// The customers of a `customer.txt`, in the order written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomerFile {
    /// One entry per `ADD CST` statement.
    pub customers: Vec<CustomerDef>,
}

impl CustomerFile {
    /// Parses and checks a whole `customer.txt`.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let mut lx = Lexer::new(text);
        let mut customers = Vec::new();
        let mut names = FirstSeen::new("customer");
        loop {
            let tok = lx.next_token()?;
            match tok.kind {
                TokenKind::End => break,
                TokenKind::Word("ADD") => {}
                _ => return Err(expected(&tok, "ADD CST")),
            }
            let kind = lx.next_token()?;
            if kind.kind != TokenKind::Word("CST") {
                return Err(expected(&kind, "CST after ADD in customer.txt"));
            }
            let customer = parse_customer_body(&mut lx)?;
            names.insert(customer.name.value.clone(), customer.name.pos)?;
            customers.push(customer);
        }
        Ok(Self { customers })
    }

    /// The customer named `name`, if defined.
    pub fn get(&self, name: &str) -> Option<&CustomerDef> {
        self.customers
            .iter()
            .find(|c| c.name.value.as_str() == name)
    }
}

/// `<customer> [ <cdn>; ... ]!` after `ADD CST`.
pub(crate) fn parse_customer_body(lx: &mut Lexer<'_>) -> Result<CustomerDef, ParseError> {
    let name = grammar::name(lx, "customer name")?;
    let open = lx.expect_punct(b'[', "before the customer's CDN list")?;
    let mut cdns = Vec::new();
    let mut seen = FirstSeen::new("CDN");
    loop {
        if lx.peek()?.is_punct(b']') {
            lx.next_token()?;
            break;
        }
        let cdn = grammar::name(lx, "CDN name")?;
        seen.insert(cdn.value.clone(), cdn.pos)?;
        cdns.push(cdn);
        // `;` after every CDN, or `]` right after the last one.
        let tok = lx.next_token()?;
        if tok.is_punct(b']') {
            break;
        }
        if !tok.is_punct(b';') {
            return Err(expected(&tok, "';' or ']' after a CDN name"));
        }
    }
    if cdns.is_empty() {
        return Err(ParseError::new(open, "a customer needs at least one CDN"));
    }
    lx.expect_statement_end(false, "the CDN list")?;
    Ok(CustomerDef { name, cdns })
}

impl fmt::Display for CustomerDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ADD CST {} [", self.name.value)?;
        for cdn in &self.cdns {
            write!(f, " {};", cdn.value)?;
        }
        f.write_str(" ]!")
    }
}

/// The canonical form: one statement per line.
impl fmt::Display for CustomerFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.customers {
            writeln!(f, "{c}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        CustomerFile::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn the_spec_example_and_the_short_list_form_read() {
        let file =
            CustomerFile::parse("ADD CST img.xyz.com [ C; G; ]!\nADD CST other [C;G]!").unwrap();
        assert_eq!(file.customers.len(), 2);
        let names: Vec<_> = file.customers[1]
            .cdns
            .iter()
            .map(|c| c.value.as_str())
            .collect();
        assert_eq!(names, ["C", "G"]);
        assert_eq!(file.customers[1].cdns[1].pos, crate::Pos::new(2, 18));
        assert_eq!(
            file.to_string(),
            "ADD CST img.xyz.com [ C; G; ]!\nADD CST other [ C; G; ]!\n"
        );
        assert_eq!(file.get("img.xyz.com").unwrap().cdns.len(), 2);
    }

    #[test]
    fn lists_and_names_are_checked() {
        assert_eq!(
            err("ADD CST x [ ]!"),
            "1:11: a customer needs at least one CDN"
        );
        assert_eq!(
            err("ADD CST x [ C; C; ]!"),
            "1:16: CDN C appears twice (first at 1:13)"
        );
        assert_eq!(
            err("ADD CST x [ C; ]!\nADD CST x [ G; ]!"),
            "2:9: customer x appears twice (first at 1:9)"
        );
        assert_eq!(
            err("ADD CST x [ C G ]!"),
            "1:15: expected ';' or ']' after a CDN name, found 'G'"
        );
        assert_eq!(
            err("ADD CST x [ C;; ]!"),
            "1:15: expected CDN name, found ';'"
        );
        assert_eq!(
            err("ADD CST x [ C; ]"),
            "1:17: expected '!' after the CDN list, found end of input"
        );
        assert_eq!(
            err("ADD CDN x"),
            "1:5: expected CST after ADD in customer.txt, found 'CDN'"
        );
    }
}

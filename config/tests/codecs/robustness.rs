//! No byte string makes a parser panic or run long, errors point inside the text, and
//! whatever parses prints to a text that parses to the same print (the fuzz property).

use broker_config::lexer::MAX_LINE;
use broker_config::{
    CdnFile, CustomerFile, Events, ManagementBatch, ParseError, RegionList, RegionsFile,
    Transaction,
};
use proptest::prelude::*;

/// Checks one parser on `text`: in-bounds error or a printing fixed point.
fn check<T: std::fmt::Display>(
    text: &str,
    parse: impl Fn(&str) -> Result<T, ParseError>,
) -> Result<(), TestCaseError> {
    // A hang shows as a test that never ends; speed is the benches' business.
    let result = parse(text);
    match result {
        Ok(value) => {
            let printed = value.to_string();
            let again = parse(&printed)
                .map_err(|e| TestCaseError::fail(format!("printed text fails: {e}\n{printed}")))?;
            prop_assert_eq!(again.to_string(), printed);
        }
        Err(e) => {
            let lines = text.split('\n').count() as u32;
            prop_assert!(
                e.pos.line >= 1 && e.pos.line <= lines,
                "{e} outside {lines} lines"
            );
            prop_assert!(e.pos.col >= 1 && e.pos.col as usize <= MAX_LINE + 1, "{e}");
            prop_assert!(!e.message.is_empty());
        }
    }
    Ok(())
}

fn check_all(text: &str) -> Result<(), TestCaseError> {
    check(text, Transaction::parse)?;
    check(text, RegionList::parse)?;
    check(text, RegionsFile::parse)?;
    check(text, CdnFile::parse)?;
    check(text, CustomerFile::parse)?;
    check(text, Events::parse)?;
    check(text, ManagementBatch::parse)?;
    Ok(())
}

/// Words and punctuation of every grammar, so that random texts get deep into parsers.
const TOKENS: &[&str] = &[
    "ADD",
    "REG",
    "CVG",
    "CST",
    "CDN",
    "DEL",
    "UPDATE",
    "RESET",
    "END",
    "EPOCH",
    "LOAD",
    "CAPACITY",
    "CDNTOTAL",
    "DEFAULT",
    "AUTH",
    "A",
    "N",
    "C",
    "T",
    "R",
    "x",
    "y.example",
    ".sfx",
    "10.0.0.0",
    "10.0.0.1",
    "::",
    "2001:db8::",
    "0",
    "8",
    "24",
    "100",
    "4294967296",
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    ";",
    ",",
    ":",
    "=",
    "!",
    "|",
    "#",
    " ",
    "\n",
    "\t",
    "\r",
    "\u{0}",
    "é",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..80).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        check_all(&text)?;
        // The byte entry points check UTF-8 themselves.
        let _ = Transaction::parse_bytes(&bytes);
        let _ = ManagementBatch::parse_bytes(&bytes);
    }

    #[test]
    fn token_soups_never_panic(text in token_soup()) {
        check_all(&text)?;
    }

    #[test]
    fn end_detector_agrees_with_the_parser_on_complete_statements(text in token_soup()) {
        // Wherever END is found, the text up to it is where a statement may start.
        let mut d = broker_config::EndDetector::new();
        if let Some(end) = d.feed(text.as_bytes()) {
            prop_assert_eq!(&text.as_bytes()[end - 3..end], b"END");
        }
    }
}

#[test]
fn a_transaction_line_may_be_of_any_length() {
    // Spec §1: a generator may write a whole region on one line.
    let text = format!("ADD REG X {{ {} }}!", "1.2.3.0, 24; ".repeat(10_000));
    let tx = Transaction::parse(&text).unwrap();
    assert_eq!(tx.statements.len(), 1);
    assert_eq!(Transaction::parse_bytes(text.as_bytes()).unwrap(), tx);
}

#[test]
fn a_huge_line_is_refused_at_the_limit() {
    // Other formats keep their line limit.
    let prefixes: String = (0..10_000)
        .map(|i| format!("10.{}.{}.0, 24; ", i / 256, i % 256))
        .collect();
    let text = format!("ADD REG X {{ {prefixes} }}!");
    let err = RegionsFile::parse(&text).unwrap_err();
    assert!(err.message.starts_with("line longer than"), "{err}");
    // Refused where the limit is crossed: the rest of the line is never read as tokens.
    assert_eq!(
        (err.pos.line, err.pos.col as usize),
        (1, MAX_LINE + 1),
        "{err}"
    );
}

#[test]
fn deep_or_long_inputs_do_not_blow_the_stack() {
    // No recursion in any parser: a very long list is a loop.
    let text = format!("[{}]", "1 = A:1.2.3.4;\n".repeat(100_000));
    assert!(Transaction::parse(&format!("UPDATE CVG c, R : {text}!")).is_ok());
    let brackets = "[".repeat(100_000);
    assert!(Transaction::parse(&brackets).is_err());
}

/// The byte offset of a 1-based line and column in `text`.
fn offset_of(text: &str, pos: broker_config::Pos) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(pos.line as usize - 1)
        .map(str::len)
        .sum();
    line_start + pos.col as usize - 1
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Every token's position points at that token's bytes in the text.
    #[test]
    fn token_positions_point_at_their_bytes(text in token_soup()) {
        use broker_config::lexer::{Lexer, TokenKind};
        let mut lx = Lexer::new(&text);
        for _ in 0..200 {
            let Ok(tok) = lx.next_token() else { break };
            let at = offset_of(&text, tok.pos);
            match tok.kind {
                TokenKind::End => {
                    prop_assert!(text[at..].trim_start().is_empty() || text[at..].trim_start().starts_with('#'));
                    break;
                }
                TokenKind::Word(w) => prop_assert!(text[at..].starts_with(w), "{:?} at {}", w, tok.pos),
                TokenKind::Punct(c) => prop_assert_eq!(text.as_bytes()[at], c),
            }
        }
    }
}

use super::*;
use crate::transaction::{Action, CnameTarget, Lookup};
use crate::{DnsName, Name, Pos};

const SPEC_EXAMPLE: &str = "\
ADD REG FRANCE { 198.54.234.0, 23; 209.88.72.0, 21; }!
ADD REG GERMANY { 196.8.0.0, 16; 2001:db8:de::, 48; }!
ADD CVG two-cdns {
  FRANCE,  [70 = A:192.0.2.10; 30 = N:(ns1.cdn-g.example 198.51.100.53);];
  GERMANY, [100 = C:.cdn-g.example;];
  DEFAULT, [100 = A:192.0.2.10;];
}!
ADD CST img.xyz.com { two-cdns; }!
END
";

fn err(text: &str) -> String {
    Transaction::parse(text).unwrap_err().to_string()
}

#[test]
fn the_spec_example_parses_into_typed_statements() {
    let tx = Transaction::parse(SPEC_EXAMPLE).unwrap();
    assert_eq!(tx.statements.len(), 4);
    let Statement::AddRegion(france) = &tx.statements[0].value else {
        panic!("not a region: {:?}", tx.statements[0]);
    };
    assert_eq!(france.name.as_str(), "FRANCE");
    assert_eq!(
        france.prefixes,
        vec![
            "198.54.234.0/23".parse().unwrap(),
            "209.88.72.0/21".parse().unwrap()
        ]
    );
    let Statement::AddCoverage(cvg) = &tx.statements[2].value else {
        panic!("not a coverage");
    };
    assert_eq!(tx.statements[2].pos, Pos::new(3, 1));
    assert_eq!(cvg.entries.len(), 3);
    assert_eq!(cvg.entries[1].0.pos, Pos::new(5, 3));
    assert_eq!(
        cvg.entries[1].1,
        Action {
            choices: vec![crate::transaction::Weighted {
                weight: 100,
                lookup: Lookup::Alias(CnameTarget::Suffix(DnsName::new("cdn-g.example").unwrap())),
            }]
        }
    );
    let Statement::AddCustomer(cst) = &tx.statements[3].value else {
        panic!("not a customer");
    };
    assert_eq!(cst.domain.as_str(), "img.xyz.com");
    assert_eq!(cst.coverage.value.as_str(), "two-cdns");
}

#[test]
fn the_spec_example_prints_in_canonical_form() {
    let tx = Transaction::parse(SPEC_EXAMPLE).unwrap();
    assert_eq!(
        tx.to_string(),
        "\
ADD REG FRANCE { 198.54.234.0, 23; 209.88.72.0, 21; }!
ADD REG GERMANY { 196.8.0.0, 16; 2001:db8:de::, 48; }!
ADD CVG two-cdns {
  FRANCE, [70 = A:192.0.2.10; 30 = N:(ns1.cdn-g.example 198.51.100.53);];
  GERMANY, [100 = C:.cdn-g.example;];
  DEFAULT, [100 = A:192.0.2.10;];
}!
ADD CST img.xyz.com { two-cdns; }!
END
"
    );
    let again = Transaction::parse(&tx.to_string()).unwrap();
    assert_eq!(again.to_string(), tx.to_string());
}

#[test]
fn other_statements_parse_and_print_back() {
    let text = "\
UPDATE CVG two-cdns, FRANCE : [1 = T:(ns.g.example 192.0.2.1); 2 = R:(ns.g.example 2001:db8::1);]!
DEL FRANCE : REG!
DEL two-cdns : CVG!
DEL img.xyz.com : CST!
RESET!
END
";
    let tx = Transaction::parse(text).unwrap();
    assert_eq!(tx.to_string(), text);
    assert_eq!(
        tx.statements[1].value,
        Statement::Delete {
            name: "FRANCE".into(),
            kind: TableKind::Region
        }
    );
    assert_eq!(tx.statements[4].value, Statement::Reset);
}

#[test]
fn the_seeds_bar_ends_a_statement_like_a_bang() {
    let tx = Transaction::parse("ADD CST a.example { c; }| DEL x : REG| RESET|").unwrap();
    assert_eq!(tx.statements.len(), 3);
}

#[test]
fn end_is_optional_and_nothing_may_follow_it() {
    assert_eq!(Transaction::parse("RESET!").unwrap().statements.len(), 1);
    assert_eq!(Transaction::parse("").unwrap().statements.len(), 0);
    assert_eq!(
        Transaction::parse("# only a comment\nEND\n")
            .unwrap()
            .statements
            .len(),
        0
    );
    assert_eq!(err("RESET!\nEND\nRESET!"), "3:1: unexpected text after END");
}

#[test]
fn a_statement_may_span_lines_and_carry_comments_between_lines() {
    let tx = Transaction::parse("ADD\nREG\n# why\n  X\n{\n1.2.3.0\n,\n24\n;\n}\n!").unwrap();
    assert_eq!(tx.statements[0].pos, Pos::new(1, 1));
    assert_eq!(tx.statements.len(), 1);
}

#[test]
fn errors_name_the_offending_token() {
    assert_eq!(
        err("ADD REG X { 10.0.0.1,8; }!"),
        "1:13: host bits set in 10.0.0.1,8 (the prefix is 10.0.0.0/8)"
    );
    assert_eq!(
        err("ADD REG X { 10.0.0.0,33; }!"),
        "1:22: prefix length 33 is over 32"
    );
    assert_eq!(
        err("ADD REG X { ::,129; }!"),
        "1:16: prefix length 129 is over 128"
    );
    assert_eq!(
        err("ADD REG X { 10.0.0.0,8 }!"),
        "1:24: expected ';' after the prefix length, found '}'"
    );
    assert_eq!(
        err("ADD REG X { 10.0.0.0,8; }"),
        "1:26: expected '!' after a region's '}', found end of input"
    );
    assert_eq!(
        err("ADD REG X { 10.0.0.0,8; "),
        "1:25: expected an IP address, found end of input"
    );
    assert_eq!(
        err("ADD REG X { 300.0.0.0,8; }!"),
        "1:13: bad IP address '300.0.0.0'"
    );
    assert!(err("ADD REG X/Y { }!").starts_with("1:9: bad region name 'X/Y'"));
    assert!(err("ADD CST bad..name { c; }!").starts_with("1:9: bad customer domain 'bad..name'"));
    assert_eq!(
        err("ADD FOO"),
        "1:5: expected REG, CVG or CST after ADD, found 'FOO'"
    );
    assert_eq!(
        err("HELLO"),
        "1:1: expected EPOCH, ADD, UPDATE, DEL, RESET or END, found 'HELLO'"
    );
    assert_eq!(
        err("RESET!\nHELLO"),
        "2:1: expected ADD, UPDATE, DEL, RESET or END, found 'HELLO'"
    );
    assert_eq!(
        err("ADD CVG c { R, [0 = A:1.2.3.4;]; }!"),
        "1:16: the weights of an action sum to 0"
    );
    assert_eq!(
        err("ADD CVG c { R, [x = A:1.2.3.4;]; }!"),
        "1:17: a weight must be a non-negative integer, found 'x'"
    );
    assert_eq!(
        err("ADD CVG c {\n R, [1 = A:1.2.3.4;];\n R, [1 = A:1.2.3.4;];\n}!"),
        "3:2: region R appears twice in coverage c"
    );
    assert_eq!(
        err("DEL x : FOO!"),
        "1:9: expected REG, CVG or CST, found 'FOO'"
    );
    assert!(err("DEL a..b : CST!").starts_with("1:5: bad customer domain"));
    assert_eq!(
        err("RESET"),
        "1:6: expected '!' after RESET, found end of input"
    );
    assert_eq!(
        err("UPDATE REG"),
        "1:8: expected CVG after UPDATE, found 'REG'"
    );
    assert_eq!(
        err("UPDATE CVG c, R [1 = A:1.2.3.4;]!"),
        "1:17: expected ':' after the region name, found '['"
    );
}

#[test]
fn nonascii_and_invalid_bytes_are_errors_not_panics() {
    assert_eq!(
        Transaction::parse_bytes(b"RESET!\n\xff")
            .unwrap_err()
            .to_string(),
        "2:1: the text is not valid UTF-8"
    );
    assert_eq!(err("ADD REG \u{e9}"), "1:9: unexpected non-ASCII character");
}

#[test]
fn big_regions_print_one_prefix_per_line_and_read_back() {
    let prefixes: Vec<ipnet::IpNet> = (0..10u8)
        .map(|i| format!("10.{i}.0.0/16").parse().unwrap())
        .collect();
    let tx = Transaction {
        epoch: None,
        statements: vec![Located {
            pos: Pos::default(),
            value: Statement::AddRegion(RegionDef {
                name: Name::new("BIG").unwrap(),
                prefixes: prefixes.clone(),
            }),
        }],
    };
    let text = tx.to_string();
    assert_eq!(text.lines().count(), 13);
    let back = Transaction::parse(&text).unwrap();
    let Statement::AddRegion(def) = &back.statements[0].value else {
        panic!("not a region");
    };
    assert_eq!(def.prefixes, prefixes);
}

#[test]
fn an_epoch_opens_a_transaction_and_prints_first() {
    let text = "EPOCH 7!\nUPDATE CVG c, R : [1 = A:192.0.2.1;]!\nRESET!\nEND\n";
    let tx = Transaction::parse(text).unwrap();
    assert_eq!(
        tx.epoch,
        Some(Located {
            pos: Pos::new(1, 1),
            value: 7
        })
    );
    // The epoch is not a statement: the statements are exactly the rest.
    assert_eq!(tx.statements.len(), 2);
    assert_eq!(tx.statements[0].pos, Pos::new(2, 1));
    assert_eq!(tx.statements[1].value, Statement::Reset);
    assert_eq!(tx.to_string(), text);
}

#[test]
fn an_epoch_may_follow_comments_end_with_a_bar_and_stand_alone() {
    let tx = Transaction::parse("# fenced\n  EPOCH\n 0|\nEND").unwrap();
    assert_eq!(
        tx.epoch,
        Some(Located {
            pos: Pos::new(2, 3),
            value: 0
        })
    );
    assert!(tx.statements.is_empty());
    assert_eq!(tx.to_string(), "EPOCH 0!\nEND\n");
    let max = format!("EPOCH {}!\nEND\n", u64::MAX);
    assert_eq!(Transaction::parse(&max).unwrap().to_string(), max);
    assert_eq!(Transaction::parse("RESET!").unwrap().epoch, None);
}

#[test]
fn a_bad_epoch_number_is_an_error_at_the_number() {
    assert_eq!(
        err("EPOCH 18446744073709551616!"),
        "1:7: 18446744073709551616 is too large for an epoch"
    );
    assert_eq!(
        err("EPOCH -1!"),
        "1:7: an epoch must be a non-negative integer, found '-1'"
    );
    assert_eq!(
        err("EPOCH 0x10!"),
        "1:7: an epoch must be a non-negative integer, found '0x10'"
    );
    assert_eq!(err("EPOCH !"), "1:7: expected an epoch, found '!'");
    assert_eq!(
        err("EPOCH 3\nRESET!"),
        "2:1: expected '!' after the epoch, found 'RESET'"
    );
}

#[test]
fn epoch_anywhere_but_first_is_refused_at_its_token() {
    assert_eq!(
        err("RESET!\nEPOCH 3!\nEND\n"),
        "2:1: EPOCH may only be the first statement of a transaction"
    );
    assert_eq!(
        err("EPOCH 1!\n  EPOCH 2!\n"),
        "2:3: EPOCH may only be the first statement of a transaction"
    );
    assert_eq!(
        err("ADD REG X { 10.0.0.0, 8; }! EPOCH 3!"),
        "1:29: EPOCH may only be the first statement of a transaction"
    );
    // After END nothing may come, EPOCH included.
    assert_eq!(err("END\nEPOCH 3!"), "2:1: unexpected text after END");
}

#[test]
fn with_epoch_and_epoch_line_write_the_same_first_line() {
    assert_eq!(epoch_line(7), "EPOCH 7!\n");
    let tx = Transaction::parse("RESET!\nEND\n").unwrap();
    let fenced = tx.clone().with_epoch(7);
    assert_eq!(fenced.to_string(), format!("{}{tx}", epoch_line(7)));
    // A second call replaces the epoch, it never adds a second line.
    assert_eq!(fenced.with_epoch(9).to_string(), "EPOCH 9!\nRESET!\nEND\n");
    let parsed = Transaction::parse(&format!("{}RESET!\n", epoch_line(42))).unwrap();
    assert_eq!(parsed.epoch.map(|e| e.value), Some(42));
}

#[test]
fn end_detector_finds_end_after_an_epoch() {
    let text = b"EPOCH 3!\nRESET!\nEND\n";
    assert_eq!(EndDetector::new().feed(text), Some(text.len() - 1));
}

#[test]
fn end_detector_finds_end_only_where_a_statement_may_start() {
    let mut d = EndDetector::new();
    let text = b"ADD REG END { 1.2.3.0, 24; }!\n# END\nDEL END : REG!\nEND\nRESET!";
    let end = d.feed(text).unwrap();
    assert_eq!(&text[..end], &text[..text.len() - 7]);
    assert!(Transaction::parse_bytes(&text[..end]).is_ok());
}

#[test]
fn end_detector_resumes_across_arbitrary_splits() {
    let text = b"ADD CST a.example { c; }!\n  # a comment with END!\nRESET!\nEND";
    for split in 0..text.len() {
        let mut d = EndDetector::new();
        let first = d.feed(&text[..split]);
        let found = first.or_else(|| d.feed(text));
        assert_eq!(found, Some(text.len()), "split at {split}");
    }
    let mut d = EndDetector::new();
    assert_eq!(d.feed(b"RESET! EN"), None);
    assert_eq!(d.feed(b"RESET! ENDX"), None);
}

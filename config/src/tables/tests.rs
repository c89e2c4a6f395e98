use super::*;

const BASE: &str = "\
ADD REG FRANCE { 198.54.234.0, 23; 209.88.72.0, 21; }!
ADD REG GERMANY { 196.8.0.0, 16; 2001:db8:de::, 48; }!
ADD CVG two-cdns {
  FRANCE, [70 = A:192.0.2.10; 30 = N:(ns1.cdn-g.example 198.51.100.53);];
  GERMANY, [100 = C:.cdn-g.example;];
  DEFAULT, [100 = A:192.0.2.10;];
}!
ADD CST img.xyz.com { two-cdns; }!
END
";

fn base() -> Tables {
    let mut t = Tables::new();
    t.apply(&Transaction::parse(BASE).unwrap()).unwrap();
    t
}

/// Applies `text` to the base tables; on error checks that nothing changed.
fn apply(text: &str) -> Result<Tables, String> {
    let mut t = base();
    let before = t.clone();
    match t.apply(&Transaction::parse(text).unwrap()) {
        Ok(()) => Ok(t),
        Err(e) => {
            assert_eq!(t, before, "a failed transaction changed the tables");
            Err(e.to_string())
        }
    }
}

fn name(s: &str) -> Name {
    Name::new(s).unwrap()
}

#[test]
fn the_spec_example_fills_the_three_tables() {
    let t = base();
    assert_eq!(t.regions().len(), 2);
    assert_eq!(t.regions()[&name("GERMANY")].len(), 2);
    let entries = &t.coverages()[&name("two-cdns")];
    assert_eq!(
        entries.iter().map(|(r, _)| r.as_str()).collect::<Vec<_>>(),
        ["FRANCE", "GERMANY", "DEFAULT"]
    );
    assert_eq!(
        t.customers()[&DnsName::new("img.xyz.com").unwrap()],
        name("two-cdns")
    );
    assert_eq!(
        t.region_of_prefix(&"196.8.0.0/16".parse().unwrap()),
        Some(&name("GERMANY"))
    );
}

#[test]
fn add_replaces_an_existing_name() {
    let t = apply("ADD REG FRANCE { 10.0.0.0, 8; }!").unwrap();
    assert_eq!(
        t.regions()[&name("FRANCE")],
        vec!["10.0.0.0/8".parse::<IpNet>().unwrap()]
    );
    // The old prefixes are free again.
    assert_eq!(
        t.region_of_prefix(&"198.54.234.0/23".parse().unwrap()),
        None
    );
    let t = apply("ADD REG GERMANY { 198.54.234.0, 23; }! ADD REG FRANCE { 1.0.0.0, 8; }!");
    assert!(
        t.is_err(),
        "FRANCE still holds the prefix when GERMANY takes it"
    );
    let t =
        apply("ADD REG FRANCE { 1.0.0.0, 8; }! ADD REG GERMANY { 198.54.234.0, 23; }!").unwrap();
    assert_eq!(
        t.region_of_prefix(&"198.54.234.0/23".parse().unwrap()),
        Some(&name("GERMANY"))
    );
}

#[test]
fn a_prefix_in_two_regions_or_twice_in_one_is_an_error() {
    assert_eq!(
        apply("RESET!\nADD REG A { 10.0.0.0, 8; }!\nADD REG B { 10.0.0.0, 8; }!"),
        Err("3:1: prefix 10.0.0.0/8 of region B is already in region A".into())
    );
    assert_eq!(
        apply("ADD REG A { 10.0.0.0, 8; 10.0.0.0, 8; }!"),
        Err("1:1: prefix 10.0.0.0/8 appears twice in region A".into())
    );
    // Nested prefixes in different regions are fine: the longest match wins.
    assert!(apply("ADD REG A { 10.0.0.0, 8; }! ADD REG B { 10.1.0.0, 16; }!").is_ok());
}

#[test]
fn default_is_reserved_but_usable_in_coverages() {
    assert_eq!(
        apply("ADD REG DEFAULT { 10.0.0.0, 8; }!"),
        Err("1:1: region name DEFAULT is reserved (it holds every address no region holds)".into())
    );
    assert!(
        apply("DEL DEFAULT : REG!")
            .unwrap_err()
            .starts_with("1:1: region name DEFAULT is reserved")
    );
    assert!(apply("UPDATE CVG two-cdns, DEFAULT : [1 = A:1.2.3.4;]!").is_ok());
}

#[test]
fn unknown_regions_and_coverages_are_errors_at_their_mention() {
    assert_eq!(
        apply("ADD CVG c {\n  FRANCE, [1 = A:1.2.3.4;];\n  SPAIN, [1 = A:1.2.3.4;];\n}!"),
        Err("3:3: unknown region SPAIN".into())
    );
    assert_eq!(
        apply("ADD CST a.example { nope; }!"),
        Err("1:21: unknown coverage nope".into())
    );
    assert_eq!(
        apply("UPDATE CVG nope, FRANCE : [1 = A:1.2.3.4;]!"),
        Err("1:1: unknown coverage nope".into())
    );
    assert_eq!(
        apply("UPDATE CVG two-cdns, SPAIN : [1 = A:1.2.3.4;]!"),
        Err("1:22: unknown region SPAIN".into())
    );
}

#[test]
fn update_replaces_or_appends_one_region_of_a_coverage() {
    let t = apply(
        "UPDATE CVG two-cdns, GERMANY : [5 = A:192.0.2.99;]!\n\
         ADD REG SPAIN { 2.0.0.0, 8; }!\n\
         UPDATE CVG two-cdns, SPAIN : [5 = A:192.0.2.98;]!",
    )
    .unwrap();
    let entries = &t.coverages()[&name("two-cdns")];
    assert_eq!(entries.len(), 4);
    assert_eq!(entries[1].1.to_string(), "[5 = A:192.0.2.99;]");
    assert_eq!(entries[3].0, name("SPAIN"));
}

#[test]
fn delete_of_a_name_still_used_is_an_error() {
    assert_eq!(
        apply("DEL FRANCE : REG!"),
        Err("1:1: region FRANCE is still used by coverage two-cdns".into())
    );
    assert_eq!(
        apply("DEL two-cdns : CVG!"),
        Err("1:1: coverage two-cdns is still used by customer img.xyz.com".into())
    );
    assert_eq!(
        apply("DEL SPAIN : REG!"),
        Err("1:1: no region SPAIN to delete".into())
    );
    assert_eq!(
        apply("DEL x : CVG!"),
        Err("1:1: no coverage x to delete".into())
    );
    assert_eq!(
        apply("DEL a.example : CST!"),
        Err("1:1: no customer a.example to delete".into())
    );
    // In the right order everything goes.
    let t =
        apply("DEL IMG.xyz.com : CST!\nDEL two-cdns : CVG!\nDEL FRANCE : REG!\nDEL GERMANY : REG!")
            .unwrap();
    assert!(t.is_empty());
    assert_eq!(t.region_of_prefix(&"196.8.0.0/16".parse().unwrap()), None);
}

#[test]
fn reset_empties_and_later_statements_rebuild() {
    let t = apply("RESET!").unwrap();
    assert!(t.is_empty());
    assert_eq!(t, Tables::new());
    let t = apply("RESET! ADD REG X { 198.54.234.0, 23; }!").unwrap();
    assert_eq!(t.regions().len(), 1);
    assert!(apply("RESET! ADD CST img.xyz.com { two-cdns; }!").is_err());
}

#[test]
fn a_failing_statement_late_in_a_transaction_changes_nothing() {
    assert_eq!(
        apply("RESET!\nADD REG A { 10.0.0.0, 8; }!\nADD CST b.example { missing; }!"),
        Err("3:21: unknown coverage missing".into())
    );
}

#[test]
fn to_transaction_rebuilds_the_same_tables() {
    let t = base();
    let tx = t.to_transaction();
    let mut rebuilt = apply("ADD REG OTHER { 7.0.0.0, 8; }!").unwrap();
    rebuilt.apply(&tx).unwrap();
    assert_eq!(rebuilt, t);
    let reparsed = Transaction::parse(&tx.to_string()).unwrap();
    let mut again = Tables::new();
    again.apply(&reparsed).unwrap();
    assert_eq!(again, t);
}

#[test]
fn a_transaction_without_regions_shares_the_region_table() {
    let t = base();
    let mut next = t.clone();
    let tx = "UPDATE CVG two-cdns, FRANCE : [100 = A:192.0.2.10;]!\nDEL img.xyz.com : CST!";
    next.apply(&Transaction::parse(tx).unwrap()).unwrap();
    assert_ne!(next, t);
    assert!(Arc::ptr_eq(&t.regions, &next.regions), "copied, not shared");
    assert!(next.same_regions(&t));
    let changed = apply("ADD REG SPAIN { 10.0.0.0, 8; }!").unwrap();
    assert!(!changed.same_regions(&t));
    // Same content in a new table (RESET and the same regions again) counts as the same.
    let again = apply(
        "RESET!\nADD REG FRANCE { 198.54.234.0, 23; 209.88.72.0, 21; }!\n\
         ADD REG GERMANY { 196.8.0.0, 16; 2001:db8:de::, 48; }!",
    )
    .unwrap();
    assert!(!Arc::ptr_eq(&t.regions, &again.regions));
    assert!(again.same_regions(&t));
}

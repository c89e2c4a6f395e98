use super::*;

fn err(text: &str) -> String {
    RegionsFile::parse(text).unwrap_err().to_string()
}

#[test]
fn statements_and_clustering_blocks_both_read_and_print_as_statements() {
    let text = "\
# regions
ADD REG FRANCE { 198.54.234.0, 23; 209.88.72.0, 21; }!
GERMANY {
  196.8.0.0,16;
  2001:db8:de::,48;
}
";
    let file = RegionsFile::parse(text).unwrap();
    assert_eq!(file.regions.len(), 2);
    assert_eq!(file.regions[1].pos, crate::Pos::new(3, 1));
    assert_eq!(file.get("GERMANY").unwrap().prefixes.len(), 2);
    assert_eq!(
        file.to_string(),
        "ADD REG FRANCE { 198.54.234.0, 23; 209.88.72.0, 21; }!\n\
         ADD REG GERMANY { 196.8.0.0, 16; 2001:db8:de::, 48; }!\n"
    );
    assert_eq!(
        RegionsFile::parse(&file.to_string())
            .unwrap()
            .to_region_list(),
        file.to_region_list()
    );
    assert_eq!(
        file.to_region_list().to_string(),
        "FRANCE {\n  198.54.234.0,23;\n  209.88.72.0,21;\n}\nGERMANY {\n  196.8.0.0,16;\n  2001:db8:de::,48;\n}\n"
    );
}

#[test]
fn a_region_is_defined_once_and_a_prefix_belongs_to_one_region() {
    assert_eq!(
        err("ADD REG A { 10.0.0.0, 8; }!\nADD REG A { 11.0.0.0, 8; }!"),
        "2:9: region A appears twice (first at 1:9)"
    );
    assert_eq!(
        err("A { 10.0.0.0,8; }\nB {\n  11.0.0.0,8;\n  10.0.0.0,8;\n}"),
        "4:3: prefix 10.0.0.0/8 is already in region A"
    );
    assert_eq!(
        err("A { 10.0.0.0,8; 10.0.0.0,8; }"),
        "1:17: prefix 10.0.0.0/8 appears twice in this region"
    );
}

#[test]
fn reserved_names_are_refused() {
    assert_eq!(
        err("DEFAULT { 10.0.0.0,8; }"),
        "1:1: region name DEFAULT is reserved"
    );
    assert_eq!(
        err("ADD REG CDNTOTAL { }!"),
        "1:9: region name CDNTOTAL is reserved"
    );
}

#[test]
fn statement_syntax_is_checked() {
    assert_eq!(
        err("ADD CDN x"),
        "1:5: expected REG after ADD in regions.txt, found 'CDN'"
    );
    assert_eq!(
        err("ADD REG A { 10.0.0.0, 8; }"),
        "1:27: expected '!' after a region's '}', found end of input"
    );
    // The §1 '|' belongs to transactions only.
    assert_eq!(
        err("ADD REG A { 10.0.0.0, 8; }|"),
        "1:27: expected '!' after a region's '}', found '|'"
    );
}

#[test]
fn the_first_error_in_the_text_wins_between_a_duplicate_and_a_syntax_error() {
    // The duplicate (line 2) comes before the syntax error (line 3).
    assert_eq!(
        err("A { 10.0.0.0,8;\n10.0.0.0,8;\n10.0.0.1,8; }"),
        "2:1: prefix 10.0.0.0/8 appears twice in this region"
    );
    // The syntax error (line 2) comes before the duplicate (line 3).
    assert_eq!(
        err("A { 10.0.0.0,8; }\nB { 11.0.0.0 8;\n10.0.0.0,8; }"),
        "2:14: expected ',' after the prefix address, found '8'"
    );
    // Of several duplicates, the first met is reported, naming the first owner.
    assert_eq!(
        err("A { 10.0.0.0,8; 11.0.0.0,8; }\nB { 12.0.0.0,8; 11.0.0.0,8; 10.0.0.0,8; }"),
        "2:17: prefix 11.0.0.0/8 is already in region A"
    );
}

#[test]
fn a_clustering_block_may_name_a_region_add() {
    let file = RegionsFile::parse("ADD { 10.0.0.0,8; }\nADD REG REG { 11.0.0.0, 8; }!").unwrap();
    let names: Vec<_> = file.regions.iter().map(|r| r.value.name.as_str()).collect();
    assert_eq!(names, ["ADD", "REG"]);
    assert_eq!(
        RegionsFile::parse(&file.to_region_list().to_string())
            .unwrap()
            .regions
            .len(),
        2
    );
}

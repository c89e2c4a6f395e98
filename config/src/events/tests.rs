use super::*;

fn err(text: &str) -> String {
    Events::parse(text).unwrap_err().to_string()
}

const ALL: &str = "\
LOAD G,FRANCE:20000!
LOAD G,CDNTOTAL:50000!
CAPACITY G,DEFAULT:100!
CAPACITY C,CDNTOTAL:400000!
ADD CST img.xyz.com [ C; G; ]!
DEL CST img.xyz.com!
RESET!
";

#[test]
fn every_event_of_the_spec_reads_and_prints_back() {
    let events = Events::parse(ALL).unwrap();
    assert_eq!(events.events.len(), 7);
    let Event::Load(load) = &events.events[0].value else {
        panic!("not a load");
    };
    assert_eq!(load.cdn.value.as_str(), "G");
    assert_eq!(
        load.scope.value,
        Scope::Region(Name::new("FRANCE").unwrap())
    );
    assert_eq!(load.scope.pos, Pos::new(1, 8));
    assert_eq!(load.kbps, 20000);
    let Event::Capacity(total) = &events.events[3].value else {
        panic!("not a capacity");
    };
    assert_eq!(total.scope.value, Scope::Total);
    assert_eq!(
        events.events[6],
        Located {
            pos: Pos::new(7, 1),
            value: Event::Reset
        }
    );
    assert_eq!(events.to_string(), ALL);
}

#[test]
fn the_short_customer_list_form_is_accepted_in_events_too() {
    let events = Events::parse("ADD CST x [C;G]!").unwrap();
    assert_eq!(events.to_string(), "ADD CST x [ C; G; ]!\n");
}

#[test]
fn errors_name_the_offending_token() {
    assert_eq!(
        err("LOAD G FRANCE:1!"),
        "1:8: expected ',' after the CDN name, found 'FRANCE'"
    );
    assert_eq!(
        err("LOAD G,FRANCE:-1!"),
        "1:15: a rate in kbit/s must be a non-negative integer, found '-1'"
    );
    assert_eq!(
        err("LOAD G,FRANCE:1"),
        "1:16: expected '!' after the LOAD figure, found end of input"
    );
    assert_eq!(
        err("CAPACITY G,:1!"),
        "1:12: expected a region name or CDNTOTAL, found ':'"
    );
    assert_eq!(
        err("DEL CDN x!"),
        "1:5: expected CST after DEL, found 'CDN'"
    );
    assert_eq!(
        err("DEL CST x"),
        "1:10: expected '!' after the customer name, found end of input"
    );
    assert_eq!(
        err("STOP!"),
        "1:1: expected LOAD, CAPACITY, ADD CST, DEL CST, RESET or END, found 'STOP'"
    );
    assert_eq!(err("RESET! END RESET!"), "1:12: unexpected text after END");
    assert_eq!(
        err("LOAD G,CDNTOTAL:18446744073709551616!"),
        "1:17: 18446744073709551616 is too large for a rate in kbit/s"
    );
}

#[test]
fn a_management_batch_starts_with_its_token_line() {
    let batch = ManagementBatch::parse("AUTH s3cr=t/+\nCAPACITY G,CDNTOTAL:1000!\nEND\n").unwrap();
    assert_eq!(batch.token, "s3cr=t/+");
    assert_eq!(batch.events.events.len(), 1);
    assert_eq!(
        batch.to_string(),
        "AUTH s3cr=t/+\nCAPACITY G,CDNTOTAL:1000!\nEND\n"
    );
    assert_eq!(ManagementBatch::parse(&batch.to_string()).unwrap(), batch);
    assert!(
        !format!("{batch:?}").contains("s3cr"),
        "the token leaks into Debug"
    );
}

#[test]
fn a_batch_without_a_good_token_line_is_refused_without_echoing_it() {
    let err = |t: &str| ManagementBatch::parse(t).unwrap_err().to_string();
    assert_eq!(
        err("RESET!"),
        "1:1: expected AUTH <token> on the first line, found 'RESET'"
    );
    assert_eq!(
        err("\nAUTH x\nRESET!"),
        "2:1: expected AUTH <token> on the first line, found 'AUTH'"
    );
    assert_eq!(err("AUTH\nRESET!"), "1:5: expected a token after AUTH");
    assert_eq!(
        err("AUTH ab cd\nRESET!"),
        "1:8: a token is printable ASCII without blanks"
    );
    assert_eq!(
        ManagementBatch::parse_bytes(b"AUTH \xff\n")
            .unwrap_err()
            .to_string(),
        "1:6: the text is not valid UTF-8"
    );
    assert_eq!(
        err("AUTH sécret"),
        "1:7: a token is printable ASCII without blanks"
    );
}

//! The JSON form of a batch: one operation object, or an array of them, each the same as
//! one §3 statement:
//!
//! ```json
//! [
//!   {"op": "load", "cdn": "G", "region": "FRANCE", "kbps": 20000},
//!   {"op": "capacity", "cdn": "G", "kbps": 90000},
//!   {"op": "add_customer", "name": "img.xyz.com", "cdns": ["C", "G"]},
//!   {"op": "del_customer", "name": "old.example"},
//!   {"op": "reset"}
//! ]
//! ```
//!
//! `region` absent means `CDNTOTAL`. Each operation becomes one line of §3 text, parsed by
//! the one §3 parser, so the JSON and text forms cannot disagree; names are checked
//! before they are written, so that no field can smuggle in another statement.

use broker_config::{Events, Name};
use serde::Deserialize;

/// One operation.
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
enum Op {
    Load {
        cdn: String,
        region: Option<String>,
        kbps: u64,
    },
    Capacity {
        cdn: String,
        region: Option<String>,
        kbps: u64,
    },
    AddCustomer {
        name: String,
        cdns: Vec<String>,
    },
    DelCustomer {
        name: String,
    },
    Reset,
}

/// The operations of a JSON body as §3 events (line N is operation N-1). Errors name
/// the JSON position or the operation.
pub(super) fn to_events(body: &[u8]) -> Result<Events, String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("{}:{} {e}", e.line(), e.column()))?;
    let values = match value {
        serde_json::Value::Array(items) => items,
        one => vec![one],
    };
    let mut text = String::new();
    for (i, value) in values.into_iter().enumerate() {
        let op: Op = serde_json::from_value(value).map_err(|e| format!("ops[{i}]: {e}"))?;
        let line = statement(&op).map_err(|e| format!("ops[{i}]: {e}"))?;
        text.push_str(&line);
        text.push('\n');
    }
    Events::parse(&text)
        .map_err(|e| format!("ops[{}]: {}", e.pos.line.saturating_sub(1), e.message))
}

fn name(s: &str, what: &str) -> Result<Name, String> {
    Name::new(s).map_err(|e| format!("{what} {s:?}: {e}"))
}

fn figure(verb: &str, cdn: &str, region: Option<&str>, kbps: u64) -> Result<String, String> {
    let cdn = name(cdn, "cdn")?;
    let scope = match region {
        Some(r) => name(r, "region")?.to_string(),
        None => "CDNTOTAL".to_owned(),
    };
    Ok(format!("{verb} {cdn},{scope}:{kbps}!"))
}

fn statement(op: &Op) -> Result<String, String> {
    match op {
        Op::Load { cdn, region, kbps } => figure("LOAD", cdn, region.as_deref(), *kbps),
        Op::Capacity { cdn, region, kbps } => figure("CAPACITY", cdn, region.as_deref(), *kbps),
        Op::AddCustomer { name: n, cdns } => {
            let n = name(n, "customer")?;
            let list: Result<Vec<String>, String> = cdns
                .iter()
                .map(|c| name(c, "cdn").map(|c| format!("{c};")))
                .collect();
            Ok(format!("ADD CST {n} [ {} ]!", list?.join(" ")))
        }
        Op::DelCustomer { name: n } => Ok(format!("DEL CST {}!", name(n, "customer")?)),
        Op::Reset => Ok("RESET!".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_become_the_same_events_as_their_text() {
        let body = br#"[{"op":"load","cdn":"G","region":"FRANCE","kbps":7},
            {"op":"capacity","cdn":"G","kbps":9},
            {"op":"add_customer","name":"img.xyz.com","cdns":["C","G"]},
            {"op":"del_customer","name":"a.example"},{"op":"reset"}]"#;
        let events = to_events(body).unwrap();
        let text = Events::parse(
            "LOAD G,FRANCE:7!\nCAPACITY G,CDNTOTAL:9!\nADD CST img.xyz.com [ C; G; ]!\nDEL CST a.example!\nRESET!\n",
        )
        .unwrap();
        assert_eq!(events, text);
    }

    #[test]
    fn a_name_cannot_smuggle_a_statement_and_errors_name_the_operation() {
        let body = br#"[{"op":"reset"},{"op":"load","cdn":"G,FRANCE:1! RESET! LOAD G","kbps":5}]"#;
        let e = to_events(body).unwrap_err();
        assert!(e.starts_with("ops[1]: cdn "), "{e}");
        let e = to_events(br#"{"op":"load","cdn":"G","kbps":-1}"#).unwrap_err();
        assert!(e.starts_with("ops[0]: "), "{e}");
        let e = to_events(b"[{\"op\":\n").unwrap_err();
        assert!(e.starts_with("2:"), "{e}");
    }
}

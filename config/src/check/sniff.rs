//! Which format a file is in, told from its first statements (spec §7: `check` tells
//! formats apart by content). This only picks the parser; the parser then judges.

use super::Format;

/// The format `text` looks like, or `None` when it looks like none of them.
pub(super) fn sniff(text: &str) -> Option<Format> {
    if text.lines().any(|l| l.starts_with("-----BEGIN ")) {
        return Some(Format::Pem); // PEM may open with explanatory text (RFC 7468)
    }
    // BIND's key files (spec §10): `K<zone>.+<alg>+<tag>.key` and `.private`.
    if text.starts_with("Private-key-format:")
        || text
            .lines()
            .any(|l| !l.starts_with(';') && l.split_whitespace().any(|w| w == "DNSKEY"))
    {
        return Some(Format::DnssecKey);
    }
    let words = words(text);
    let first = words.first().copied()?;
    let has = |w: &str| words.contains(&w);
    let format = match first {
        "AUTH" | "LOAD" | "CAPACITY" => Format::Events,
        "EPOCH" | "UPDATE" | "END" => Format::Transaction,
        "ADD" => match words.get(1).copied() {
            Some("REG") if has("CVG") || has("CST") || has("UPDATE") || has("DEL") => {
                Format::Transaction
            }
            Some("REG") if has("RESET") || has("END") => Format::Transaction,
            Some("REG") => Format::Regions,
            Some("CVG") => Format::Transaction,
            Some("CDN") => Format::Cdns,
            // `ADD CST <domain> {` is §1; `ADD CST <customer> [` is §2 or §3.
            Some("CST") if words.get(3) == Some(&"{") => Format::Transaction,
            Some("CST") if has("LOAD") || has("CAPACITY") || has("DEL") || has("RESET") => {
                Format::Events
            }
            Some("CST") => Format::Customers,
            _ => return None,
        },
        // `DEL CST x!` is §3; `DEL x : REG!` is §1.
        "DEL" if words.get(1) == Some(&"CST") && words.get(3) != Some(&":") => Format::Events,
        "DEL" | "RESET" if has("LOAD") || has("CAPACITY") => Format::Events,
        "DEL" | "RESET" => Format::Transaction,
        _ if words.get(1) == Some(&"{") => Format::RegionList,
        _ if looks_like_toml(text) => Format::Deployment,
        _ => return None,
    };
    Some(format)
}

/// The words and punctuation of `text` outside comment lines (enough to tell formats).
fn words(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.starts_with('#') {
            continue;
        }
        let mut rest = line;
        while let Some(start) = rest.find(|c: char| !c.is_whitespace()) {
            rest = &rest[start..];
            let len = if rest.starts_with(is_punct) {
                1
            } else {
                rest.find(|c: char| c.is_whitespace() || is_punct(c))
                    .unwrap_or(rest.len())
            };
            out.push(&rest[..len]);
            rest = &rest[len..];
        }
    }
    out
}

fn is_punct(c: char) -> bool {
    matches!(
        c,
        '{' | '}' | '[' | ']' | '!' | '|' | ':' | ';' | ',' | '(' | ')' | '='
    )
}

/// A TOML document starts (after comments) with a `[table]` header or a `key = value`.
fn looks_like_toml(text: &str) -> bool {
    let Some(line) = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
    else {
        return false;
    };
    if line.starts_with('[') {
        return true;
    }
    line.split_once('=').is_some_and(|(key, _)| {
        let key = key.trim();
        !key.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'"'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_the_formats_apart() {
        let cases = [
            ("[node]\nname = \"C\"\n", Format::Deployment),
            ("# c\nname = 1\n", Format::Deployment),
            ("ADD REG A { 10.0.0.0, 8; }!\n", Format::Regions),
            ("ADD REG A { 10.0.0.0, 8; }!\nEND\n", Format::Transaction),
            (
                "ADD REG A { 10.0.0.0, 8; }!\nADD CST a.b { x; }!",
                Format::Transaction,
            ),
            (
                "ADD CVG x { DEFAULT, [1 = A:1.2.3.4;]; }!",
                Format::Transaction,
            ),
            ("ADD CST img.xyz.com { x; }!", Format::Transaction),
            ("ADD CST xyz [ C; G; ]!", Format::Customers),
            ("ADD CST xyz [ C; ]!\nLOAD C,FR:5!", Format::Events),
            ("ADD CDN C:1 {A:1.2.3.4} [ A:1; ]!", Format::Cdns),
            ("LOAD C,CDNTOTAL:5!", Format::Events),
            ("AUTH t\nRESET!", Format::Events),
            ("DEL CST xyz!", Format::Events),
            ("DEL xyz : CVG!", Format::Transaction),
            ("RESET!\nEND", Format::Transaction),
            ("EPOCH 7!\nADD REG A { 10.0.0.0, 8; }!", Format::Transaction),
            ("FRANCE {\n 1.2.3.0,24;\n}\n", Format::RegionList),
            ("junk\n-----BEGIN CERTIFICATE-----\n", Format::Pem),
            ("; key\na. IN DNSKEY 256 3 15 AAAA\n", Format::DnssecKey),
            ("Private-key-format: v1.3\n", Format::DnssecKey),
        ];
        for (text, want) in cases {
            assert_eq!(sniff(text), Some(want), "{text}");
        }
        assert_eq!(sniff(""), None);
        assert_eq!(sniff("hello world"), None);
    }
}

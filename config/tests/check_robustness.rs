//! `check_files` never panics, whatever the files hold, and every error it reports is
//! positioned inside the file it names.

use std::collections::HashMap;
use std::io;
use std::path::Path;

use broker_config::check::{FileSource, check_files};
use proptest::collection::vec;
use proptest::prelude::*;

struct Nothing;

impl FileSource for Nothing {
    fn read(&self, _: &Path) -> io::Result<Vec<u8>> {
        Err(io::Error::new(io::ErrorKind::NotFound, "not found"))
    }
}

/// Text made of the words of every format, so that sniffing and parsers get exercised.
fn fragment() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        Just("ADD "),
        Just("REG "),
        Just("CVG "),
        Just("CST "),
        Just("CDN "),
        Just("DEL "),
        Just("LOAD "),
        Just("CAPACITY "),
        Just("RESET"),
        Just("END"),
        Just("AUTH t\n"),
        Just("C:1 "),
        Just("{"),
        Just("}"),
        Just("["),
        Just("]"),
        Just("!"),
        Just(";"),
        Just(","),
        Just(":"),
        Just("10.0.0.0, 8"),
        Just("A:1.2.3.4"),
        Just("FRANCE"),
        Just("[node]\nname = \"C\"\n"),
        Just("[control]\nregions = \"r.txt\"\n"),
        Just("[[partner]]\nname = \"G\"\nform = \"embedded\"\n"),
        Just("\n"),
        Just("# c\n"),
        Just("-----BEGIN CERTIFICATE-----\n"),
        Just("QUJD\n"),
        Just("-----END CERTIFICATE-----\n"),
    ];
    vec(word, 0..24).prop_map(|w| w.concat())
}

proptest! {
    #[test]
    fn check_never_panics_and_positions_are_inside(
        texts in vec(fragment(), 1..4),
        raw in vec(any::<u8>(), 0..64),
    ) {
        let mut files: Vec<(String, Vec<u8>)> = texts
            .into_iter()
            .enumerate()
            .map(|(i, t)| (format!("f{i}.txt"), t.into_bytes()))
            .collect();
        files.push(("raw.toml".into(), raw));
        let lines: HashMap<String, usize> = files
            .iter()
            .map(|(name, bytes)| (name.clone(), bytes.split(|&b| b == b'\n').count()))
            .collect();
        let report = check_files(&files, &Nothing);
        for e in &report.errors {
            if let (Some(pos), Some(&n)) = (e.pos, lines.get(&e.file)) {
                prop_assert!(pos.line >= 1 && pos.line as usize <= n && pos.col >= 1, "{}", e);
            }
        }
    }
}

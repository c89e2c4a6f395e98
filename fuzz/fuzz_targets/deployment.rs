#![no_main]
//! Spec §7 deployment files on any text: a file that validates prints to canonical TOML
//! that validates to the same deployment; every error points inside the text.

use std::path::Path;

use broker_config::deploy::Deployment;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = Path::new("conf/c.toml");
    match Deployment::parse(text, file) {
        Ok(d) => {
            let printed = d.to_toml(file);
            let again = Deployment::parse(&printed, file)
                .unwrap_or_else(|e| panic!("printed file does not parse: {e}\n{printed}"));
            assert_eq!(again, d, "round trip changed the deployment");
        }
        Err(errors) => {
            let lines = text.split('\n').count();
            for e in &errors.errors {
                let pos = e.pos();
                assert!(
                    pos.line >= 1 && pos.line as usize <= lines && pos.col >= 1,
                    "error outside the text: {e}"
                );
            }
        }
    }
});

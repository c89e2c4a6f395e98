#![no_main]
//! The BIND key file parsers (spec §10) on any bytes: never a panic, and errors stay
//! inside the text they are about. The input is the `.key` text, a NUL byte, then the
//! `.private` text; the private half is also tried against a fixed good public key.

use broker_config::ParseError;
use broker_config::dnssec_key::{KeyPair, PublicKey};
use libfuzzer_sys::fuzz_target;

const ED_KEY: &str =
    "img.xyz.com. IN DNSKEY 256 3 15 pMC4zbv2Z+jDLnIgPi5T7MRfgisXRybFLWkdKhN5G+k=\n";

fn inside(e: &ParseError, text: &str) {
    let lines = text.split('\n').count();
    assert!(
        e.pos.line >= 1 && e.pos.line as usize <= lines && e.pos.col >= 1,
        "error outside the text: {e}"
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (public, private) = text.split_once('\0').unwrap_or((text, ""));
    if let Err(e) = KeyPair::new(PublicKey::parse(ED_KEY).unwrap(), private) {
        inside(&e, private);
    }
    match PublicKey::parse(public) {
        Err(e) => inside(&e, public),
        Ok(key) => {
            let _ = key.ds_record();
            if let Err(e) = KeyPair::new(key, private) {
                inside(&e, private);
            }
        }
    }
});

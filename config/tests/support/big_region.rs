//! A big region transaction, shared by the scale test and the scale bench.

use std::fmt::Write as _;

/// `ADD REG BIG { ... }!` then `END`, with `n` disjoint /24s from 1.0.0.0 on.
pub(crate) fn big_region_transaction(n: u32) -> String {
    let mut text = String::with_capacity(n as usize * 26 + 32);
    text.push_str("ADD REG BIG {\n");
    for i in 0..n {
        let [a, b, c, _] = ((1u32 << 24) + (i << 8)).to_be_bytes();
        writeln!(text, "  {a}.{b}.{c}.0, 24;").unwrap();
    }
    text.push_str("}!\nEND\n");
    text
}

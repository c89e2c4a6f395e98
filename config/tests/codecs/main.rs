//! Properties of the ASCII codecs (spec §1, §2, §3, §6): printing then parsing gives the
//! same value for generated values of every codec, and no byte string makes a parser
//! panic or run long. One binary (see STYLE.md §9); a module per topic.

mod robustness;
mod roundtrip;
mod strategies;
mod strip;

//! The fast HTML path: a hand-written tokenizer ([`tokenizer`]) that skips text, comments
//! and scripts with `memchr` and looks only at tags, with the same tree feedback as
//! lol_html ([`tree`]), and handlers ([`page`]) that rewrite the same values as the
//! lol_html path. The lol_html path stays as the oracle it is tested against byte for
//! byte (`tests/rewrite/differential.rs`).

mod page;
mod tokenizer;
mod tree;

pub(crate) use page::FastPage;

//! The front proxy's building blocks (issue 4) and, later, the partner edge.
//!
//! Sits above `config`, `policy` and `origin-map` in the crate graph (see
//! `ARCHITECTURE.md`); knows nothing of `dns`. For now it holds [`rewrite`], the streaming
//! HTML/CSS URL rewriter: its entry point is [`rewrite::PageRewriter`].

#![warn(missing_docs)]

pub mod edge;
pub mod front;
pub mod rewrite;

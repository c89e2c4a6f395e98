//! The front proxy (issue 4) and the partner edge (issue 5).
//!
//! Sits above `config`, `policy` and `origin-map` in the crate graph (see
//! `ARCHITECTURE.md`); knows nothing of `dns`. It holds [`front`], the offloading side's
//! proxy (entry point [`front::Front`]), [`rewrite`], the streaming HTML/CSS URL rewriter
//! it uses (entry point [`rewrite::PageRewriter`]), and [`edge`], the granting side.

#![warn(missing_docs)]

pub mod edge;
pub mod front;
pub mod rewrite;

//! Integration tests of the streaming rewriter: every test feeds its input in random
//! chunks (see `harness`; `REWRITE_SEED=<n>` replays a failure).

mod corpus;
mod css;
mod differential;
mod encodings;
mod harness;
mod html_elements;
mod malformed;
mod plans;
mod streaming;

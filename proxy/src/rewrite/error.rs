//! Why a page stopped being rewritten part-way. None of these fail the response: the rest
//! of the page passes through unchanged.

use lol_html::errors::RewritingError;

/// The reason the rewriter gave up on a page and passed the rest through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RewriteError {
    /// The markup could only be parsed with a DOM tree (lol_html's strict mode).
    #[error("ambiguous html markup")]
    AmbiguousMarkup,
    /// A tag or buffered text outgrew the parser's memory limit.
    #[error("parser memory limit exceeded")]
    MemoryLimit,
    /// The parser failed for another reason.
    #[error("html parser failed")]
    Parser,
}

impl RewriteError {
    pub(crate) fn from_lol_html(error: &RewritingError) -> Self {
        match error {
            RewritingError::ParsingAmbiguity(_) => Self::AmbiguousMarkup,
            RewritingError::MemoryLimitExceeded(_) => Self::MemoryLimit,
            _ => Self::Parser,
        }
    }
}

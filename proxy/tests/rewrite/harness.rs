//! Random chunking with a replayable seed (after lol-html's `tests/harness/input.rs`).

use std::sync::Arc;

use broker_proxy::rewrite::{
    EmbeddedMapper, PageRewriter, RewriteError, RewriteOptions, UrlMapper,
};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

pub(crate) const PARTNER: &str = "foo.cdn-g.example";

/// The seed for random chunking: `REWRITE_SEED` if set, else a fresh one (printed by
/// failing assertions through [`Rewritten::seed`]).
pub(crate) fn seed() -> u64 {
    std::env::var("REWRITE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random)
}

/// Splits `input` into chunks of random sizes: mostly small (to cut tags and URLs), some
/// large.
pub(crate) fn random_chunks(input: &[u8], seed: u64) -> Vec<&[u8]> {
    let mut rng = StdRng::seed_from_u64(seed);
    let max = [1, 7, 64, 1024, 16 * 1024][rng.random_range(0..5usize)];
    let mut chunks = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let n = rng.random_range(1..=max).min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        chunks.push(chunk);
        rest = tail;
    }
    chunks
}

/// The output of one rewrite and what the rewriter reported.
pub(crate) struct Rewritten {
    pub(crate) output: Vec<u8>,
    pub(crate) rewrites: u64,
    pub(crate) failure: Option<RewriteError>,
    pub(crate) seed: u64,
}

/// Rewrites `input` fed in the given chunks.
pub(crate) fn rewrite_chunks<M: UrlMapper + Send + 'static>(
    content_type: &str,
    mapper: M,
    options: RewriteOptions,
    chunks: &[&[u8]],
    seed: u64,
) -> Rewritten {
    let mut rewriter = PageRewriter::new(content_type, mapper, options);
    let mut output = Vec::new();
    for chunk in chunks {
        output.extend_from_slice(&rewriter.write(chunk));
    }
    output.extend_from_slice(&rewriter.finish());
    Rewritten {
        output,
        rewrites: rewriter.rewritten_urls(),
        failure: rewriter.failure(),
        seed,
    }
}

/// Rewrites `input` in random chunks, and checks that the result is the same as when it is
/// fed whole.
pub(crate) fn rewrite_with(
    content_type: &str,
    hosts: &[&str],
    options: RewriteOptions,
    input: &[u8],
) -> Rewritten {
    let mapper = Arc::new(EmbeddedMapper::new(PARTNER, hosts.iter().copied()));
    let seed = seed();
    let whole = rewrite_chunks(
        content_type,
        Arc::clone(&mapper),
        options.clone(),
        &[input],
        seed,
    );
    let chunked = rewrite_chunks(
        content_type,
        mapper,
        options,
        &random_chunks(input, seed),
        seed,
    );
    assert!(
        whole.output == chunked.output,
        "chunking changed the output (replay with REWRITE_SEED={seed}): {}",
        first_difference(&whole.output, &chunked.output),
    );
    assert_eq!(whole.rewrites, chunked.rewrites, "REWRITE_SEED={seed}");
    chunked
}

/// [`rewrite_with`] for UTF-8 HTML with default options, returning the output as text.
pub(crate) fn rewrite_html(input: &str, hosts: &[&str]) -> String {
    let out = rewrite_with(
        "text/html; charset=utf-8",
        hosts,
        RewriteOptions::default(),
        input.as_bytes(),
    );
    assert_eq!(out.failure, None, "REWRITE_SEED={}", out.seed);
    String::from_utf8(out.output).expect("utf-8 in, utf-8 out")
}

/// Where two outputs part, with some context: whole pages are too long to print.
pub(crate) fn first_difference(a: &[u8], b: &[u8]) -> String {
    let at = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let context = |s: &[u8]| {
        String::from_utf8_lossy(&s[at.saturating_sub(80)..(at + 80).min(s.len())]).into_owned()
    };
    format!(
        "lengths {} and {}, first difference at byte {at}:\n  {:?}\n  {:?}",
        a.len(),
        b.len(),
        context(a),
        context(b)
    )
}

//! The fast HTML engine against the lol_html engine, the oracle: same output bytes, same
//! rewrite count, same failure, on real pages, mutated real pages and random tag soup, each
//! engine fed its own random chunking (`REWRITE_SEED=<n>` replays a run).

use std::sync::Arc;

use broker_proxy::rewrite::{
    ContentType, EmbeddedMapper, HtmlEngine, PageRewriter, RewriteError, RewriteOptions,
};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::corpus::{corpus_dir, pages, top_hosts};
use crate::harness::{PARTNER, first_difference, random_chunks, seed};

struct Run {
    output: Vec<u8>,
    rewrites: u64,
    failure: Option<RewriteError>,
}

fn run(
    engine: HtmlEngine,
    content_type: &str,
    mapper: &Arc<EmbeddedMapper>,
    options: &RewriteOptions,
    chunks: &[&[u8]],
) -> Run {
    let mut rewriter = PageRewriter::with_engine(
        ContentType::parse(content_type),
        Arc::clone(mapper),
        options.clone(),
        engine,
    );
    let mut output = Vec::new();
    for chunk in chunks {
        output.extend_from_slice(&rewriter.write(chunk));
    }
    output.extend_from_slice(&rewriter.finish());
    Run {
        output,
        rewrites: rewriter.rewritten_urls(),
        failure: rewriter.failure(),
    }
}

/// Runs both engines on `input` (each with its own chunking from `seed`) and asserts they
/// agree; returns the rewrite count.
fn assert_same(
    what: &str,
    content_type: &str,
    hosts: &[&str],
    options: &RewriteOptions,
    input: &[u8],
    seed: u64,
) -> u64 {
    let mapper = Arc::new(EmbeddedMapper::new(PARTNER, hosts.iter().copied()));
    let oracle = run(
        HtmlEngine::LolHtml,
        content_type,
        &mapper,
        options,
        &random_chunks(input, seed),
    );
    let fast = run(
        HtmlEngine::Fast,
        content_type,
        &mapper,
        options,
        &random_chunks(input, seed.wrapping_mul(31).wrapping_add(7)),
    );
    assert!(
        fast.output == oracle.output,
        "{what}: engines differ (REWRITE_SEED={seed}): {}\ninput: {:?}",
        first_difference(&oracle.output, &fast.output),
        String::from_utf8_lossy(&input[..input.len().min(2000)]),
    );
    assert_eq!(
        fast.rewrites, oracle.rewrites,
        "{what} (REWRITE_SEED={seed})"
    );
    assert_eq!(fast.failure, oracle.failure, "{what} (REWRITE_SEED={seed})");
    fast.rewrites
}

#[test]
fn real_pages_give_the_same_bytes() {
    let dir = corpus_dir();
    let base_seed = seed();
    let mut total = 0;
    for (round, (path, content_type)) in pages(&dir).into_iter().enumerate() {
        let page = std::fs::read(&path).expect("readable page");
        let hosts = top_hosts(&page, 3);
        let hosts: Vec<&str> = hosts.iter().map(String::as_str).collect();
        total += assert_same(
            &path.display().to_string(),
            &content_type,
            &hosts,
            &RewriteOptions::default(),
            &page,
            base_seed.wrapping_add(round as u64),
        );
    }
    assert!(total > 100, "only {total} rewrites over the corpus");
}

/// Pieces of markup that move the tokenizer between its states, quirks included.
const PIECES: &[&str] = &[
    "<img src=\"http://img.xyz.com/a.png\">",
    "<img srcset='//img.xyz.com/b.png 1x, c.png 2x' src=//img.xyz.com/c>",
    "<IMG SRC = '//img.xyz.com/u' >",
    "<source src=http://img.xyz.com/s>",
    "<video poster=//img.xyz.com/p src=//img.xyz.com/v>",
    "<input type=image src=//img.xyz.com/i>",
    "<input type=text src=//img.xyz.com/i>",
    "<link rel=\"stylesheet\" href=//img.xyz.com/l.css>",
    "<link rel=canonical href=//img.xyz.com/l>",
    "<object data=//img.xyz.com/o>",
    "<iframe src=//img.xyz.com/f>",
    "<script src=//img.xyz.com/s.js>",
    "<style>",
    "</style>",
    "<style/>",
    "<style a=>",
    "a{background:url(http://img.xyz.com/s.png)}",
    "<p style=\"x:url(//img.xyz.com/p)\">",
    "<div style='background:url(//img.xyz.com/d)' class=x>",
    "<script>",
    "<script a=>",
    "</script>",
    "<script type=text/template>",
    "<!--",
    "-->",
    "--!>",
    "<!-->",
    "<!--->",
    "<!",
    "<!DOCTYPE html>",
    "<!doctype html PUBLIC \"a>b\">",
    "<?xml ?>",
    "</ x>",
    "</>",
    "</p a='>'>",
    "<base href=http://img.xyz.com/d/>",
    "<base href=http://other.example/>",
    "<img src=rel.png>",
    "<svg>",
    "</svg>",
    "<svg/>",
    "<math>",
    "</math>",
    "<mi>",
    "</mi>",
    "<foreignObject>",
    "</foreignObject>",
    "<desc/>",
    "<font color=red>",
    "<annotation-xml encoding=\"text/html\">",
    "</annotation-xml>",
    "<textarea>",
    "</textarea>",
    "<title>",
    "</title>",
    "<xmp>",
    "</xmp>",
    "<noscript>",
    "</noscript>",
    "<iframe>",
    "</iframe>",
    "<plaintext>",
    "<![CDATA[",
    "]]>",
    "]",
    "<select>",
    "</select>",
    "<template>",
    "</template>",
    "<frameset>",
    "<noframes>",
    "<meta charset=windows-1252>",
    "<meta http-equiv=content-type content='text/html; charset=utf-8'>",
    "<table><tr><td>",
    "<",
    ">",
    "</",
    "\"",
    "'",
    "=",
    "/",
    " ",
    "\n",
    "-",
    "&amp;",
    "é",
    "\u{0}",
    "\u{ff}",
    "<a href=//img.xyz.com/a>",
    "<img alt=\"<img src=//img.xyz.com/no>\">",
    "<br/>",
    "<p>",
    "</p>",
];

pub(crate) fn soup(rng: &mut StdRng, max_pieces: usize) -> Vec<u8> {
    let mut input = Vec::new();
    for _ in 0..rng.random_range(1..max_pieces) {
        input.extend_from_slice(PIECES[rng.random_range(0..PIECES.len())].as_bytes());
    }
    input
}

#[test]
fn random_tag_soup_gives_the_same_bytes() {
    let base_seed = seed();
    let mut total = 0;
    for round in 0..3000u64 {
        let seed = base_seed.wrapping_add(round);
        let mut rng = StdRng::seed_from_u64(seed);
        let input = soup(&mut rng, 40);
        let content_type = if rng.random_bool(0.2) {
            "text/html; charset=windows-1252"
        } else {
            "text/html"
        };
        total += assert_same(
            "soup",
            content_type,
            &["img.xyz.com"],
            &RewriteOptions::default(),
            &input,
            seed,
        );
    }
    assert!(total > 1000, "only {total} rewrites in the soup");
}

#[test]
fn mutated_real_pages_give_the_same_bytes() {
    let dir = corpus_dir();
    let pages = pages(&dir);
    let base_seed = seed();
    for round in 0..120u64 {
        let seed = base_seed.wrapping_add(round);
        let mut rng = StdRng::seed_from_u64(seed);
        let (path, content_type) = &pages[rng.random_range(0..pages.len())];
        let mut page = std::fs::read(path).expect("readable page");
        let hosts = top_hosts(&page, 3);
        // Splice soup into random places, and cut random bytes out.
        for _ in 0..rng.random_range(1..12) {
            let at = rng.random_range(0..=page.len());
            if rng.random_bool(0.5) {
                let piece = soup(&mut rng, 4);
                page.splice(at..at, piece);
            } else {
                let end = (at + rng.random_range(1..64)).min(page.len());
                page.drain(at..end);
            }
        }
        let hosts: Vec<&str> = hosts.iter().map(String::as_str).collect();
        assert_same(
            &path.display().to_string(),
            content_type,
            &hosts,
            &RewriteOptions::default(),
            &page,
            seed,
        );
    }
}

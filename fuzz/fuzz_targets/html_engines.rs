#![no_main]
//! The fast HTML engine against lol_html, the oracle (issue 16): on generated HTML, each
//! engine fed its own chunking, both give the same bytes and the same rewrite count, or
//! the fast engine declares the page ambiguous and passes it through unrewritten.
//!
//! Input: byte 0 picks the mode (even: the rest is HTML as it is; odd: the rest drives a
//! generator of markup built from the pieces rewriting and tokenizing turn on: offloaded
//! URLs in every attribute the rewriter reads, raw-text and foreign elements, comments,
//! CDATA, `<select>`, unfinished quotes); bytes 1 and 2 seed the two chunkings.

use std::sync::Arc;

use broker_proxy::rewrite::{
    ContentType, EmbeddedMapper, HtmlEngine, PageRewriter, RewriteError, RewriteOptions,
};
use libfuzzer_sys::fuzz_target;

const PIECES: &[&str] = &[
    "<img src=\"http://img.xyz.com/a.png\">",
    "<img srcset='//img.xyz.com/a 1x, http://img.xyz.com/b 2x'>",
    "<IMG SRC=//IMG.XYZ.COM/c>",
    "<source srcset=\"//img.xyz.com/s(1).png 100w,//img.xyz.com/t 2x\">",
    "<script src=//img.xyz.com/s.js></script>",
    "<link rel=stylesheet href=\"//img.xyz.com/x.css\">",
    "<link rel=\"preload icon\" href=//img.xyz.com/i>",
    "<a href=//img.xyz.com/not-embedded>",
    "<video poster=//img.xyz.com/p src=//img.xyz.com/v>",
    "<input type=image src=//img.xyz.com/in>",
    "<object data=//img.xyz.com/o>",
    "<base href=\"http://img.xyz.com/dir/\">",
    "<div style=\"background:url(//img.xyz.com/bg)\">",
    "<style>a{background:url('//img.xyz.com/st')}@import \"//img.xyz.com/imp.css\";</style>",
    "<style>",
    "</style>",
    "<script>",
    "</script>",
    "<script>var s='<script>';</script>",
    "<!--",
    "-->",
    "<!-- <img src=//img.xyz.com/c> -->",
    "<!DOCTYPE html>",
    "<![CDATA[ x ]]>",
    "<svg>",
    "</svg>",
    "<math>",
    "</math>",
    "<foreignObject>",
    "<select>",
    "</select>",
    "<template>",
    "<textarea>",
    "</textarea>",
    "<title>",
    "</title>",
    "<plaintext>",
    "<frameset>",
    "<noscript>",
    "<xmp>",
    "<iframe src=//img.xyz.com/f>",
    "<meta charset=windows-1252>",
    "<meta http-equiv=content-type content=\"text/html; charset=utf-8\">",
    "<p>",
    "</p>",
    "<br/>",
    "text ",
    "&amp;",
    "é",
    "\u{0130}",
    "<",
    ">",
    "/",
    "\"",
    "'",
    "=",
    " ",
    "\n",
    "<img src=",
    "//img.xyz.com/u",
    " srcset=",
    "<img ",
    "a=b ",
    "<!",
    "</",
    "%2E",
];

/// Markup from `data`: each byte picks a piece.
fn generate(data: &[u8]) -> Vec<u8> {
    let mut html = Vec::new();
    for &b in data {
        html.extend_from_slice(PIECES[usize::from(b) % PIECES.len()].as_bytes());
    }
    html
}

/// `input` in pieces of sizes drawn from a small generator seeded by `seed`.
fn chunks(input: &[u8], seed: u8) -> Vec<&[u8]> {
    let mut state = u32::from(seed).wrapping_mul(2_654_435_761) | 1;
    let max = [1usize, 3, 7, 64, 1024][usize::from(seed) % 5];
    let mut out = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let n = (state as usize % max + 1).min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        out.push(chunk);
        rest = tail;
    }
    out
}

struct Run {
    output: Vec<u8>,
    rewrites: u64,
    failure: Option<RewriteError>,
}

fn run(engine: HtmlEngine, mapper: &Arc<EmbeddedMapper>, pieces: &[&[u8]]) -> Run {
    let mut rewriter = PageRewriter::with_engine(
        ContentType::parse("text/html"),
        Arc::clone(mapper),
        RewriteOptions::default(),
        engine,
    );
    let mut output = Vec::new();
    for piece in pieces {
        output.extend_from_slice(&rewriter.write(piece));
    }
    output.extend_from_slice(&rewriter.finish());
    Run {
        output,
        rewrites: rewriter.rewritten_urls(),
        failure: rewriter.failure(),
    }
}

fuzz_target!(|data: &[u8]| {
    let [mode, seed_a, seed_b, rest @ ..] = data else {
        return;
    };
    let html = if mode % 2 == 0 { rest.to_vec() } else { generate(rest) };
    let mapper = Arc::new(EmbeddedMapper::new("foo.cdn-g.example", ["img.xyz.com"]));
    let oracle = run(HtmlEngine::LolHtml, &mapper, &chunks(&html, *seed_a));
    let fast = run(HtmlEngine::Fast, &mapper, &chunks(&html, *seed_b));
    let passed_through = fast.failure == Some(RewriteError::AmbiguousMarkup) && fast.output == html;
    if passed_through {
        return;
    }
    assert!(
        fast.output == oracle.output,
        "engines differ\ninput:  {:?}\nlol:    {:?}\nfast:   {:?}",
        String::from_utf8_lossy(&html),
        String::from_utf8_lossy(&oracle.output),
        String::from_utf8_lossy(&fast.output),
    );
    assert_eq!(fast.rewrites, oracle.rewrites, "rewrite counts");
    assert_eq!(fast.failure, oracle.failure, "failures");
});

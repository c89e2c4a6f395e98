//! Broken, ambiguous and hostile input: never a panic, never a changed byte outside the
//! rewritten URLs.

use broker_proxy::rewrite::{RewriteError, RewriteOptions};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::harness::{
    PARTNER, first_difference, random_chunks, rewrite_chunks, rewrite_with, seed,
};
use broker_proxy::rewrite::EmbeddedMapper;

const HOST: &[&str] = &["img.xyz.com"];

fn map_back(output: &[u8]) -> Vec<u8> {
    let from = format!("//{PARTNER}/img.xyz.com/");
    let text = unsafe_latin1(output).replace(&from, "//img.xyz.com/");
    text.chars().map(|c| c as u8).collect()
}

/// Bytes as Latin-1 chars, so that any byte string round-trips through `str::replace`.
fn unsafe_latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

#[test]
fn ambiguous_markup_stops_rewriting_and_passes_the_rest_unchanged() {
    let input = "<img src=http://img.xyz.com/before.png><select><xmp><script>\"use strict\";</script></select>\
                 <img src=http://img.xyz.com/after.png>";
    let out = rewrite_with(
        "text/html",
        HOST,
        RewriteOptions::default(),
        input.as_bytes(),
    );
    assert_eq!(out.failure, Some(RewriteError::AmbiguousMarkup));
    let expected = input.replacen("//img.xyz.com/", "//foo.cdn-g.example/img.xyz.com/", 1);
    assert_eq!(
        String::from_utf8(out.output).unwrap(),
        expected,
        "REWRITE_SEED={}",
        out.seed
    );
    assert_eq!(out.rewrites, 1);
}

#[test]
fn truncated_and_invalid_markup_passes_as_is() {
    let cases: [&[u8]; 6] = [
        b"<img src=\"http://img.xyz.com/a.png",
        b"<img src=\"http://img.xyz.com/\xff.png\">",
        b"<<img/src=http://img.xyz.com<a.png>",
        b"</img src=\"http://img.xyz.com/a.png\">",
        b"<!-- <img src=\"http://img.xyz.com/a.png\">",
        b"\0\0<img\0src=\"http://img.xyz.com/a.png\">",
    ];
    for input in cases {
        let out = rewrite_with(
            "text/html; charset=utf-8",
            HOST,
            RewriteOptions::default(),
            input,
        );
        assert!(
            out.output == input,
            "{:?} -> {:?}",
            unsafe_latin1(input),
            unsafe_latin1(&out.output)
        );
    }
}

#[test]
fn a_tag_beyond_the_parser_memory_limit_passes_through() {
    let long = "x".repeat(100_000);
    let input = format!(
        "<img src=http://img.xyz.com/1.png><img alt=\"{long}\" src=http://img.xyz.com/2.png><p>end"
    );
    let options = RewriteOptions {
        max_parser_memory: 16 * 1024,
        ..RewriteOptions::default()
    };
    // Whether the limit trips depends on how the tag is split across chunks: either way the
    // output must be the input with offloaded URLs rewritten, and nothing lost.
    let seed = seed();
    for chunk_size in [None, Some(1000)] {
        let chunks = match chunk_size {
            Some(n) => input.as_bytes().chunks(n).collect(),
            None => random_chunks(input.as_bytes(), seed),
        };
        let mapper = EmbeddedMapper::new(PARTNER, HOST.iter().copied());
        let out = rewrite_chunks("text/html", mapper, options.clone(), &chunks, seed);
        let back = map_back(&out.output);
        assert!(
            back == input.as_bytes(),
            "REWRITE_SEED={seed}: {}",
            first_difference(input.as_bytes(), &back)
        );
        if chunk_size.is_some() {
            // 1000-byte chunks cut the 100 kB tag: the parser must buffer it and give up.
            assert_eq!(out.failure, Some(RewriteError::MemoryLimit));
            assert_eq!(out.rewrites, 1);
        } else if out.failure.is_some() {
            assert_eq!(out.failure, Some(RewriteError::MemoryLimit));
        }
    }
}

#[test]
fn random_tag_soup_maps_back_exactly() {
    const PIECES: &[&str] = &[
        "<img src=\"http://img.xyz.com/a.png\">",
        "<img srcset='//img.xyz.com/b.png 1x, c.png 2x'>",
        "<style>",
        "</style>",
        "a{background:url(http://img.xyz.com/s.png)}",
        "<p style=\"x:url(//img.xyz.com/p)\">",
        "<script>",
        "</script>",
        "<!--",
        "-->",
        "<base href=http://img.xyz.com/d/>",
        "<img src=rel.png>",
        "<svg>",
        "</svg>",
        "<textarea>",
        "</textarea>",
        "<",
        ">",
        "\"",
        "'",
        "=",
        " ",
        "\n",
        "&amp;",
        "é",
        "\u{0}",
        "<![CDATA[",
        "]]>",
        "<title>",
        "</title>",
        "<iframe src=//img.xyz.com/f>",
        "<link rel=icon href=//img.xyz.com/i>",
        "<table><tr><td>",
        "<select>",
        "<math>",
        "<template>",
        "</template>",
    ];
    let base_seed = seed();
    for round in 0..200u64 {
        let mut rng = StdRng::seed_from_u64(base_seed.wrapping_add(round));
        let mut input = String::new();
        for _ in 0..rng.random_range(1..60usize) {
            input.push_str(PIECES[rng.random_range(0..PIECES.len())]);
        }
        let out = rewrite_with(
            "text/html",
            HOST,
            RewriteOptions::default(),
            input.as_bytes(),
        );
        let without_base = !input.contains("<base");
        // With a base on img.xyz.com, relative URLs become absolute: no longer an inverse.
        if without_base {
            assert!(
                map_back(&out.output) == input.as_bytes(),
                "seed {}: {input:?} -> {:?}",
                base_seed.wrapping_add(round),
                String::from_utf8_lossy(&out.output)
            );
        }
    }
}

//! `text/css` responses, streamed.

use broker_proxy::rewrite::RewriteOptions;

use crate::harness::rewrite_with;

const HOST: &[&str] = &["img.xyz.com", "fonts.xyz.com"];

fn offload(css: &str) -> String {
    css.replace("//img.xyz.com/", "//foo.cdn-g.example/img.xyz.com/")
        .replace("//fonts.xyz.com/", "//foo.cdn-g.example/fonts.xyz.com/")
}

#[test]
fn stylesheet_urls_and_imports_are_rewritten() {
    let css = "@charset \"utf-8\";\n@import url(\"http://img.xyz.com/base.css\") screen;\n\
               @import '//fonts.xyz.com/f.css';\n\
               @font-face{font-family:X;src:url(https://fonts.xyz.com/x.woff2) format(\"woff2\"),url(/x.woff)}\n\
               .hero{background:#000 URL( http://img.xyz.com/hero.jpg ) no-repeat}\n\
               .c:before{content:\"url(http://img.xyz.com/not-a-url.png)\"}\n\
               /* .old{background:url(http://img.xyz.com/old.png)} */\n\
               .other{background:url(http://other.example/o.png)}";
    let out = rewrite_with("text/css", HOST, RewriteOptions::default(), css.as_bytes());
    let expected = offload(css)
        .replace(
            "foo.cdn-g.example/img.xyz.com/not-a-url",
            "img.xyz.com/not-a-url",
        )
        .replace("foo.cdn-g.example/img.xyz.com/old", "img.xyz.com/old");
    assert_eq!(
        String::from_utf8(out.output).unwrap(),
        expected,
        "REWRITE_SEED={}",
        out.seed
    );
    assert_eq!(out.rewrites, 4);
}

#[test]
fn a_huge_data_url_streams_through_and_later_urls_are_still_rewritten() {
    let data = "A".repeat(200_000);
    let css = format!(
        "@font-face{{src:url(data:font/woff2;base64,{data})}} .a{{background:url('data:image/png;base64,{data}')}}\
         .b{{background:url(http://img.xyz.com/b.png)}}"
    );
    let options = RewriteOptions {
        max_held_bytes: 4096,
        ..RewriteOptions::default()
    };
    let out = rewrite_with("text/css", HOST, options, css.as_bytes());
    assert!(
        out.output == offload(&css).into_bytes(),
        "REWRITE_SEED={}",
        out.seed
    );
    assert_eq!(out.rewrites, 1);
}

#[test]
fn an_unterminated_url_at_the_end_passes_as_is() {
    let css = ".a{background:url(http://img.xyz.com/a.png";
    let out = rewrite_with("text/css", HOST, RewriteOptions::default(), css.as_bytes());
    assert_eq!(out.output, css.as_bytes());
}

#[test]
fn random_css_soup_maps_back_exactly() {
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    const PIECES: &[&str] = &[
        "url(",
        ")",
        "url(http://img.xyz.com/a.png)",
        "url( '//fonts.xyz.com/f.woff' )",
        "@import ",
        "@import",
        "\"http://img.xyz.com/i.css\"",
        "'",
        "\"",
        "/*",
        "*/",
        "\\",
        "\n",
        " ",
        ";",
        "{",
        "}",
        "a",
        "u",
        "rl",
        "(",
        "@",
        "http://img.xyz.com/x",
        "é",
        "data:",
        "URL(",
        "\\)",
    ];
    let base_seed = crate::harness::seed();
    for round in 0..300u64 {
        let seed = base_seed.wrapping_add(round);
        let mut rng = StdRng::seed_from_u64(seed);
        let mut css = String::new();
        for _ in 0..rng.random_range(1..40usize) {
            css.push_str(PIECES[rng.random_range(0..PIECES.len())]);
        }
        let out = rewrite_with("text/css", HOST, RewriteOptions::default(), css.as_bytes());
        let back = String::from_utf8(out.output)
            .expect("utf-8 in, utf-8 out")
            .replace("//foo.cdn-g.example/", "//");
        assert_eq!(back, css, "seed {seed}");
    }
}

//! Which URLs are rewritten in HTML, and that nothing else changes.

use broker_proxy::rewrite::RewriteOptions;
use url::Url;

use crate::harness::{rewrite_html, rewrite_with};

const HOST: &[&str] = &["img.xyz.com"];

fn offloaded(path: &str) -> String {
    format!("foo.cdn-g.example/img.xyz.com{path}")
}

#[test]
fn every_embedding_attribute_is_rewritten() {
    let cases = [
        r#"<img src="http://img.xyz.com/a.gif">"#,
        r#"<source src="http://img.xyz.com/a.gif">"#,
        r#"<script src="http://img.xyz.com/a.gif"></script>"#,
        r#"<video src="http://img.xyz.com/a.gif"></video>"#,
        r#"<video poster="http://img.xyz.com/a.gif"></video>"#,
        r#"<audio src="http://img.xyz.com/a.gif"></audio>"#,
        r#"<video><track src="http://img.xyz.com/a.gif"></video>"#,
        r#"<embed src="http://img.xyz.com/a.gif">"#,
        r#"<input type="IMAGE" src="http://img.xyz.com/a.gif">"#,
        r#"<iframe src="http://img.xyz.com/a.gif"></iframe>"#,
        r#"<link rel="stylesheet" href="http://img.xyz.com/a.gif">"#,
        r#"<link rel="preload" as="image" href="http://img.xyz.com/a.gif">"#,
        r#"<link rel="prefetch" href="http://img.xyz.com/a.gif">"#,
        r#"<link rel="shortcut icon" href="http://img.xyz.com/a.gif">"#,
        r#"<link rel="modulepreload" href="http://img.xyz.com/a.gif">"#,
        r#"<link rel="alternate stylesheet" href="http://img.xyz.com/a.gif">"#,
        r#"<object data="http://img.xyz.com/a.gif"></object>"#,
        r#"<div style="background:url(http://img.xyz.com/a.gif)"></div>"#,
    ];
    for case in cases {
        let expected = case.replace("img.xyz.com/a.gif", &offloaded("/a.gif"));
        assert_eq!(rewrite_html(case, HOST), expected, "{case}");
    }
}

#[test]
fn non_embedding_urls_and_other_hosts_stay() {
    let cases = [
        r#"<a href="http://img.xyz.com/a.gif">x</a>"#,
        r#"<link rel="canonical" href="http://img.xyz.com/a.gif">"#,
        r#"<link rel="alternate" href="http://img.xyz.com/a.gif">"#,
        r#"<input type="text" src="http://img.xyz.com/a.gif">"#,
        r#"<form action="http://img.xyz.com/a.gif"></form>"#,
        r#"<img data-src="http://img.xyz.com/a.gif" alt="http://img.xyz.com/a.gif">"#,
        r#"<img src="http://img.xyz.com.evil.example/a.gif">"#,
        r#"<img src="http://other.example/img.xyz.com/a.gif">"#,
        r#"<img src="/a.gif"><img src="a.gif">"#,
        r#"<p>http://img.xyz.com/a.gif</p><!-- <img src="http://img.xyz.com/a.gif"> -->"#,
        r#"<script>var u = "<img src='http://img.xyz.com/a.gif'>";</script>"#,
        r#"<textarea><img src="http://img.xyz.com/a.gif"></textarea>"#,
        r#"<noscript><img src="http://img.xyz.com/a.gif"></noscript>"#,
    ];
    // `<noscript>` is raw text with scripting on (lol_html, and browsers running scripts,
    // which then never fetch its images).
    for case in cases {
        assert_eq!(rewrite_html(case, HOST), case, "{case}");
    }
}

#[test]
fn forms_quotes_and_whitespace_are_kept_exactly() {
    let input = "<IMG\n  alt='x'   SRC = '\t//img.xyz.com/a.gif?x=1&amp;y=2#f '  \nclass=c\n/>\
                 <img src=https://img.xyz.com:443/b.gif><img src=\"HTTP://IMG.XYZ.COM/c.gif\">";
    let expected = format!(
        "<IMG\n  alt='x'   SRC = '\t//{}?x=1&amp;y=2#f '  \nclass=c\n/>\
         <img src=https://img.xyz.com:443/b.gif><img src=\"HTTP://foo.cdn-g.example/IMG.XYZ.COM/c.gif\">",
        offloaded("/a.gif")
    );
    // The stand-in mapper matches authorities exactly, so `:443` stays (folding default
    // ports is origin-map's business).
    assert_eq!(rewrite_html(input, HOST), expected);
}

#[test]
fn only_the_first_of_duplicate_attributes_counts() {
    let input = r#"<img src="http://img.xyz.com/1.gif" src="http://img.xyz.com/2.gif">"#;
    let expected = format!(
        r#"<img src="http://{}" src="http://img.xyz.com/2.gif">"#,
        offloaded("/1.gif")
    );
    assert_eq!(rewrite_html(input, HOST), expected);
}

#[test]
fn every_srcset_candidate_is_rewritten() {
    let input = "<picture><source srcset=\"http://img.xyz.com/a.webp 1x,\n //img.xyz.com/b,c.webp 2x, \
                 http://other.example/d.webp 3x\"><img srcset='http://img.xyz.com/e.jpg 300w, /f.jpg 600w' \
                 src=http://img.xyz.com/g.jpg sizes=\"(max-width: 600px) 300px, 600px\"></picture>";
    let expected = format!(
        "<picture><source srcset=\"http://{} 1x,\n //{} 2x, \
         http://other.example/d.webp 3x\"><img srcset='http://{} 300w, /f.jpg 600w' \
         src=http://{} sizes=\"(max-width: 600px) 300px, 600px\"></picture>",
        offloaded("/a.webp"),
        offloaded("/b,c.webp"),
        offloaded("/e.jpg"),
        offloaded("/g.jpg"),
    );
    let out = rewrite_with(
        "text/html",
        HOST,
        RewriteOptions::default(),
        input.as_bytes(),
    );
    assert_eq!(String::from_utf8(out.output).unwrap(), expected);
    assert_eq!(out.rewrites, 4);
}

#[test]
fn style_elements_and_attributes_are_rewritten_across_chunks() {
    let input = "<style media=screen>@import 'http://img.xyz.com/s.css';\n\
                 .a{background:url( \"//img.xyz.com/a.png\" )} /* url(http://img.xyz.com/c.png) */\n\
                 .b{background-image:URL(http://img.xyz.com/b.png)}</style>\
                 <p style='background:url(http://img.xyz.com/p.png);color:red'>url(http://img.xyz.com/t.png)</p>\
                 <svg><style>.s{fill:url(http://img.xyz.com/svg.png)}</style></svg>";
    let expected = input
        .replace(
            "http://img.xyz.com/s.css",
            &format!("http://{}", offloaded("/s.css")),
        )
        .replace("//img.xyz.com/a.png", &format!("//{}", offloaded("/a.png")))
        .replace(
            "http://img.xyz.com/b.png",
            &format!("http://{}", offloaded("/b.png")),
        )
        .replace(
            "http://img.xyz.com/p.png",
            &format!("http://{}", offloaded("/p.png")),
        );
    // Text, comments and SVG `<style>` (markup, not raw text, in foreign content) stay.
    assert_eq!(rewrite_html(input, HOST), expected);
}

#[test]
fn a_style_element_larger_than_the_hold_limit_passes_unchanged() {
    let filler = "a{}".repeat(200);
    let input = format!(
        "<style>{filler}b{{background:url(http://img.xyz.com/b.png)}}</style><img src=http://img.xyz.com/i.png>"
    );
    let options = RewriteOptions {
        max_held_bytes: 100,
        ..RewriteOptions::default()
    };
    let out = rewrite_with("text/html", HOST, options, input.as_bytes());
    let expected = input.replace(
        "http://img.xyz.com/i.png",
        &format!("http://{}", offloaded("/i.png")),
    );
    assert_eq!(String::from_utf8(out.output).unwrap(), expected);
    assert_eq!(out.rewrites, 1);
}

#[test]
fn relative_urls_under_an_offloaded_base_are_offloaded() {
    let input = "<head><base href=\"http://img.xyz.com/dir/\"><base href=\"http://other.example/\"></head>\
                 <img src=\"a.png\" srcset=\"b.png 2x, /c.png 3x\"><a href=\"page.html\">x</a>\
                 <div style=\"background:url(d.png)\"></div><img src=\"data:image/gif;base64,R0lG\">\
                 <img src=\"#x\"><img src=\"\">";
    let expected = format!(
        "<head><base href=\"http://img.xyz.com/dir/\"><base href=\"http://other.example/\"></head>\
         <img src=\"http://{}\" srcset=\"http://{} 2x, http://{} 3x\"><a href=\"page.html\">x</a>\
         <div style=\"background:url(http://{})\"></div><img src=\"data:image/gif;base64,R0lG\">\
         <img src=\"#x\"><img src=\"\">",
        offloaded("/dir/a.png"),
        offloaded("/dir/b.png"),
        offloaded("/c.png"),
        offloaded("/dir/d.png"),
    );
    assert_eq!(rewrite_html(input, HOST), expected);
}

#[test]
fn relative_base_resolves_against_the_document_url() {
    let input =
        r#"<base href="//img.xyz.com/s/"><img src="a.png"><img src="http://img.xyz.com/b.png">"#;
    let options = RewriteOptions {
        document_url: Url::parse("https://www.xyz.com/index.html").ok(),
        https_page: true,
        ..RewriteOptions::default()
    };
    let out = rewrite_with("text/html", HOST, options, input.as_bytes());
    // On an https page, http partner URLs become https ones (spec §5: no mixed content).
    let expected = format!(
        r#"<base href="//img.xyz.com/s/"><img src="https://{}"><img src="https://{}">"#,
        offloaded("/s/a.png"),
        offloaded("/b.png")
    );
    assert_eq!(String::from_utf8(out.output).unwrap(), expected);
}

#[test]
fn non_html_bodies_pass_through() {
    let input = br#"<img src="http://img.xyz.com/a.gif">"#;
    for content_type in [
        "application/json",
        "image/svg+xml",
        "text/plain",
        "text/html; charset=utf-16le",
    ] {
        let out = rewrite_with(content_type, HOST, RewriteOptions::default(), input);
        assert_eq!(out.output, input, "{content_type}");
        assert_eq!(out.rewrites, 0);
    }
}

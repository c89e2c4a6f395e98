//! Pages in legacy encodings: the charset comes from the header or from `<meta>`, and
//! rewritten values are written back in it.

use broker_proxy::rewrite::RewriteOptions;
use encoding_rs::{Encoding, SHIFT_JIS, WINDOWS_1252};

use crate::harness::rewrite_with;

fn encode(text: &str, encoding: &'static Encoding) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding.encode(text);
    assert!(!unmappable, "test text must be encodable");
    bytes.into_owned()
}

fn check(content_type: &str, page: &str, encoding: &'static Encoding, rewrites: u64) {
    let input = encode(page, encoding);
    let out = rewrite_with(
        content_type,
        &["img.xyz.com"],
        RewriteOptions::default(),
        &input,
    );
    let expected = encode(
        &page.replace("//img.xyz.com/", "//foo.cdn-g.example/img.xyz.com/"),
        encoding,
    );
    assert_eq!(out.failure, None);
    assert!(
        out.output == expected,
        "{content_type} (REWRITE_SEED={}):\n{}",
        out.seed,
        encoding.decode(&out.output).0
    );
    assert_eq!(out.rewrites, rewrites);
}

/// "表" is 0x95 0x5C in Shift_JIS: its second byte is a backslash, which a byte-level CSS
/// scanner would take for an escape and so miss the end of the string.
const SJIS_BODY: &str = "<title>日本語のページ</title></head><body><p>画像です：表示</p>\
    <style>.a:after{content:\"表\"}.b{background:url(http://img.xyz.com/表/b.png)}</style>\
    <img alt=\"表\" src=\"http://img.xyz.com/画像/表.png\" srcset=\"//img.xyz.com/表2.png 2x\">\
    <p style=\"background:url('http://img.xyz.com/ソ.png')\">ソ</p></body></html>";

#[test]
fn shift_jis_from_meta() {
    let page = format!("<html><head><meta charset=\"Shift_JIS\">{SJIS_BODY}");
    check("text/html", &page, SHIFT_JIS, 4);
}

#[test]
fn shift_jis_from_header() {
    let page = format!("<html><head>{SJIS_BODY}");
    check("text/html; charset=shift_jis", &page, SHIFT_JIS, 4);
}

#[test]
fn windows_1252_from_http_equiv_meta() {
    let page = "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1252\">\
                <title>Café crème</title></head><body><p>Déjà vu — «naïve»</p>\
                <img src=\"http://img.xyz.com/café.png\" alt=\"é\"><video poster='//img.xyz.com/ç.jpg'></video>\
                <style>p{background:url(http://img.xyz.com/ü.png)}</style></body></html>";
    check("text/html", page, WINDOWS_1252, 3);
}

#[test]
fn windows_1252_from_header_with_a_conflicting_meta() {
    // The header wins over `<meta>`, as in browsers.
    let page = "<meta charset=utf-8><p>Ça</p><img src=\"http://img.xyz.com/façade.png\">";
    check("text/html; charset=ISO-8859-1", page, WINDOWS_1252, 1);
}

#[test]
fn shift_jis_css_passes_through_and_windows_1252_css_is_rewritten() {
    let css = "a:after{content:\"表\"} b{background:url(http://img.xyz.com/b.png)}";
    let input = encode(css, SHIFT_JIS);
    let out = rewrite_with(
        "text/css; charset=Shift_JIS",
        &["img.xyz.com"],
        RewriteOptions::default(),
        &input,
    );
    assert_eq!(out.output, input);

    let css = "a:after{content:\"é\"} b{background:url(http://img.xyz.com/é.png)}";
    check("text/css; charset=windows-1252", css, WINDOWS_1252, 1);
}

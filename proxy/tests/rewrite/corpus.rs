//! Real pages (`data/html` of the repository, see `data/README.md` for sources and licences; the pages
//! are test inputs only): rewrite with their own most used hosts offloaded, map the
//! partner URLs back, and compare bytes with the original.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use broker_proxy::rewrite::RewriteOptions;

use crate::harness::{PARTNER, first_difference, rewrite_with};

/// The corpus folder; a test whose data is missing fails naming it, never passes empty.
pub(crate) fn corpus_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/html");
    assert!(
        dir.is_dir(),
        "{} is missing (the repository's test data)",
        dir.display()
    );
    dir
}

/// The pages with the content type to serve them with (charset of the chardet pages from
/// their file names, as the data README says).
pub(crate) fn pages(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut pages: Vec<(PathBuf, String)> = Vec::new();
    for sub in [dir.to_path_buf(), dir.join("encodings")] {
        let Ok(entries) = std::fs::read_dir(&sub) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "html") {
                let name = path
                    .file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                let content_type = match name.strip_prefix("chardet__") {
                    Some(charset) => format!("text/html; charset={charset}"),
                    None => "text/html".to_owned(),
                };
                pages.push((path, content_type));
            }
        }
    }
    pages.sort();
    pages
}

/// Hosts of URLs written after `src=`, `srcset=`, `href=`, `poster=`, `data=` or `url(`,
/// most used first: offloading them exercises both rewritten and kept URLs.
pub(crate) fn top_hosts(page: &[u8], n: usize) -> Vec<String> {
    let text = String::from_utf8_lossy(page).to_ascii_lowercase();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for marker in ["src=", "srcset=", "href=", "poster=", "data=", "url("] {
        for (at, _) in text.match_indices(marker) {
            let rest = text[at + marker.len()..].trim_start_matches(['"', '\'', ' ']);
            let rest = rest
                .strip_prefix("https:")
                .or_else(|| rest.strip_prefix("http:"))
                .unwrap_or(rest);
            let Some(rest) = rest.strip_prefix("//") else {
                continue;
            };
            let host = &rest[..rest
                .find(['/', '"', '\'', ' ', '>', '?', '#', ')', '\\'])
                .unwrap_or(rest.len())];
            if !host.is_empty() && !host.contains('@') {
                *counts.entry(host).or_default() += 1;
            }
        }
    }
    let mut hosts: Vec<(&str, usize)> = counts.into_iter().collect();
    hosts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    hosts
        .into_iter()
        .take(n)
        .map(|(h, _)| h.to_owned())
        .collect()
}

/// Replaces every partner URL `//PARTNER/<host>` by the origin URL `//<host>` it came
/// from, keeping the page's own spelling of the host (it may be in capitals).
fn map_back(output: &[u8], hosts: &[String]) -> Vec<u8> {
    let prefix = format!("//{PARTNER}/");
    let mut out = Vec::with_capacity(output.len());
    let mut i = 0;
    while i < output.len() {
        let rest = &output[i..];
        let host_len = rest.starts_with(prefix.as_bytes()).then(|| {
            let after = &rest[prefix.len()..];
            hosts.iter().map(String::len).find(|&n| {
                after.len() >= n
                    && hosts
                        .iter()
                        .any(|h| after[..n].eq_ignore_ascii_case(h.as_bytes()))
            })
        });
        if let Some(Some(n)) = host_len {
            out.extend_from_slice(b"//");
            out.extend_from_slice(&rest[prefix.len()..prefix.len() + n]);
            i += prefix.len() + n;
        } else {
            out.push(output[i]);
            i += 1;
        }
    }
    out
}

/// Elements whose attributes may hold a rewritten URL; any element with a `style`
/// attribute may, too.
const EMBEDDING_TAGS: &[&str] = &[
    "img", "source", "script", "video", "audio", "track", "embed", "input", "iframe", "link",
    "object", "style",
];

/// Checks, independently of the rewriter, that every partner URL sits in an embedding
/// context: inside the start tag of an embedding element, a `style` attribute, or the text
/// of a `<style>` element.
fn assert_rewrites_in_embedding_contexts(output: &[u8], page: &str) {
    let text = String::from_utf8_lossy(output).to_ascii_lowercase();
    for (at, _) in text.match_indices(&format!("//{PARTNER}/")) {
        let before = &text[..at];
        let tag_start = before.rfind('<').unwrap_or(0);
        let tag: String = before[tag_start + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let in_style_attr = before[tag_start..].contains("style=");
        let in_style_text = before
            .rfind("<style")
            .is_some_and(|o| before.rfind("</style").is_none_or(|c| c < o));
        assert!(
            EMBEDDING_TAGS.contains(&tag.as_str()) || in_style_attr || in_style_text,
            "{page}: partner URL inside <{tag}>: {}",
            &text[tag_start..(at + 80).min(text.len())]
        );
    }
}

/// Lower bound of the rewrites: `<img ... src="(http:)//HOST` in the input, outside
/// `<noscript>` (raw text when scripts run).
fn img_src_count(page: &[u8], hosts: &[String]) -> u64 {
    let text = String::from_utf8_lossy(page).to_ascii_lowercase();
    let mut count = 0;
    for (at, _) in text.match_indices("<img") {
        let before = &text[..at];
        if before
            .rfind("<noscript")
            .is_some_and(|o| before.rfind("</noscript").is_none_or(|c| c < o))
        {
            continue;
        }
        let tag = &text[at..at + text[at..].find('>').unwrap_or(text.len() - at)];
        let Some(src) = tag.find(" src=") else {
            continue;
        };
        let value = tag[src + 5..].trim_start_matches(['"', '\'']);
        let value = value
            .strip_prefix("https:")
            .or_else(|| value.strip_prefix("http:"))
            .unwrap_or(value);
        if hosts.iter().any(|h| value.starts_with(&format!("//{h}/"))) {
            count += 1;
        }
    }
    count
}

#[test]
fn real_pages_map_back_byte_for_byte() {
    let dir = corpus_dir();
    let pages = pages(&dir);
    assert!(
        pages.len() >= 15,
        "expected the whole corpus, found {}",
        pages.len()
    );
    let mut total_rewrites = 0;
    for (path, content_type) in pages {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let page = std::fs::read(&path).expect("readable page");
        assert!(!page.windows(PARTNER.len()).any(|w| w == PARTNER.as_bytes()));
        let hosts = top_hosts(&page, 3);
        let host_refs: Vec<&str> = hosts.iter().map(String::as_str).collect();
        let out = rewrite_with(&content_type, &host_refs, RewriteOptions::default(), &page);
        assert_eq!(out.failure, None, "{name}");
        let back = map_back(&out.output, &hosts);
        assert!(
            back == page,
            "{name}: output differs from the page once mapped back (REWRITE_SEED={}): {}",
            out.seed,
            first_difference(&page, &back)
        );
        assert_rewrites_in_embedding_contexts(&out.output, &name);
        let partner_urls = out
            .output
            .windows(PARTNER.len() + 2)
            .filter(|w| w[2..] == *PARTNER.as_bytes() && &w[..2] == b"//")
            .count();
        assert_eq!(partner_urls as u64, out.rewrites, "{name}");
        let lower_bound = img_src_count(&page, &hosts);
        assert!(
            out.rewrites >= lower_bound,
            "{name}: {} rewrites, {lower_bound} img src",
            out.rewrites
        );
        println!("{name}: hosts {hosts:?}: {} URLs rewritten", out.rewrites);
        total_rewrites += out.rewrites;
    }
    assert!(
        total_rewrites > 100,
        "only {total_rewrites} rewrites over the corpus"
    );
}

//! The rewriter alone on the bench page of `bench/proxy` (see `benches/bench_page.rs`).
//!
//! ```text
//! rewrite_bench page OUT.html         write the bench page; print its size and URL count
//! rewrite_bench throughput [SECONDS [CASE]]  MB/s of each engine, and of replaying the
//!                                           recorded plan, on one thread, 16 KiB chunks
//!                                           (CASE: a prefix of the case names)
//! ```
//!
//! Pin it to one core (`taskset -c 1`) to read the figures as "per core".

#[path = "../benches/bench_page.rs"]
mod bench_page;

use std::sync::Arc;
use std::time::{Duration, Instant};

use broker_proxy::rewrite::{
    EmbeddedMapper, HtmlEngine, PageRewriter, Replay, RewriteOptions, RewritePlan,
};
use bytes::Bytes;

/// What one case of `throughput` runs.
enum Case<'a> {
    /// A rewrite by this engine.
    Rewrite(&'a Arc<EmbeddedMapper>, HtmlEngine),
    /// The replay of a recorded plan (the front proxy's path for a page seen before).
    Replay(&'a Arc<RewritePlan>),
}

/// The plan the fast engine records on `page`.
fn record(page: &[u8], mapper: &Arc<EmbeddedMapper>) -> Option<RewritePlan> {
    let mut rewriter = PageRewriter::new(
        "text/html; charset=utf-8",
        Arc::clone(mapper),
        RewriteOptions::default(),
    );
    rewriter.record_plan(64 << 20);
    for piece in page.chunks(16 * 1024) {
        rewriter.write(piece);
    }
    rewriter.finish();
    rewriter.take_plan()
}

/// Replays `plan` on `chunks`: the output length.
fn replay(chunks: &[Bytes], plan: &Arc<RewritePlan>) -> usize {
    let mut replay = Replay::new(Arc::clone(plan));
    let mut len = 0;
    for chunk in chunks {
        len += replay.write(chunk.clone()).len();
    }
    len + replay.finish().len()
}

/// The page as the proxy serves it, rewritten by `engine` in `chunk`-byte pieces.
fn rewrite(
    page: &[u8],
    mapper: &Arc<EmbeddedMapper>,
    engine: HtmlEngine,
    chunk: usize,
) -> (usize, u64) {
    bench_page::rewrite_in_chunks(page, "text/html; charset=utf-8", mapper, engine, chunk)
}

/// Runs `case` on `page` over and over for `seconds`; returns MB/s of input.
fn throughput(page: &[u8], case: &Case<'_>, seconds: f64) -> f64 {
    let whole = Bytes::copy_from_slice(page);
    let chunks: Vec<Bytes> = (0..page.len())
        .step_by(16 * 1024)
        .map(|at| whole.slice(at..(at + 16 * 1024).min(page.len())))
        .collect();
    let start = Instant::now();
    let mut bytes = 0usize;
    while start.elapsed() < Duration::from_secs_f64(seconds) {
        for _ in 0..10 {
            match case {
                Case::Rewrite(mapper, engine) => {
                    std::hint::black_box(rewrite(
                        std::hint::black_box(page),
                        mapper,
                        *engine,
                        16 * 1024,
                    ));
                }
                Case::Replay(plan) => {
                    std::hint::black_box(replay(std::hint::black_box(&chunks), plan));
                }
            }
            bytes += page.len();
        }
    }
    bytes as f64 / start.elapsed().as_secs_f64() / 1e6
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let page = bench_page::bench_page()?;
    let offloaded = Arc::new(EmbeddedMapper::new(bench_page::PARTNER, [bench_page::HOST]));
    match args.first().map(String::as_str) {
        Some("page") => {
            let out = args.get(1).ok_or("usage: rewrite_bench page OUT.html")?;
            std::fs::write(out, &page).map_err(|e| format!("{out}: {e}"))?;
            let (_, urls) = rewrite(&page, &offloaded, HtmlEngine::Fast, 16 * 1024);
            println!(
                "{out}: {} bytes, {urls} URLs of {} rewritten",
                page.len(),
                bench_page::HOST
            );
        }
        Some("throughput") => {
            let seconds: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(3.0);
            let only = args.get(2).map(String::as_str);
            let nothing = Arc::new(EmbeddedMapper::new(bench_page::PARTNER, ["absent.example"]));
            let (_, urls) = rewrite(&page, &offloaded, HtmlEngine::Fast, 16 * 1024);
            println!(
                "page {} bytes, {urls} URLs rewritten; 16 KiB chunks, one thread, {seconds} s per case in 3 rounds",
                page.len()
            );
            let plan = Arc::new(record(&page, &offloaded).ok_or("no plan recorded")?);
            let cases = [
                (
                    "fast, ~200 URLs",
                    Case::Rewrite(&offloaded, HtmlEngine::Fast),
                ),
                (
                    "fast, nothing offloaded",
                    Case::Rewrite(&nothing, HtmlEngine::Fast),
                ),
                (
                    "lol_html, ~200 URLs",
                    Case::Rewrite(&offloaded, HtmlEngine::LolHtml),
                ),
                ("replay of its plan", Case::Replay(&plan)),
            ];
            // Rounds alternate the cases so that drifts of a shared machine hit all alike.
            let mut figures = vec![Vec::new(); cases.len()];
            for _ in 0..3 {
                for (i, (name, case)) in cases.iter().enumerate() {
                    if only.is_none_or(|o| name.starts_with(o)) {
                        figures[i].push(throughput(&page, case, seconds / 3.0));
                    }
                }
            }
            for ((name, _), mbps) in cases.iter().zip(&figures) {
                if mbps.is_empty() {
                    continue;
                }
                let rounds: Vec<String> = mbps.iter().map(|m| format!("{m:.0}")).collect();
                let best = mbps.iter().copied().fold(0.0, f64::max);
                println!(
                    "{name:<24} best {best:>5.0} MB/s   rounds {}",
                    rounds.join(" ")
                );
            }
        }
        _ => return Err("usage: rewrite_bench page OUT.html | throughput [SECONDS]".into()),
    }
    Ok(())
}

//! Rewrite plans: recorded on one rewrite, replayed on the same bytes in other chunks,
//! they give the rewrite's output; replayed on other bytes, they stop at the first
//! difference and rewrite nothing after it.

use std::sync::Arc;

use broker_proxy::rewrite::{EmbeddedMapper, PageRewriter, Replay, RewriteOptions, RewritePlan};
use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::corpus::{corpus_dir, pages, top_hosts};
use crate::differential::soup;
use crate::harness::{PARTNER, first_difference, random_chunks, seed};

/// Rewrites `input` in random chunks, recording: the output and the plan.
fn record(content_type: &str, hosts: &[String], input: &[u8], seed: u64) -> (Vec<u8>, RewritePlan) {
    let mapper = Arc::new(EmbeddedMapper::new(PARTNER, hosts.iter().cloned()));
    let mut rewriter = PageRewriter::new(content_type, mapper, RewriteOptions::default());
    rewriter.record_plan(64 << 20);
    let mut out = Vec::new();
    for chunk in random_chunks(input, seed) {
        out.extend_from_slice(&rewriter.write(chunk));
    }
    out.extend_from_slice(&rewriter.finish());
    let plan = rewriter
        .take_plan()
        .expect("a page rewritten to its end has a plan");
    assert_eq!(plan.rewrites(), rewriter.rewritten_urls());
    assert_eq!(plan.page_len(), input.len() as u64);
    (out, plan)
}

fn replay(plan: &Arc<RewritePlan>, input: &[u8], seed: u64) -> (Vec<u8>, bool) {
    let mut replay = Replay::new(Arc::clone(plan));
    let mut out = Vec::new();
    for chunk in random_chunks(input, seed) {
        out.extend_from_slice(&replay.write(Bytes::copy_from_slice(chunk)));
    }
    out.extend_from_slice(&replay.finish());
    (out, replay.mismatch())
}

/// `input` with the plan's edits that end at or before `limit` applied.
fn applied_before(plan: &RewritePlan, input: &[u8], limit: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut copied = 0;
    for edit in plan.edits() {
        let at = edit.at as usize;
        if at + edit.original.len() > limit {
            break;
        }
        out.extend_from_slice(&input[copied..at]);
        out.extend_from_slice(&edit.replacement);
        copied = at + edit.original.len();
    }
    out.extend_from_slice(&input[copied..]);
    out
}

#[test]
fn real_pages_replay_to_the_same_bytes_and_stop_at_a_change() {
    let dir = corpus_dir();
    let base = seed();
    let mut edits = 0;
    for (i, (path, content_type)) in pages(&dir).into_iter().enumerate() {
        let seed = base.wrapping_add(i as u64);
        let input = std::fs::read(&path).expect("corpus page");
        let hosts = top_hosts(&input, 3);
        let (rewritten, plan) = record(&content_type, &hosts, &input, seed);
        edits += plan.edits().len();
        let plan = Arc::new(plan);
        let (replayed, mismatch) = replay(&plan, &input, seed.wrapping_add(1));
        assert!(
            replayed == rewritten,
            "{}: replay differs (REWRITE_SEED={seed}): {}",
            path.display(),
            first_difference(&rewritten, &replayed)
        );
        assert!(!mismatch, "{}", path.display());

        // A byte changed inside an edited URL: that edit and all after it are not made.
        let Some(edit) = plan.edits().get(plan.edits().len() / 2) else {
            continue;
        };
        let at = edit.at as usize + edit.original.len() - 1;
        let mut changed = input.clone();
        changed[at] ^= 0x20;
        let (out, mismatch) = replay(&plan, &changed, seed);
        assert!(mismatch, "{}", path.display());
        let expected = applied_before(&plan, &changed, at);
        assert!(
            out == expected,
            "{}: (REWRITE_SEED={seed}) {}",
            path.display(),
            first_difference(&expected, &out)
        );
        // A body cut short or running longer is a mismatch too.
        let (_, mismatch) = replay(&plan, &input[..input.len() - 1], seed);
        assert!(mismatch, "{}: shorter", path.display());
    }
    assert!(edits > 100, "only {edits} edits over the corpus");
}

#[test]
fn random_soup_and_stylesheets_replay_to_the_same_bytes() {
    let base = seed();
    for round in 0..1500u64 {
        let seed = base.wrapping_add(round);
        let mut rng = StdRng::seed_from_u64(seed);
        let input = soup(&mut rng, 40);
        let content_type = if rng.random_bool(0.5) {
            "text/html"
        } else {
            "text/css"
        };
        let mapper = Arc::new(EmbeddedMapper::new(PARTNER, ["img.xyz.com"]));
        let mut rewriter = PageRewriter::new(content_type, mapper, RewriteOptions::default());
        rewriter.record_plan(1 << 20);
        let mut rewritten = rewriter.write(&input).to_vec();
        rewritten.extend_from_slice(&rewriter.finish());
        let Some(plan) = rewriter.take_plan() else {
            // Only a rewrite that gave up has no plan.
            assert!(rewriter.failure().is_some(), "REWRITE_SEED={seed}");
            continue;
        };
        let (replayed, mismatch) = replay(&Arc::new(plan), &input, seed);
        assert!(
            replayed == rewritten && !mismatch,
            "{content_type} (REWRITE_SEED={seed}): {}",
            first_difference(&rewritten, &replayed)
        );
    }
}

//! Rewrite plans of pages seen before: a customer's root page is asked for by many clients
//! between two changes, and the origin names each version with a strong `ETag` (RFC 9110
//! §8.8.1: same strong tag, same bytes). The first rewrite of a version for a pick records
//! its edits; later requests for the same URL, version, content type and pick replay them
//! while the page streams (`rewrite::Replay`), without tokenizing it again.
//!
//! An origin that reuses a strong tag for other bytes costs missed rewrites, never a
//! broken page: the replay checks each edit's original bytes, passes the rest through at
//! the first difference, and the plan is dropped. Weak tags and untagged pages are never
//! replayed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::metrics::counter::Counter;

use super::metrics::Metrics;
use super::sites::PartnerRoute;
use super::validator::PickTag;
use crate::rewrite::RewritePlan;

/// A recorded plan and how many of its URLs went to each partner (by partner index).
pub(crate) struct CachedPlan {
    pub(crate) plan: Arc<RewritePlan>,
    pub(crate) by_partner: Vec<u64>,
}

/// The plans, bounded in bytes; `None` when the cache is off.
#[derive(Clone)]
pub(crate) struct PlanCache {
    plans: Option<moka::sync::Cache<Arc<str>, Arc<CachedPlan>>>,
    /// Largest plan recorded: a page with more edits is rewritten every time.
    max_plan: usize,
    replayed: Counter,
    recorded: Counter,
    mismatched: Counter,
}

impl PlanCache {
    /// A cache of at most `bytes` of plans (0: off).
    pub(crate) fn new(bytes: u64, metrics: &Metrics) -> Self {
        let plans = (bytes > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(bytes)
                .weigher(|key: &Arc<str>, plan: &Arc<CachedPlan>| {
                    let weight = key.len() + plan.plan.weight() + plan.by_partner.len() * 8;
                    u32::try_from(weight).unwrap_or(u32::MAX)
                })
                .build()
        });
        Self {
            plans,
            max_plan: usize::try_from(bytes / 8).unwrap_or(usize::MAX),
            replayed: metrics.plans("replayed"),
            recorded: metrics.plans("recorded"),
            mismatched: metrics.plans("mismatched"),
        }
    }

    /// The key of a page, if it may have a plan: only bodies with a strong entity tag.
    pub(crate) fn key(
        &self,
        url: &str,
        etag: Option<&str>,
        content_type: &str,
        coding: &str,
        pick: &PickTag,
    ) -> Option<Arc<str>> {
        self.plans.as_ref()?;
        let etag = etag.map(str::trim).filter(|t| t.starts_with('"'))?;
        let fields = [url, etag, content_type, coding, pick.as_str()];
        Some(fields.join("\n").into())
    }

    /// The plan recorded under `key`.
    pub(crate) fn get(&self, key: &Arc<str>) -> Option<Arc<CachedPlan>> {
        self.plans.as_ref()?.get(key)
    }

    /// The most bytes of edits one page may record.
    pub(crate) fn max_plan(&self) -> usize {
        self.max_plan
    }

    pub(crate) fn insert(&self, key: Arc<str>, plan: CachedPlan) {
        if let Some(plans) = &self.plans {
            plans.insert(key, Arc::new(plan));
            self.recorded.inc();
        }
    }

    /// A replay of `key` went to its end: `matched` whether the body was the plan's page.
    pub(crate) fn replayed(&self, key: &Arc<str>, matched: bool) {
        if matched {
            self.replayed.inc();
        } else if let Some(plans) = &self.plans {
            plans.invalidate(key);
            self.mismatched.inc();
        }
    }
}

/// URLs one page rewrote per partner, added to the partners' counters at the page's end
/// (or when dropped: a page cut short still counts what it sent).
pub(crate) struct RewriteTally {
    counts: Box<[AtomicU64]>,
    partners: Arc<[PartnerRoute]>,
}

impl RewriteTally {
    pub(crate) fn new(partners: Arc<[PartnerRoute]>) -> Self {
        Self {
            counts: partners.iter().map(|_| AtomicU64::new(0)).collect(),
            partners,
        }
    }

    /// `n` URLs rewritten for partner `i`.
    pub(crate) fn add(&self, i: usize, n: u64) {
        if let Some(c) = self.counts.get(i) {
            c.fetch_add(n, Ordering::Relaxed);
        }
    }

    pub(crate) fn snapshot(&self) -> Vec<u64> {
        self.counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect()
    }

    /// Adds the counts so far to the partners' counters.
    pub(crate) fn flush(&self) {
        for (count, partner) in self.counts.iter().zip(self.partners.iter()) {
            let n = count.swap(0, Ordering::Relaxed);
            if n > 0 {
                partner.rewrites.inc_by(n);
            }
        }
    }
}

impl Drop for RewriteTally {
    fn drop(&mut self) {
        self.flush();
    }
}

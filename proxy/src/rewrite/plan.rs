//! Rewrite plans: the edits one rewrite of a page made (where, what was there, what went
//! in), recorded while the page streamed through a [`super::PageRewriter`], and replayed on
//! a later copy of the same page without tokenizing it again.
//!
//! The caller decides when two bodies are the same page (the front proxy: same URL, same
//! strong `ETag`, same pick). The replay trusts nothing: it checks every edit's original
//! bytes before writing its replacement, and at the first difference writes the rest as
//! it comes, so a wrong guess costs missed rewrites, never a corrupted page.

use bytes::{Bytes, BytesMut};

/// One replaced byte range of the (decoded) body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    /// Offset of the first replaced byte.
    pub at: u64,
    /// The bytes that were there.
    pub original: Box<[u8]>,
    /// The bytes written instead.
    pub replacement: Box<[u8]>,
}

/// Every edit of one page, in order, with the page's length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RewritePlan {
    edits: Vec<Edit>,
    len: u64,
    rewrites: u64,
}

impl RewritePlan {
    /// The edits, in increasing non-overlapping order.
    pub fn edits(&self) -> &[Edit] {
        &self.edits
    }

    /// Length of the page the plan was recorded on.
    pub fn page_len(&self) -> u64 {
        self.len
    }

    /// URLs the recorded rewrite changed (a srcset edit may hold several).
    pub fn rewrites(&self) -> u64 {
        self.rewrites
    }

    /// Memory the plan holds, for a cache's weigher.
    pub fn weight(&self) -> usize {
        self.edits
            .iter()
            .map(|e| e.original.len() + e.replacement.len() + std::mem::size_of::<Edit>())
            .sum::<usize>()
            + std::mem::size_of::<Self>()
    }
}

/// Collects the edits of one rewrite, up to a memory limit.
#[derive(Debug)]
pub(crate) struct Recorder {
    edits: Vec<Edit>,
    bytes: usize,
    limit: usize,
    /// Over the limit, or edits out of order: no plan comes of this page.
    spoiled: bool,
}

impl Recorder {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            edits: Vec::new(),
            bytes: 0,
            limit,
            spoiled: false,
        }
    }

    /// `original`, at offset `at`, was replaced by `replacement`.
    pub(crate) fn record(&mut self, at: usize, original: &[u8], replacement: &[u8]) {
        if self.spoiled {
            return;
        }
        let at = at as u64;
        let after_last = self
            .edits
            .last()
            .is_none_or(|e| e.at + e.original.len() as u64 <= at);
        self.bytes += original.len() + replacement.len() + std::mem::size_of::<Edit>();
        if !after_last || self.bytes > self.limit {
            self.spoil();
            return;
        }
        self.edits.push(Edit {
            at,
            original: original.into(),
            replacement: replacement.into(),
        });
    }

    /// The page cannot be replayed (the rewriter gave up part-way).
    pub(crate) fn spoil(&mut self) {
        self.spoiled = true;
        self.edits = Vec::new();
    }

    /// The plan of a page of `len` bytes whose rewrite changed `rewrites` URLs.
    pub(crate) fn finish(&mut self, len: usize, rewrites: u64) -> Option<RewritePlan> {
        if std::mem::replace(&mut self.spoiled, true) {
            return None;
        }
        Some(RewritePlan {
            edits: std::mem::take(&mut self.edits),
            len: len as u64,
            rewrites,
        })
    }
}

/// Replays a [`RewritePlan`] on a body, chunk by chunk.
#[derive(Debug)]
pub struct Replay<P: AsRef<RewritePlan>> {
    plan: P,
    /// Offset of the next input byte.
    pos: u64,
    /// Index of the next edit.
    next: usize,
    /// The start of the next edit's original bytes, when cut by a chunk's end.
    held: Vec<u8>,
    /// An edit did not match, or the body was longer or shorter: the rest passes through.
    mismatch: bool,
    out: BytesMut,
}

impl<P: AsRef<RewritePlan>> Replay<P> {
    /// A replay of `plan` from the first byte of a body.
    pub fn new(plan: P) -> Self {
        Self {
            plan,
            pos: 0,
            next: 0,
            held: Vec::new(),
            mismatch: false,
            out: BytesMut::new(),
        }
    }

    /// Whether the body turned out not to be the page the plan was made on.
    pub fn mismatch(&self) -> bool {
        self.mismatch
    }

    /// The output for the next chunk; chunks with no edit in them come back as they are.
    pub fn write(&mut self, chunk: Bytes) -> Bytes {
        let end = self.pos + chunk.len() as u64;
        let plan = self.plan.as_ref();
        let untouched = self.held.is_empty()
            && plan.edits.get(self.next).is_none_or(|e| e.at >= end)
            && end <= plan.len;
        if self.mismatch || untouched {
            self.mismatch |= end > plan.len;
            self.pos = end;
            return chunk;
        }
        self.out.reserve(chunk.len() + chunk.len() / 8);
        let mut rest = &chunk[..];
        while !rest.is_empty() {
            rest = self.step(rest);
        }
        self.out.split().freeze()
    }

    /// Consumes a prefix of `input` (not empty); returns the rest.
    fn step<'a>(&mut self, input: &'a [u8]) -> &'a [u8] {
        let plan = self.plan.as_ref();
        let Some(edit) = plan.edits.get(self.next).filter(|_| !self.mismatch) else {
            self.mismatch |= self.pos + input.len() as u64 > plan.len;
            self.copy(input);
            return &[];
        };
        if self.pos < edit.at {
            let n = usize::try_from(edit.at - self.pos).map_or(input.len(), |n| n.min(input.len()));
            self.copy(&input[..n]);
            return &input[n..];
        }
        // At the edit: its original bytes, possibly over several chunks.
        let need = edit.original.len() - self.held.len();
        let n = need.min(input.len());
        let (part, rest) = input.split_at(n);
        let matches = edit.original[self.held.len()..self.held.len() + n] == *part;
        self.pos += n as u64;
        if !matches {
            self.mismatch = true;
            let held = std::mem::take(&mut self.held);
            self.out.extend_from_slice(&held);
            self.out.extend_from_slice(part);
            return rest;
        }
        if n < need {
            self.held.extend_from_slice(part);
            return rest;
        }
        self.held.clear();
        self.out.extend_from_slice(&edit.replacement);
        self.next += 1;
        rest
    }

    fn copy(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
        self.pos += bytes.len() as u64;
    }

    /// Ends the body: its last output (an edit cut short goes out as it was).
    pub fn finish(&mut self) -> Bytes {
        let plan = self.plan.as_ref();
        if self.pos != plan.len || self.next != plan.edits.len() {
            self.mismatch = true;
        }
        let held = std::mem::take(&mut self.held);
        self.out.extend_from_slice(&held);
        self.out.split().freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(page: &[u8], edits: &[(usize, &str)]) -> RewritePlan {
        let mut r = Recorder::new(1 << 20);
        for (at, replacement) in edits {
            // Each edit replaces the three bytes at `at`.
            r.record(*at, &page[*at..*at + 3], replacement.as_bytes());
        }
        r.finish(page.len(), edits.len() as u64).unwrap()
    }

    fn replay(plan: &RewritePlan, page: &[u8], cut: usize) -> (Vec<u8>, bool) {
        let mut replay = Replay::new(plan);
        let mut out = Vec::new();
        for chunk in page.chunks(cut.max(1)) {
            out.extend_from_slice(&replay.write(Bytes::copy_from_slice(chunk)));
        }
        out.extend_from_slice(&replay.finish());
        (out, replay.mismatch())
    }

    impl AsRef<Self> for RewritePlan {
        fn as_ref(&self) -> &Self {
            self
        }
    }

    #[test]
    fn replays_edits_across_any_chunking() {
        let page = b"0123456789abcdefghij";
        let plan = plan(page, &[(2, "XY"), (10, "<long>"), (17, "")]);
        for cut in 1..=page.len() {
            let (out, mismatch) = replay(&plan, page, cut);
            assert_eq!(out, b"01XY56789<long>defg", "chunks of {cut}");
            assert!(!mismatch);
        }
    }

    #[test]
    fn a_different_body_passes_through_from_the_first_difference() {
        let page = b"0123456789abcdefghij";
        let plan = plan(page, &[(2, "XY"), (10, "Z")]);
        let other = b"0123456789abXdefghij";
        for cut in 1..=other.len() {
            let (out, mismatch) = replay(&plan, other, cut);
            assert_eq!(out, b"01XY56789abXdefghij", "chunks of {cut}");
            assert!(mismatch);
        }
        let (out, mismatch) = replay(&plan, b"0123456789abcdefghijK", 4);
        assert_eq!(out, b"01XY56789ZdefghijK");
        assert!(mismatch, "longer body");
        let (_, mismatch) = replay(&plan, b"0123456789abcdef", 4);
        assert!(mismatch, "shorter body");
    }

    #[test]
    fn recorder_refuses_overlaps_and_overflow() {
        let mut r = Recorder::new(1 << 20);
        r.record(5, b"abc", b"x");
        r.record(6, b"bcd", b"y");
        assert!(r.finish(10, 2).is_none(), "overlapping edits");
        let mut r = Recorder::new(100);
        for i in 0..10 {
            r.record(i * 10, b"abc", b"xyz");
        }
        assert!(r.finish(100, 10).is_none(), "over the limit");
        let mut r = Recorder::new(1 << 20);
        r.record(0, b"abc", b"x");
        r.spoil();
        assert!(r.finish(10, 1).is_none(), "spoiled");
    }
}

//! Applies the rewriter's edits to the byte stream lol_html passes through.
//!
//! lol_html is used as a parser only: nothing is modified through its API, so its output
//! is the input, byte for byte, and output offsets are input offsets. Handlers record
//! [`Edit`]s by input offset before lol_html emits the bytes they cover (handlers run
//! before their token is serialised), and [`Splicer`] swaps them in on the way out.
//! Re-serialising through lol_html would normalise quotes and whitespace in every
//! rewritten tag; splicing keeps the page exact apart from the URLs.

use std::collections::VecDeque;
use std::ops::Range;

use bytes::{Bytes, BytesMut};

/// One replacement of input bytes.
#[derive(Debug)]
pub(crate) struct Edit {
    /// Input offsets replaced.
    pub(crate) range: Range<usize>,
    /// What the handler believed those bytes were; the edit is skipped if they differ, so a
    /// decoding mismatch can never corrupt the page.
    pub(crate) expected: Vec<u8>,
    pub(crate) replacement: Vec<u8>,
}

/// The output side: edits applied in stream order, plus a hold for `<style>` text that must
/// be seen whole before its bytes can leave.
#[derive(Debug)]
pub(crate) struct Splicer {
    /// Input offset of the next byte to pass through (held bytes are not yet passed).
    pos: usize,
    /// Input offset of the next byte to arrive from the parser.
    received: usize,
    edits: VecDeque<Edit>,
    /// Bytes of `edits[0]` seen so far, while its range is incomplete.
    partial: Option<Vec<u8>>,
    /// Input offset from which bytes are held, while a `<style>` is open.
    hold_from: Option<usize>,
    held: Vec<u8>,
    max_held: usize,
    out: BytesMut,
}

impl Splicer {
    pub(crate) fn new(max_held: usize) -> Self {
        Self {
            pos: 0,
            received: 0,
            edits: VecDeque::new(),
            partial: None,
            hold_from: None,
            held: Vec::new(),
            max_held,
            out: BytesMut::new(),
        }
    }

    /// Total bytes received from the parser.
    pub(crate) fn received(&self) -> usize {
        self.received
    }

    /// Queues an edit; edits must arrive before their bytes. Late or overlapping edits
    /// are dropped, which leaves the original bytes.
    pub(crate) fn add_edit(&mut self, edit: Edit) {
        if edit.range.is_empty() || edit.range.start < self.received {
            return;
        }
        let at = self
            .edits
            .partition_point(|e| e.range.start < edit.range.start);
        let overlaps_prev = at > 0 && self.edits[at - 1].range.end > edit.range.start;
        let overlaps_next = self
            .edits
            .get(at)
            .is_some_and(|e| e.range.start < edit.range.end);
        if !overlaps_prev && !overlaps_next {
            self.edits.insert(at, edit);
        }
    }

    /// Holds every byte from input offset `from` until [`Self::end_hold`].
    pub(crate) fn begin_hold(&mut self, from: usize) {
        self.release_held();
        if from >= self.received {
            self.hold_from = Some(from);
        }
    }

    /// Ends the hold at input offset `end`. If the held bytes are exactly `hold_from..end`,
    /// `rewrite` may return their replacement; otherwise they pass through as they are.
    pub(crate) fn end_hold(&mut self, end: usize, rewrite: impl FnOnce(&[u8]) -> Option<Vec<u8>>) {
        let Some(from) = self.hold_from.take() else {
            return;
        };
        let held = std::mem::take(&mut self.held);
        let replacement = (end.checked_sub(from) == Some(held.len()) && self.edits.is_empty())
            .then(|| rewrite(&held))
            .flatten();
        match replacement {
            Some(new) => {
                self.out.extend_from_slice(&new);
                self.pos += held.len();
            }
            None => self.pass(&held),
        }
        self.held = held;
        self.held.clear();
    }

    /// Lets held bytes go unchanged (hold too large, or the page ends inside it).
    pub(crate) fn release_held(&mut self) {
        if self.hold_from.take().is_some() {
            let held = std::mem::take(&mut self.held);
            self.pass(&held);
            self.held = held;
            self.held.clear();
        }
    }

    /// Bytes from the parser, in input order.
    pub(crate) fn receive(&mut self, chunk: &[u8]) {
        let start = self.received;
        self.received += chunk.len();
        match self.hold_from {
            Some(from) if from < self.received => {
                let split = from.saturating_sub(start).min(chunk.len());
                self.pass(&chunk[..split]);
                self.held.extend_from_slice(&chunk[split..]);
                if self.held.len() > self.max_held {
                    self.release_held();
                }
            }
            _ => self.pass(chunk),
        }
    }

    /// Gives up on everything pending (the parser failed): held bytes and an incomplete
    /// edit go out unchanged, and no later edit applies.
    pub(crate) fn abandon(&mut self) {
        self.release_held();
        if let Some(partial) = self.partial.take() {
            self.out.extend_from_slice(&partial);
        }
        self.edits.clear();
    }

    /// Passes raw bytes that never went through the parser (after a failure).
    pub(crate) fn pass_raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
        self.pos += bytes.len();
        self.received = self.received.max(self.pos);
    }

    /// Makes room for about `n` more output bytes in one allocation: after
    /// [`Self::take_output`] the buffer is empty and would otherwise regrow step by step.
    pub(crate) fn reserve(&mut self, n: usize) {
        self.out.reserve(n);
    }

    /// The output produced so far.
    pub(crate) fn take_output(&mut self) -> Bytes {
        self.out.split().freeze()
    }

    fn pass(&mut self, mut chunk: &[u8]) {
        while !chunk.is_empty() {
            let Some(edit) = self.edits.front() else {
                self.out.extend_from_slice(chunk);
                self.pos += chunk.len();
                return;
            };
            let (start, end) = (edit.range.start, edit.range.end);
            if self.partial.is_none() {
                if start > self.pos {
                    let n = (start - self.pos).min(chunk.len());
                    self.out.extend_from_slice(&chunk[..n]);
                    self.pos += n;
                    chunk = &chunk[n..];
                    continue;
                }
                if start < self.pos {
                    // Cannot happen with edits added before their bytes; stay exact anyway.
                    self.edits.pop_front();
                    continue;
                }
                self.partial = Some(Vec::with_capacity(end - start));
            }
            let n = (end - self.pos).min(chunk.len());
            let partial = self.partial.get_or_insert_with(Vec::new);
            partial.extend_from_slice(&chunk[..n]);
            self.pos += n;
            chunk = &chunk[n..];
            if self.pos == end {
                let original = self.partial.take().unwrap_or_default();
                if let Some(edit) = self.edits.pop_front() {
                    if original == edit.expected {
                        self.out.extend_from_slice(&edit.replacement);
                    } else {
                        self.out.extend_from_slice(&original);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(range: Range<usize>, expected: &str, replacement: &str) -> Edit {
        Edit {
            range,
            expected: expected.into(),
            replacement: replacement.into(),
        }
    }

    fn run(s: &mut Splicer, input: &[u8], chunk: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for c in input.chunks(chunk) {
            s.receive(c);
            out.extend_from_slice(&s.take_output());
        }
        out
    }

    #[test]
    fn edits_apply_across_any_chunking() {
        let input = b"<img src=\"AAA\"><img src=\"BB\">";
        for size in 1..input.len() {
            let mut s = Splicer::new(100);
            s.add_edit(edit(25..27, "BB", "yyyy"));
            s.add_edit(edit(10..13, "AAA", "x"));
            assert_eq!(
                run(&mut s, input, size),
                b"<img src=\"x\"><img src=\"yyyy\">"
            );
        }
    }

    #[test]
    fn edit_with_unexpected_bytes_is_skipped() {
        let mut s = Splicer::new(100);
        s.add_edit(edit(1..3, "zz", "yy"));
        assert_eq!(run(&mut s, b"abcd", 4), b"abcd");
    }

    #[test]
    fn late_and_overlapping_edits_are_dropped() {
        let mut s = Splicer::new(100);
        s.receive(b"ab");
        s.add_edit(edit(1..3, "bc", "X"));
        s.add_edit(edit(2..4, "cd", "Y"));
        s.add_edit(edit(3..5, "de", "Z"));
        s.receive(b"cdef");
        assert_eq!(&s.take_output()[..], b"abYef");
    }

    #[test]
    fn hold_is_rewritten_when_complete_and_released_when_too_big() {
        let mut s = Splicer::new(100);
        s.begin_hold(3);
        s.receive(b"<s>c");
        s.receive(b"ss");
        assert_eq!(&s.take_output()[..], b"<s>");
        s.end_hold(6, |held| (held == b"css").then(|| b"CSS!".to_vec()));
        s.receive(b"</s>");
        assert_eq!(&s.take_output()[..], b"CSS!</s>");

        let mut s = Splicer::new(2);
        s.begin_hold(0);
        s.receive(b"abc");
        s.end_hold(3, |_| Some(b"never".to_vec()));
        assert_eq!(&s.take_output()[..], b"abc");
    }
}

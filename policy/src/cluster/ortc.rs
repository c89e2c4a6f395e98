//! Steps 2 and 3 of the `cluster` docs: the labelled space split into maximal aligned
//! blocks, and the ORTC passes over each block's trie.

use super::sweep::Seg;
use super::word::{Word, blocks};
use super::{PROGRESS_EVERY, Progress};

/// The minimal table for the labelled intervals (steps 2 and 3 of the `cluster` docs),
/// appended to `out` as `(address, prefix length, region)` in address order.
pub(super) fn minimise<A: Word>(
    labelled: &[Seg<A>],
    out: &mut Vec<(A, u32, u32)>,
    progress: &mut dyn Progress,
) {
    let mut ortc = Ortc::default();
    let (mut run_start, mut reported) = (0, 0);
    for i in 0..labelled.len() {
        let next_adjacent = labelled
            .get(i + 1)
            .is_some_and(|n| labelled[i].end.checked_succ() == Some(n.start));
        if next_adjacent {
            continue;
        }
        let run = &labelled[run_start..=i];
        blocks(run[0].start, run[run.len() - 1].end, |start, len| {
            let end = start.or(A::host_mask(len));
            let from = run.partition_point(|s| s.end < start);
            let to = run.partition_point(|s| s.start <= end);
            ortc.solve(start, len, &run[from..to], out);
        });
        if i + 1 - reported >= PROGRESS_EVERY || i + 1 == labelled.len() {
            progress.advance((i + 1 - reported) as u64);
            reported = i + 1;
        }
        run_start = i + 1;
    }
}

/// The ORTC passes over one block whose intervals tile it exactly. Reused between blocks
/// to keep its buffers.
#[derive(Default)]
struct Ortc {
    /// The trie in pre-order: a node's left child is the next node.
    nodes: Vec<Node>,
    /// The sorted region sets of the nodes; a node whose set equals a child's shares it.
    pool: Vec<u32>,
    scratch: Vec<u32>,
}

#[derive(Clone, Copy)]
struct Node {
    set_start: u32,
    set_len: u32,
    /// Index of the right child; 0 for a leaf (the root is never a child).
    right: u32,
    /// The set is the union of the children's (they share no region).
    union: bool,
}

impl Ortc {
    fn solve<A: Word>(
        &mut self,
        start: A,
        len: u32,
        segs: &[Seg<A>],
        out: &mut Vec<(A, u32, u32)>,
    ) {
        self.nodes.clear();
        self.pool.clear();
        self.build(start, len, segs);
        self.emit(0, start, len, None, out);
    }

    /// Bottom-up pass: the node for `start/len`, covered exactly by `segs`; returns its
    /// index.
    fn build<A: Word>(&mut self, start: A, len: u32, segs: &[Seg<A>]) -> u32 {
        let idx = self.nodes.len() as u32;
        if let [only] = segs {
            self.nodes.push(Node {
                set_start: self.pool.len() as u32,
                set_len: 1,
                right: 0,
                union: false,
            });
            self.pool.push(only.region);
            return idx;
        }
        // Several intervals: the block is not a single address, so it has two halves.
        self.nodes.push(Node {
            set_start: 0,
            set_len: 0,
            right: 0,
            union: false,
        });
        let mid = start.or(A::bit(len));
        let k = segs.partition_point(|s| s.end < mid);
        let left = if segs[k].start < mid {
            &segs[..=k]
        } else {
            &segs[..k]
        };
        let l = self.build(start, len + 1, left);
        let r = self.build(mid, len + 1, &segs[k..]);
        let (ln, rn) = (self.nodes[l as usize], self.nodes[r as usize]);
        let (a, b) = (set_of(&self.pool, ln), set_of(&self.pool, rn));
        self.scratch.clear();
        intersect_sorted(a, b, &mut self.scratch);
        let union = self.scratch.is_empty();
        let (set_start, set_len) = if self.scratch.len() == a.len() {
            (ln.set_start, ln.set_len)
        } else if self.scratch.len() == b.len() {
            (rn.set_start, rn.set_len)
        } else {
            if self.scratch.is_empty() {
                union_sorted(a, b, &mut self.scratch);
            }
            let at = self.pool.len() as u32;
            self.pool.extend_from_slice(&self.scratch);
            (at, self.scratch.len() as u32)
        };
        self.nodes[idx as usize] = Node {
            set_start,
            set_len,
            right: r,
            union,
        };
        idx
    }

    /// Top-down pass: entries for the subtree of node `idx` given the inherited region.
    fn emit<A: Word>(
        &self,
        idx: u32,
        start: A,
        len: u32,
        inherited: Option<u32>,
        out: &mut Vec<(A, u32, u32)>,
    ) {
        let node = self.nodes[idx as usize];
        let set = set_of(&self.pool, node);
        let region = match inherited {
            Some(h) if set.binary_search(&h).is_ok() => Some(h),
            // As cheap as an entry here (each child then pays one), and it keeps the
            // output free of needless nesting.
            _ if node.union => inherited,
            _ => {
                out.push((start, len, set[0]));
                Some(set[0])
            }
        };
        if node.right != 0 {
            self.emit(idx + 1, start, len + 1, region, out);
            self.emit(node.right, start.or(A::bit(len)), len + 1, region, out);
        }
    }
}

/// A node's region set in the pool.
fn set_of(pool: &[u32], n: Node) -> &[u32] {
    &pool[n.set_start as usize..(n.set_start + n.set_len) as usize]
}

/// Intersection of two sorted sets.
fn intersect_sorted(a: &[u32], b: &[u32], out: &mut Vec<u32>) {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
}

/// Union of two disjoint sorted sets.
fn union_sorted(a: &[u32], b: &[u32], out: &mut Vec<u32>) {
    out.extend_from_slice(a);
    out.extend_from_slice(b);
    out.sort_unstable();
}

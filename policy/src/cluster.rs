//! Client clustering (seed "client clustering", spec §6): from the routed prefixes of a
//! BGP table and an address-to-region table, the fewest prefixes whose longest-prefix
//! match gives every routed address its region and every other address none.
//!
//! Entry point: [`cluster`]. Sans-io: the caller parses the inputs (see
//! [`broker_config::geo`]), prints the result and shows progress through [`Progress`].
//!
//! # What is computed
//!
//! The target is a function `t` from addresses to a region or none: `t(a)` is the region of
//! the longest geo entry covering `a` when some route covers `a`, and none otherwise. The
//! output must give `t(a)` by longest-prefix match for every address. Since the §6 format
//! has no "no region" entry, an output prefix may only cover addresses whose target is a
//! region (its own, or the region of a more specific output entry).
//!
//! # Algorithm
//!
//! 1. Routes are sorted and merged into disjoint intervals; the geo table is flattened
//!    into disjoint labelled intervals by a sweep with a stack (nested prefixes: the
//!    longest wins); the two are intersected. This yields `t` as sorted disjoint labelled
//!    intervals, adjacent ones of one region merged, and the unmapped routed space.
//! 2. Think of the binary trie over all addresses. A node whose prefix holds an address
//!    with no region can carry no entry (nothing below could undo it for that address),
//!    and neither can its ancestors. The nodes that can are exactly the prefixes wholly
//!    inside one contiguous run of labelled intervals, so the problem splits into
//!    independent blocks: the maximal aligned CIDR blocks of each run. Each block inherits
//!    "none", so its root needs an entry.
//! 3. Inside a block, the minimal table is the ORTC algorithm (Draves, King, Venkatachary,
//!    Zill, "Constructing Optimal IP Routing Tables", INFOCOM 1999). It is the dynamic
//!    program "`c(v, h)` = fewest entries in the subtree of `v` given the region `h`
//!    inherited from above" in closed form: `c(v, h)` is `m(v)` for `h` in a set `S(v)`
//!    and `m(v) + 1` otherwise (one entry at `v` always repairs the inherited label).
//!    A uniform leaf has `m = 0, S = {r}`. For children `a, b`: if `S(a) ∩ S(b)` is not
//!    empty then `m(v) = m(a) + m(b)` and `S(v) = S(a) ∩ S(b)`, otherwise
//!    `m(v) = m(a) + m(b) + 1` and `S(v) = S(a) ∪ S(b)`. (Proof: with no entry at `v`,
//!    `c(v, h) = c(a, h) + c(b, h)`, which is `m(a) + m(b)` plus one for each child whose
//!    set misses `h`; with an entry `r` at `v` it is `1 + min_r (c(a, r) + c(b, r))`.
//!    Comparing the two cases for `h` inside and outside the sets gives the rule.)
//!    Top-down, a node whose set holds the inherited region gets no entry; nor does a
//!    node whose set is a union (its children then pay one entry each, the same cost, and
//!    the output has fewer nested entries); any other node gets an entry with the
//!    smallest region of its set, which its subtree then inherits.
//!    The block costs `m(root) + 1` entries, the minimum; the total is their sum.
//!
//! The trie is walked only where the target is not uniform, so the work is proportional
//! to the number of intervals times the address width, and memory to the input size.

use broker_config::geo::{GeoEntry, RegionIdx};
use broker_config::{Name, RegionList};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::fmt::Debug;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The result of [`cluster`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Clustering {
    /// The minimal table, IPv4 first, each family sorted by address then length.
    pub entries: Vec<(IpNet, RegionIdx)>,
    /// What the inputs left open or ambiguous.
    pub report: ClusterReport,
}

impl Clustering {
    /// The table as the region list of spec §6: one block per region, blocks sorted by
    /// name, prefixes in address order (IPv4 first). `names` are the region names by
    /// [`RegionIdx`] (a [`broker_config::geo::GeoTable`]'s regions).
    ///
    /// # Panics
    /// If an entry's region has no name in `names`.
    pub fn to_region_list(&self, names: &[Name]) -> RegionList {
        let mut blocks: Vec<Vec<IpNet>> = vec![Vec::new(); names.len()];
        for &(net, region) in &self.entries {
            blocks[region.0 as usize].push(net);
        }
        let mut regions: Vec<(Name, Vec<IpNet>)> = names
            .iter()
            .cloned()
            .zip(blocks)
            .filter(|(_, nets)| !nets.is_empty())
            .collect();
        regions.sort_by(|a, b| a.0.cmp(&b.0));
        RegionList { regions }
    }
}

/// Addresses of one family, counted (saturating at `u128::MAX`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Addresses covered by some route.
    pub routed: u128,
    /// Routed addresses to which the geo table gives no region.
    pub unmapped: u128,
}

/// A routed prefix whose addresses fall in more than one region: it is split in the
/// output, not given one region by guess.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Straddle {
    /// The route as given.
    pub route: IpNet,
    /// The regions inside it, in ascending index order.
    pub regions: Vec<RegionIdx>,
    /// Whether some of its addresses have no region at all.
    pub partly_unmapped: bool,
}

/// One prefix given twice in the geo table with different regions: the first is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GeoConflict {
    /// The prefix.
    pub net: IpNet,
    /// The region kept (first in input order).
    pub kept: RegionIdx,
    /// A region dropped.
    pub dropped: RegionIdx,
}

/// The report of [`cluster`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterReport {
    /// IPv4 address counts.
    pub v4: Tally,
    /// IPv6 address counts.
    pub v6: Tally,
    /// The routed addresses with no region, as the fewest CIDR blocks, sorted.
    pub unmapped: Vec<IpNet>,
    /// Routes that straddle regions, sorted by address (duplicates removed).
    pub straddling: Vec<Straddle>,
    /// Geo prefixes given twice with different regions, sorted by address.
    pub conflicts: Vec<GeoConflict>,
}

/// Where the work is, for a progress bar: stages, each with a number of steps.
pub trait Progress {
    /// A new stage of `total` steps begins.
    fn stage(&mut self, name: &str, total: u64);
    /// `steps` more steps of the current stage are done.
    fn advance(&mut self, steps: u64);
}

/// A [`Progress`] that shows nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn stage(&mut self, _: &str, _: u64) {}
    fn advance(&mut self, _: u64) {}
}

/// Computes the minimal region table for `routes` and `geo` (see the module docs).
/// Host bits in the inputs are ignored. IPv6 prefixes at or under `::ffff:0:0/96` are
/// taken as the IPv4 prefixes they map, as the region table looks such addresses up.
pub fn cluster(routes: &[IpNet], geo: &[GeoEntry], progress: &mut dyn Progress) -> Clustering {
    let regions = geo
        .iter()
        .map(|g| g.region.0 as usize + 1)
        .max()
        .unwrap_or(0);
    let mut out = Clustering::default();
    let (mut r4, mut r6) = (Vec::new(), Vec::new());
    for &r in routes {
        match split_family(r) {
            Family::V4(a, len) => r4.push((a, len)),
            Family::V6(a, len) => r6.push((a, len)),
        }
    }
    let (mut g4, mut g6) = (Vec::new(), Vec::new());
    for g in geo {
        match split_family(g.net) {
            Family::V4(a, len) => g4.push((a, len, g.region.0)),
            Family::V6(a, len) => g6.push((a, len, g.region.0)),
        }
    }
    let mut family = FamilyRun {
        regions,
        progress,
        out: &mut out,
    };
    family.out.report.v4 = family.run("ipv4", r4, g4);
    family.out.report.v6 = family.run("ipv6", r6, g6);
    out
}

/// A prefix as the integer of its network address and its length.
enum Family {
    V4(u32, u8),
    V6(u128, u8),
}

fn split_family(net: IpNet) -> Family {
    const MAPPED: u128 = 0xffff << 32;
    match net {
        IpNet::V4(n) => Family::V4(u32::from(n.network()), n.prefix_len()),
        IpNet::V6(n) => {
            let a = u128::from(n.network());
            if n.prefix_len() >= 96 && a >> 32 == MAPPED >> 32 {
                Family::V4(a as u32, n.prefix_len() - 96)
            } else {
                Family::V6(a, n.prefix_len())
            }
        }
    }
}

/// How often long loops report progress, in steps.
const PROGRESS_EVERY: usize = 1 << 14;

/// One address family's pass, writing into the shared result.
struct FamilyRun<'a> {
    regions: usize,
    progress: &'a mut dyn Progress,
    out: &'a mut Clustering,
}

impl FamilyRun<'_> {
    fn run<A: Word>(
        &mut self,
        family: &str,
        mut routes: Vec<(A, u8)>,
        geo: Vec<(A, u8, u32)>,
    ) -> Tally {
        let mut tally = Tally::default();
        if routes.is_empty() {
            return tally;
        }
        self.progress
            .stage(&format!("{family}: sorting routes"), routes.len() as u64);
        routes.sort_unstable();
        routes.dedup();
        let union = merge_routes(&routes);
        self.progress.advance(routes.len() as u64);
        tally.routed = count(&union);

        self.progress
            .stage(&format!("{family}: flattening geo"), geo.len() as u64);
        let flat = flatten_geo(geo, &mut self.out.report.conflicts, self.progress);

        self.progress
            .stage(&format!("{family}: intersecting"), union.len() as u64);
        let mut unmapped = Vec::new();
        let labelled = intersect(&union, &flat, &mut unmapped, self.progress);
        drop(flat);
        tally.unmapped = count(&unmapped);
        for &(s, e) in &unmapped {
            blocks(s, e, |a, len| self.out.report.unmapped.push(a.to_net(len)));
        }
        drop(unmapped);

        self.progress
            .stage(&format!("{family}: finding straddles"), routes.len() as u64);
        straddles(
            &routes,
            &labelled,
            self.regions,
            &mut self.out.report.straddling,
            self.progress,
        );
        drop(routes);

        self.progress
            .stage(&format!("{family}: minimising"), labelled.len() as u64);
        let mut table = Vec::new();
        minimise(&labelled, &mut table, self.progress);
        self.out.entries.extend(
            table
                .into_iter()
                .map(|(a, len, r): (A, u32, u32)| (a.to_net(len), RegionIdx(r))),
        );
        tally
    }
}

/// An interval of addresses `start..=end` with one region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Seg<A> {
    start: A,
    end: A,
    region: u32,
}

/// Sorted, deduplicated prefixes to sorted disjoint intervals (adjacent ones merged).
fn merge_routes<A: Word>(routes: &[(A, u8)]) -> Vec<(A, A)> {
    let mut out: Vec<(A, A)> = Vec::new();
    for &(start, len) in routes {
        let end = start.or(A::host_mask(u32::from(len)));
        match out.last_mut() {
            Some(last) if last.1.checked_succ().is_none_or(|next| start <= next) => {
                last.1 = last.1.max(end);
            }
            _ => out.push((start, end)),
        }
    }
    out
}

/// Longest-prefix semantics of a geo table as sorted disjoint intervals: a sweep in
/// address order with a stack of the open (enclosing) prefixes.
fn flatten_geo<A: Word>(
    mut geo: Vec<(A, u8, u32)>,
    conflicts: &mut Vec<GeoConflict>,
    progress: &mut dyn Progress,
) -> Vec<Seg<A>> {
    // Stable: among equal prefixes the first in input order comes first and is kept.
    geo.sort_by_key(|&(a, len, _)| (a, len));
    let mut out = Vec::with_capacity(geo.len());
    let mut stack: Vec<(A, u32)> = Vec::new();
    // The first address not yet emitted; None once the end of the space is passed.
    let mut cursor = Some(A::ZERO);
    let mut last: Option<(A, u8, u32)> = None;
    for (i, &(start, len, region)) in geo.iter().enumerate() {
        if i % PROGRESS_EVERY == 0 {
            progress.advance(PROGRESS_EVERY.min(geo.len() - i) as u64);
        }
        if let Some((ls, ll, lr)) = last
            && (ls, ll) == (start, len)
        {
            if lr != region {
                conflicts.push(GeoConflict {
                    net: start.to_net(u32::from(len)),
                    kept: RegionIdx(lr),
                    dropped: RegionIdx(region),
                });
            }
            continue;
        }
        last = Some((start, len, region));
        while let Some(&(end, r)) = stack.last()
            && end < start
        {
            emit_to(&mut out, &mut cursor, end, r);
            stack.pop();
        }
        if let Some(&(_, r)) = stack.last()
            && cursor.is_some_and(|c| c < start)
        {
            emit_to(&mut out, &mut cursor, start.pred(), r);
        }
        cursor = Some(start);
        stack.push((start.or(A::host_mask(u32::from(len))), region));
    }
    while let Some((end, r)) = stack.pop() {
        emit_to(&mut out, &mut cursor, end, r);
    }
    out
}

/// Emits `cursor..=end` with `region` (if not empty) and moves the cursor past it.
fn emit_to<A: Word>(out: &mut Vec<Seg<A>>, cursor: &mut Option<A>, end: A, region: u32) {
    if let Some(c) = *cursor
        && c <= end
    {
        push_seg(out, c, end, region);
        *cursor = end.checked_succ();
    }
}

/// Appends an interval, merging it into the previous one when adjacent and of one region.
fn push_seg<A: Word>(out: &mut Vec<Seg<A>>, start: A, end: A, region: u32) {
    if let Some(last) = out.last_mut()
        && last.region == region
        && last.end.checked_succ() == Some(start)
    {
        last.end = end;
        return;
    }
    out.push(Seg { start, end, region });
}

/// The routed part of the flattened geo table; routed addresses outside it go to
/// `unmapped`. Both inputs are sorted and disjoint.
fn intersect<A: Word>(
    routes: &[(A, A)],
    geo: &[Seg<A>],
    unmapped: &mut Vec<(A, A)>,
    progress: &mut dyn Progress,
) -> Vec<Seg<A>> {
    let mut out = Vec::new();
    let mut j = 0;
    for (i, &(rs, re)) in routes.iter().enumerate() {
        if i % PROGRESS_EVERY == 0 {
            progress.advance(PROGRESS_EVERY.min(routes.len() - i) as u64);
        }
        while j < geo.len() && geo[j].end < rs {
            j += 1;
        }
        let mut cursor = Some(rs);
        while let Some(c) = cursor
            && j < geo.len()
            && geo[j].start <= re
        {
            let g = geo[j];
            let (s, e) = (g.start.max(rs), g.end.min(re));
            if c < s {
                unmapped.push((c, s.pred()));
            }
            push_seg(&mut out, s, e, g.region);
            cursor = e.checked_succ();
            if g.end > re {
                break; // the geo interval continues into the next route
            }
            j += 1;
        }
        if let Some(c) = cursor
            && c <= re
        {
            unmapped.push((c, re));
        }
    }
    out
}

/// Routes (sorted, deduplicated) that hold more than one region, appended to `out`.
fn straddles<A: Word>(
    routes: &[(A, u8)],
    labelled: &[Seg<A>],
    regions: usize,
    out: &mut Vec<Straddle>,
    progress: &mut dyn Progress,
) {
    // seen[r] == route number + 1 when region r was met in the current route: no clearing.
    let mut seen = vec![0usize; regions];
    let mut found = Vec::new();
    for (i, &(start, len)) in routes.iter().enumerate() {
        if i % PROGRESS_EVERY == 0 {
            progress.advance(PROGRESS_EVERY.min(routes.len() - i) as u64);
        }
        let end = start.or(A::host_mask(u32::from(len)));
        let first = labelled.partition_point(|s| s.end < start);
        let mut cursor = Some(start);
        let mut gap = false;
        found.clear();
        for s in labelled[first..].iter().take_while(|s| s.start <= end) {
            gap |= cursor.is_some_and(|c| c < s.start);
            cursor = s.end.checked_succ();
            if seen[s.region as usize] != i + 1 {
                seen[s.region as usize] = i + 1;
                found.push(s.region);
            }
        }
        gap |= cursor.is_some_and(|c| c <= end);
        if found.len() > 1 {
            found.sort_unstable();
            out.push(Straddle {
                route: start.to_net(u32::from(len)),
                regions: found.iter().map(|&r| RegionIdx(r)).collect(),
                partly_unmapped: gap,
            });
        }
    }
}

/// The minimal table for the labelled intervals (step 2 and 3 of the module docs),
/// appended to `out` as `(address, prefix length, region)` in address order.
fn minimise<A: Word>(
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

/// Calls `f(start, len)` for the fewest CIDR blocks covering `s..=e`, in order.
fn blocks<A: Word>(mut s: A, e: A, mut f: impl FnMut(A, u32)) {
    loop {
        let span = e.sub(s); // addresses in the rest, minus one
        // The largest aligned block at `s` that fits: limited by alignment and by size.
        let fit = A::WIDTH - span.checked_succ().map_or(0, |n| n.leading_zeros() + 1);
        let size_bits = s.trailing_zeros().min(fit);
        f(s, A::WIDTH - size_bits);
        let last = s.or(A::host_mask(A::WIDTH - size_bits));
        match last.checked_succ() {
            Some(next) if last < e => s = next,
            _ => return,
        }
    }
}

/// Addresses in disjoint intervals, saturating.
fn count<A: Word>(intervals: &[(A, A)]) -> u128 {
    intervals.iter().fold(0u128, |n, &(s, e)| {
        n.saturating_add(e.sub(s).to_u128()).saturating_add(1)
    })
}

/// The unsigned integer behind an address family: `u32` for IPv4, `u128` for IPv6, so
/// IPv4 tables take a quarter of the memory.
trait Word: Copy + Ord + Debug {
    const WIDTH: u32;
    const ZERO: Self;
    /// The low `WIDTH - len` bits set: the host part of a `/len`.
    fn host_mask(len: u32) -> Self;
    /// The single bit just below the first `len` bits (`len < WIDTH`).
    fn bit(len: u32) -> Self;
    fn or(self, other: Self) -> Self;
    fn sub(self, other: Self) -> Self;
    fn checked_succ(self) -> Option<Self>;
    fn pred(self) -> Self;
    fn leading_zeros(self) -> u32;
    fn trailing_zeros(self) -> u32;
    fn to_u128(self) -> u128;
    fn to_net(self, len: u32) -> IpNet;
}

macro_rules! word {
    ($t:ty, $variant:ident, $net:ty, $addr:ty) => {
        impl Word for $t {
            const WIDTH: u32 = <$t>::BITS;
            const ZERO: Self = 0;
            fn host_mask(len: u32) -> Self {
                <$t>::MAX.checked_shr(len).unwrap_or(0)
            }
            fn bit(len: u32) -> Self {
                1 << (Self::WIDTH - 1 - len)
            }
            fn or(self, other: Self) -> Self {
                self | other
            }
            fn sub(self, other: Self) -> Self {
                self - other
            }
            fn checked_succ(self) -> Option<Self> {
                self.checked_add(1)
            }
            fn pred(self) -> Self {
                self - 1
            }
            fn leading_zeros(self) -> u32 {
                <$t>::leading_zeros(self)
            }
            fn trailing_zeros(self) -> u32 {
                <$t>::trailing_zeros(self)
            }
            fn to_u128(self) -> u128 {
                u128::from(self)
            }
            fn to_net(self, len: u32) -> IpNet {
                // Every length here comes from a prefix of this family, so it fits.
                IpNet::$variant(
                    <$net>::new(<$addr>::from(self), len as u8).expect("prefix length fits"),
                )
            }
        }
    };
}

word!(u32, V4, Ipv4Net, Ipv4Addr);
word!(u128, V6, Ipv6Net, Ipv6Addr);

#[cfg(test)]
mod tests;

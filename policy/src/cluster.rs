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

mod ortc;
mod sweep;
mod word;

use broker_config::geo::{GeoEntry, RegionIdx};
use broker_config::{Name, RegionList};
use ipnet::IpNet;

use ortc::minimise;
use sweep::{flatten_geo, intersect, merge_routes, straddles};
use word::{Word, blocks, count};

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
    /// Entries a table without nesting would need (each maximal run of one region as
    /// CIDR blocks): what the minimal table is measured against.
    pub disjoint_entries: u64,
    /// Entries in the minimal table.
    pub entries: u64,
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
        for s in &labelled {
            blocks(s.start, s.end, |_, _| tally.disjoint_entries += 1);
        }
        tally.entries = table.len() as u64;
        self.out.entries.extend(
            table
                .into_iter()
                .map(|(a, len, r): (A, u32, u32)| (a.to_net(len), RegionIdx(r))),
        );
        tally
    }
}

#[cfg(test)]
mod tests;

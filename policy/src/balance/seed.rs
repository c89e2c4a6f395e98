//! The seed's algorithm: drop overloaded CDNs, prefer CDNs with good coverage of the
//! region, split by available capacity, and spill to the other CDNs when the good ones
//! lack headroom (flash-crowd protection).
//!
//! Proportional water-filling in rounds, good coverage first: every cell (group, region)
//! asks its CDNs for its unmet demand in proportion to their remaining headroom, and a
//! CDN asked for more than it has scales all asks down alike. No cell goes first, so a
//! small change of demand moves weights a little (which hysteresis then ignores) rather
//! than reordering who gets the good CDNs. It can leave demand unplaced that a better
//! split would place (several groups, region capacities): the optimal mode's LP does not.

use super::inputs::{Alloc, Inputs};

/// Remaining capacity per CDN, in total and per region.
pub(crate) struct Headroom {
    pub(crate) total: Vec<f64>,
    pub(crate) region: Vec<Vec<f64>>,
}

impl Headroom {
    /// What `alloc` leaves of each CDN's capacity.
    pub(crate) fn left_by(inp: &Inputs<'_>, alloc: &Alloc) -> Self {
        let mut h = Self {
            total: inp.cap.clone(),
            region: inp.rcap.clone(),
        };
        for row in alloc {
            for (r, cell) in row.iter().enumerate() {
                for (c, x) in cell.iter().enumerate() {
                    h.take(c, r, *x);
                }
            }
        }
        h
    }

    /// What CDN `c` can still take in region `r`.
    pub(crate) fn of(&self, c: usize, r: usize) -> f64 {
        self.total[c].min(self.region[c][r]).max(0.0)
    }

    pub(crate) fn take(&mut self, c: usize, r: usize, x: f64) {
        self.total[c] = (self.total[c] - x).max(0.0);
        self.region[c][r] = (self.region[c][r] - x).max(0.0);
    }
}

/// The seed's allocation, kbit/s per `[group][region][cdn]`.
pub(crate) fn allocate(inp: &Inputs<'_>) -> Alloc {
    let mut alloc = inp.zero_alloc();
    let mut head = Headroom::left_by(inp, &alloc);
    let cells: Vec<(usize, usize)> = (0..inp.groups.len())
        .flat_map(|g| (0..inp.regions.len()).map(move |r| (g, r)))
        .filter(|&(g, r)| inp.demand[g][r] > 0.0)
        .collect();
    for good_tier in [true, false] {
        // Each round satisfies every cell or exhausts a CDN: CDNs + 1 rounds suffice.
        for _ in 0..=inp.cdns.len() {
            if !fill_round(inp, &cells, good_tier, &mut alloc, &mut head) {
                break;
            }
        }
    }
    alloc
}

/// One round, the same for every cell whatever its order: each cell asks its tier's
/// CDNs for its unmet demand in proportion to their headroom; a CDN asked for more than
/// it has scales every ask down alike. Returns whether anything was placed.
fn fill_round(
    inp: &Inputs<'_>,
    cells: &[(usize, usize)],
    good_tier: bool,
    alloc: &mut Alloc,
    head: &mut Headroom,
) -> bool {
    let n = inp.cdns.len();
    let mut asks: Vec<(usize, usize, usize, f64)> = Vec::new();
    let mut asked_total = vec![0.0; n];
    let mut asked_region = vec![vec![0.0; inp.regions.len()]; n];
    for &(g, r) in cells {
        let need = inp.demand[g][r] - alloc[g][r].iter().sum::<f64>();
        if need <= 1e-9 * inp.demand[g][r] {
            continue;
        }
        let cands: Vec<(usize, f64)> = inp.members[g]
            .iter()
            .copied()
            .filter(|&c| inp.usable[c][r] && inp.good(c, r) == good_tier)
            .map(|c| (c, head.of(c, r)))
            .filter(|&(_, h)| h > 0.0)
            .collect();
        let room: f64 = cands.iter().map(|(_, h)| h).sum();
        for (c, h) in cands {
            // h / room <= 1 and need.min(room) <= room: an ask never exceeds headroom.
            let ask = need.min(room) * (h / room);
            asks.push((g, r, c, ask));
            asked_total[c] += ask;
            asked_region[c][r] += ask;
        }
    }
    let mut placed = false;
    for (g, r, c, ask) in asks {
        let ft = if asked_total[c] > head.total[c] {
            head.total[c] / asked_total[c]
        } else {
            1.0
        };
        let fr = if asked_region[c][r] > head.region[c][r] {
            head.region[c][r] / asked_region[c][r]
        } else {
            1.0
        };
        let give = ask * ft.min(fr);
        if give > 0.0 {
            alloc[g][r][c] += give;
            placed = true;
        }
    }
    *head = Headroom::left_by(inp, alloc);
    placed
}

//! Sweeps over sorted intervals: routes merged, the geo table flattened to its
//! longest-prefix answer, the two intersected, and routes checked for straddles.

use super::word::Word;
use super::{GeoConflict, PROGRESS_EVERY, Progress, RegionIdx, Straddle};

/// An interval of addresses `start..=end` with one region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Seg<A> {
    pub(super) start: A,
    pub(super) end: A,
    pub(super) region: u32,
}

/// Sorted, deduplicated prefixes to sorted disjoint intervals (adjacent ones merged).
pub(super) fn merge_routes<A: Word>(routes: &[(A, u8)]) -> Vec<(A, A)> {
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
pub(super) fn flatten_geo<A: Word>(
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
pub(super) fn intersect<A: Word>(
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
pub(super) fn straddles<A: Word>(
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

//! The DNSSEC records an answer of a signed zone carries (spec §10), copied from the
//! snapshot's precomputed [`ZoneSigs`]: RRSIGs after their RRset, and the NSEC records
//! that prove a wildcard expansion or a missing type.

use crate::dnssec::rtype::{DNAME, NSEC, RRSIG};
use crate::snapshot::signed::{Missing, Nsec, Sigs, ZoneSigs};
use crate::wire::{Owner, Section, Writer};

/// The RRSIGs of an RRset owned by the name at offset `owner`.
pub(super) fn rrsigs(
    w: &mut Writer<'_>,
    section: Section,
    owner: u16,
    ttl: u32,
    sigs: Option<&Sigs>,
) {
    for sig in sigs.into_iter().flatten() {
        w.record(section, Owner::At(owner), RRSIG, ttl, sig);
    }
}

fn nsec(w: &mut Writer<'_>, n: &Nsec, ttl: u32) {
    w.record(
        Section::Authority,
        Owner::Wire(&n.owner),
        NSEC,
        ttl,
        &n.rdata,
    );
    for sig in &n.sigs {
        w.record(Section::Authority, Owner::Wire(&n.owner), RRSIG, ttl, sig);
    }
}

/// The RRSIGs of the answer of choice `idx` owned by the query name, and below the apex
/// the NSEC that proves the query name is a wildcard's expansion.
pub(super) fn prove(
    w: &mut Writer<'_>,
    zone: &ZoneSigs,
    idx: u32,
    at_apex: bool,
    next_closer: &[u8],
    ttl: u32,
) {
    let Some(choice) = zone.choice(idx) else {
        return;
    };
    let sigs = if at_apex {
        &choice.apex
    } else {
        &choice.wildcard
    };
    rrsigs(
        w,
        Section::Answer,
        crate::wire::QNAME_OFFSET,
        ttl,
        Some(sigs),
    );
    if !at_apex {
        nsec(w, zone.covering(next_closer), ttl);
    }
}

/// The signed DNAME at the apex (offset `apex`) that a suffix CNAME below it follows from.
pub(super) fn dname(w: &mut Writer<'_>, zone: &ZoneSigs, idx: u32, apex: u16, ttl: u32) {
    if let Some((target, sigs)) = zone.choice(idx).and_then(|c| c.dname.as_ref()) {
        w.record(Section::Answer, Owner::At(apex), DNAME, ttl, target);
        rrsigs(w, Section::Answer, apex, ttl, Some(sigs));
    }
}

/// The NSEC records of a NODATA answer: at the apex its compact-denial NSEC; below it the
/// NSEC covering the query name (when that is not the wildcard's own) and the wildcard's,
/// whose bitmap lacks the type asked.
pub(super) fn deny_type(
    w: &mut Writer<'_>,
    zone: &ZoneSigs,
    at_apex: bool,
    next_closer: &[u8],
    missing: Missing,
    ttl: u32,
) {
    if at_apex {
        nsec(w, &zone.apex_nsec[missing as usize], ttl);
        return;
    }
    let covering = zone.covering(next_closer);
    if std::ptr::eq(covering, &zone.gap_nsec) {
        nsec(w, covering, ttl);
    }
    nsec(w, &zone.wildcard_nsec[missing as usize], ttl);
}

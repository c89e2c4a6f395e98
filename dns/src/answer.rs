//! The answer decision: a sync function of (snapshot, query bytes, client address,
//! random draw) that writes the response, or the packet to forward, into a reused buffer.
//!
//! Order: the wire checks of [`crate::wire::parse_query`] (drop, NOTIMP, FORMERR, BADVERS),
//! then class, then the customer (REFUSED outside every bound domain), then the bound
//! domain's own SOA and NS, then region → coverage entry → weighted pick → answer.

use std::net::{IpAddr, SocketAddr};

use crate::dnssec;

use crate::snapshot::signed::Missing;
use crate::snapshot::{Answer, Snapshot};
use crate::wire::{
    self, CLASS_IN, ClientSubnet, Owner, QNAME_OFFSET, Rcode, Section, Writer, rtype,
};

/// How the answer leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// UDP: the answer must fit the client's payload size, else TC.
    Udp,
    /// TCP: up to 65535 bytes.
    Tcp,
}

/// What the listener does with the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Send {
    /// Nothing (a response, a runt).
    Nothing,
    /// The buffer is the answer for the client.
    Reply,
    /// The buffer is a query for this server; relay its answer back with the client's id.
    Relay(SocketAddr),
    /// The buffer is the client's query, to send to this server with the client's address
    /// as source.
    Triangle(SocketAddr),
}

/// What happened, for the query log and counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    /// Client id of the query (to answer a relayed query).
    pub id: u16,
    /// Query type (0 when unread).
    pub qtype: u16,
    /// Length of the question name in wire form at offset 12 of the query (0 when unread).
    pub qname_len: u8,
    /// The response code sent (or to be relayed).
    pub rcode: Rcode,
    /// The client subnet of the query.
    pub subnet: Option<ClientSubnet>,
    /// The region id, when a region was looked up.
    pub region: Option<u32>,
    /// The chosen lookup, when one was drawn.
    pub choice: Option<u32>,
}

/// The outcome of one query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// What to send.
    pub send: Send,
    /// What to log.
    pub info: Info,
}

/// Answers `packet` from `client` over `transport`, drawing with `draw` (uniform; the low
/// 32 bits pick, the high bits give relayed queries their id), into `out`.
pub fn answer(
    snap: &Snapshot,
    packet: &[u8],
    client: IpAddr,
    draw: u64,
    transport: Transport,
    out: &mut Vec<u8>,
) -> Outcome {
    let mut info = Info {
        id: 0,
        qtype: 0,
        qname_len: 0,
        rcode: Rcode::NoError,
        subnet: None,
        region: None,
        choice: None,
    };
    let q = match wire::parse_query(packet) {
        Ok(q) => q,
        Err(reject) => {
            if let wire::Reject::Reply { id, rcode, .. } = reject {
                info.id = id;
                info.rcode = rcode;
            }
            let send = if wire::write_reject(&reject, out) {
                Send::Reply
            } else {
                Send::Nothing
            };
            return Outcome { send, info };
        }
    };
    info.id = q.id;
    info.qtype = q.qtype;
    info.qname_len = q.qname().len() as u8;
    info.subnet = q.edns.and_then(|e| e.subnet);
    let limit = match transport {
        Transport::Udp => wire::udp_limit(q.edns.as_ref()),
        Transport::Tcp => usize::from(u16::MAX),
    };
    let reply = |out: &mut Vec<u8>, info: &mut Info, rcode, scope| {
        info.rcode = rcode;
        let w = Writer::new(out, q.id, q.flags, Some(q.question), rcode, false);
        w.finish(q.edns.as_ref(), rcode, scope, limit);
        Outcome {
            send: Send::Reply,
            info: *info,
        }
    };
    // Other classes, and zone transfers (nothing here is a zone to copy), are refused.
    if (q.qclass != CLASS_IN && q.qclass != 255) || matches!(q.qtype, 251 | 252) {
        return reply(out, &mut info, Rcode::Refused, 0);
    }

    let mut lower = [0u8; 255];
    let qname = q.qname();
    let lower = &mut lower[..qname.len()];
    for (l, b) in lower.iter_mut().zip(qname) {
        *l = b.to_ascii_lowercase();
    }
    let Some((_, customer)) = snap.customer_for(lower) else {
        return reply(out, &mut info, Rcode::Refused, 0);
    };
    let apex = QNAME_OFFSET + (qname.len() - customer.wire_len) as u16;
    let at_apex = qname.len() == customer.wire_len;
    let ttl = snap.ttl();
    // Spec §10: signatures go with answers of a signed zone when the query has DO.
    let dnssec_ok = q.edns.is_some_and(|e| e.dnssec_ok);
    let sigs = customer.signed.as_deref().filter(|_| dnssec_ok);
    let next_closer = next_closer(lower, qname.len() - customer.wire_len);

    if at_apex && matches!(q.qtype, rtype::SOA | rtype::NS) {
        let mut w = Writer::new(out, q.id, q.flags, Some(q.question), Rcode::NoError, true);
        if q.qtype == rtype::SOA {
            w.record(
                Section::Answer,
                Owner::At(apex),
                rtype::SOA,
                ttl,
                &customer.soa_rdata,
            );
            signed::rrsigs(&mut w, Section::Answer, apex, ttl, sigs.map(|z| &z.soa));
        } else {
            for ns in snap.ns_wire() {
                w.record(Section::Answer, Owner::At(apex), rtype::NS, ttl, ns);
            }
            signed::rrsigs(&mut w, Section::Answer, apex, ttl, sigs.map(|z| &z.ns));
        }
        w.finish(q.edns.as_ref(), Rcode::NoError, 0, limit);
        return Outcome {
            send: Send::Reply,
            info,
        };
    }
    if let Some(zone) = customer.signed.as_deref()
        && at_apex
        && q.qtype == dnssec::rtype::DNSKEY
    {
        let mut w = Writer::new(out, q.id, q.flags, Some(q.question), Rcode::NoError, true);
        for key in &zone.dnskeys {
            w.record(Section::Answer, Owner::At(apex), q.qtype, ttl, key);
        }
        signed::rrsigs(
            &mut w,
            Section::Answer,
            apex,
            ttl,
            sigs.map(|z| &z.dnskey_sigs),
        );
        w.finish(q.edns.as_ref(), Rcode::NoError, 0, limit);
        return Outcome {
            send: Send::Reply,
            info,
        };
    }

    let client_addr = match info.subnet {
        Some(s) if s.source_len > 0 => s.addr,
        _ => client,
    };
    let hit = snap.region_of(client_addr);
    info.region = Some(hit.region);
    let scope = match info.subnet {
        Some(s) if s.source_len > 0 => hit.prefix_len.unwrap_or(s.source_len),
        _ => 0,
    };
    let Some(entry) = snap.entry(customer.coverage, hit.region) else {
        return reply(out, &mut info, Rcode::ServFail, scope);
    };
    let pick = match q.qtype {
        rtype::A => entry.a.as_ref(),
        rtype::AAAA => entry.aaaa.as_ref(),
        rtype::ANY => entry.a.as_ref().or(entry.aaaa.as_ref()),
        _ => Some(&entry.other),
    };
    let nodata = |out: &mut Vec<u8>, info: &mut Info| {
        let mut w = Writer::new(out, q.id, q.flags, Some(q.question), Rcode::NoError, true);
        w.record(
            Section::Authority,
            Owner::At(apex),
            rtype::SOA,
            ttl,
            &customer.soa_rdata,
        );
        if let Some(zone) = sigs {
            signed::rrsigs(&mut w, Section::Authority, apex, ttl, Some(&zone.soa));
            signed::deny_type(
                &mut w,
                zone,
                at_apex,
                next_closer,
                Missing::of(q.qtype),
                ttl,
            );
        }
        w.finish(q.edns.as_ref(), Rcode::NoError, scope, limit);
        Outcome {
            send: Send::Reply,
            info: *info,
        }
    };
    let Some(pick) = pick else {
        if q.qtype == rtype::ANY {
            // RFC 8482 §4.2: a minimal synthesized HINFO.
            let mut w = Writer::new(out, q.id, q.flags, Some(q.question), Rcode::NoError, true);
            w.record(
                Section::Answer,
                Owner::At(QNAME_OFFSET),
                rtype::HINFO,
                ttl,
                b"\x07RFC8482\x00",
            );
            w.finish(q.edns.as_ref(), Rcode::NoError, scope, limit);
            return Outcome {
                send: Send::Reply,
                info,
            };
        }
        return nodata(out, &mut info);
    };
    let idx = pick.pick(if snap.sticky() {
        sticky_draw(client_addr)
    } else {
        draw as u32
    });
    info.choice = Some(idx);
    match &snap.choice(idx).answer {
        Answer::Address { rtype: t, rdata } => {
            if q.qtype != *t && q.qtype != rtype::ANY {
                // No record of this type: nobody was sent anywhere.
                info.choice = None;
                return nodata(out, &mut info);
            }
            let mut w = Writer::new(out, q.id, q.flags, Some(q.question), Rcode::NoError, true);
            w.record(Section::Answer, Owner::At(QNAME_OFFSET), *t, ttl, rdata);
            if let Some(zone) = sigs {
                signed::prove(&mut w, zone, idx, at_apex, next_closer, ttl);
            }
            w.finish(q.edns.as_ref(), Rcode::NoError, scope, limit);
        }
        Answer::Alias(target) => {
            let mut w = Writer::new(out, q.id, q.flags, Some(q.question), Rcode::NoError, true);
            w.record(
                Section::Answer,
                Owner::At(QNAME_OFFSET),
                rtype::CNAME,
                ttl,
                target,
            );
            if let Some(zone) = sigs {
                signed::prove(&mut w, zone, idx, at_apex, next_closer, ttl);
            }
            w.finish(q.edns.as_ref(), Rcode::NoError, scope, limit);
        }
        Answer::AliasSuffix(suffix) => {
            let labels = &qname[..qname.len() - 1];
            if labels.len() + suffix.len() + 1 > 255 {
                return reply(out, &mut info, Rcode::YxDomain, scope);
            }
            let mut w = Writer::new(out, q.id, q.flags, Some(q.question), Rcode::NoError, true);
            if let Some(zone) = sigs
                && !at_apex
            {
                // Below the apex the target depends on the name: the signed DNAME at the
                // apex proves the CNAME synthesized from it.
                signed::dname(&mut w, zone, idx, apex, ttl);
            }
            w.record_with(
                Section::Answer,
                Owner::At(QNAME_OFFSET),
                rtype::CNAME,
                ttl,
                |b| {
                    b.extend_from_slice(labels);
                    b.extend_from_slice(suffix);
                    b.push(0);
                },
            );
            if let Some(zone) = sigs
                && at_apex
            {
                signed::prove(&mut w, zone, idx, true, next_closer, ttl);
            }
            w.finish(q.edns.as_ref(), Rcode::NoError, scope, limit);
        }
        Answer::Referral(servers) => {
            let mut w = Writer::new(out, q.id, q.flags, Some(q.question), Rcode::NoError, false);
            // Glue owners point at the NS names just written; 16 servers is plenty.
            let mut at = [0u16; 16];
            for (i, (ns, _)) in servers.iter().enumerate() {
                let off = w.record(Section::Authority, Owner::At(apex), rtype::NS, ttl, ns);
                if let Some(slot) = at.get_mut(i) {
                    *slot = off as u16;
                }
            }
            for (i, (ns, addr)) in servers.iter().enumerate() {
                let owner = match at.get(i) {
                    Some(&off) if off < 0x3FFF => Owner::At(off),
                    _ => Owner::Wire(ns),
                };
                match addr {
                    IpAddr::V4(a) => {
                        w.record(Section::Additional, owner, rtype::A, ttl, &a.octets())
                    }
                    IpAddr::V6(a) => {
                        w.record(Section::Additional, owner, rtype::AAAA, ttl, &a.octets())
                    }
                };
            }
            w.finish(q.edns.as_ref(), Rcode::NoError, scope, limit);
        }
        Answer::Relay(server) => {
            let subnet = match info.subnet {
                Some(s) if s.source_len > 0 => s,
                _ => wire::default_subnet(client),
            };
            wire::write_forward_query(&q, (draw >> 32) as u16, subnet, out);
            return Outcome {
                send: Send::Relay(*server),
                info,
            };
        }
        Answer::Triangle(server) => {
            out.clear();
            out.extend_from_slice(packet);
            return Outcome {
                send: Send::Triangle(*server),
                info,
            };
        }
    }
    Outcome {
        send: Send::Reply,
        info,
    }
}

/// The label of `lower` (a query name, lower-case wire form) just above `zone_at`, the
/// offset of the zone's name in it: the "next closer" name of RFC 5155 (empty at the apex).
fn next_closer(lower: &[u8], zone_at: usize) -> &[u8] {
    let mut at = 0;
    while at < zone_at {
        let end = at + 1 + usize::from(lower[at]);
        if end == zone_at {
            return &lower[at + 1..end];
        }
        at = end;
    }
    &[]
}

/// A draw fixed by the client's network (/24 or /56): a well-mixed hash (splitmix64's
/// finaliser) so that networks spread over the weights like random draws would.
fn sticky_draw(addr: IpAddr) -> u32 {
    let net: u64 = match addr {
        IpAddr::V4(a) => u64::from(a.to_bits() >> 8),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => u64::from(v4.to_bits() >> 8),
            None => (a.to_bits() >> 72) as u64 | 1 << 63,
        },
    };
    let mut z = net.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) as u32
}

/// Writes a SERVFAIL answer to `q` (a relay that got no answer).
pub fn servfail(q: &wire::Query<'_>, out: &mut Vec<u8>) {
    let w = Writer::new(out, q.id, q.flags, Some(q.question), Rcode::ServFail, false);
    w.finish(q.edns.as_ref(), Rcode::ServFail, 0, usize::from(u16::MAX));
}

/// A wire-form name as text with the case it was sent in (`\DDD` for odd bytes), for logs.
pub fn qname_text(mut name: &[u8], out: &mut String) {
    out.clear();
    while let Some((&len, rest)) = name.split_first() {
        if len == 0 || usize::from(len) > rest.len() {
            break;
        }
        for &b in &rest[..usize::from(len)] {
            if b.is_ascii_graphic() && b != b'.' && b != b'\\' {
                out.push(b as char);
            } else {
                out.push_str(&format!("\\{b:03}"));
            }
        }
        out.push('.');
        name = &rest[usize::from(len)..];
    }
    if out.is_empty() {
        out.push('.');
    }
}

/// The query type's mnemonic, for logs.
pub fn qtype_text(qtype: u16) -> std::borrow::Cow<'static, str> {
    match qtype {
        rtype::A => "A".into(),
        rtype::NS => "NS".into(),
        rtype::CNAME => "CNAME".into(),
        rtype::SOA => "SOA".into(),
        rtype::AAAA => "AAAA".into(),
        rtype::ANY => "ANY".into(),
        15 => "MX".into(),
        16 => "TXT".into(),
        t => format!("TYPE{t}").into(),
    }
}

mod signed;

#[cfg(test)]
mod tests;

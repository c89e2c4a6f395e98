//! DNS wire format: a checked, borrowed view of a query, and the response writer.
//!
//! Only what an authoritative redirector needs is decoded: the header, the one question
//! (its bytes kept as sent, so 0x20 case survives) and the EDNS OPT record with its Client
//! Subnet option. Checks run in order of cost (RFC 1035 header first), and every bound is
//! checked before a byte is read: no input panics. Responses are written into a reused
//! buffer; owners point back at the question name (compression), so a typical answer is
//! a few `extend_from_slice` calls.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Length of the DNS header.
pub const HEADER_LEN: usize = 12;
/// Largest UDP answer without EDNS (RFC 1035).
pub const PLAIN_UDP_LIMIT: usize = 512;
/// The UDP payload size this engine advertises and honours at most (DNS flag day 2020).
pub const EDNS_UDP_LIMIT: u16 = 1232;

/// Record types the engine reads or writes.
pub mod rtype {
    /// IPv4 address.
    pub const A: u16 = 1;
    /// Name server.
    pub const NS: u16 = 2;
    /// Alias.
    pub const CNAME: u16 = 5;
    /// Start of authority.
    pub const SOA: u16 = 6;
    /// Host info (RFC 8482 minimal ANY answers).
    pub const HINFO: u16 = 13;
    /// IPv6 address.
    pub const AAAA: u16 = 28;
    /// EDNS pseudo-record.
    pub const OPT: u16 = 41;
    /// Any type.
    pub const ANY: u16 = 255;
}

/// The Internet class.
pub const CLASS_IN: u16 = 1;
const OPTION_ECS: u16 = 8;

/// Response codes, with EDNS extended ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Rcode {
    /// No error.
    NoError = 0,
    /// Malformed query.
    FormErr = 1,
    /// Server failure.
    ServFail = 2,
    /// The name does not exist.
    NxDomain = 3,
    /// Opcode not implemented.
    NotImp = 4,
    /// Not served here.
    Refused = 5,
    /// A name that would be too long (suffix CNAME past 255 bytes).
    YxDomain = 6,
    /// Unsupported EDNS version (extended rcode).
    BadVers = 16,
}

impl Rcode {
    /// Lower-case mnemonic for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoError => "noerror",
            Self::FormErr => "formerr",
            Self::ServFail => "servfail",
            Self::NxDomain => "nxdomain",
            Self::NotImp => "notimp",
            Self::Refused => "refused",
            Self::YxDomain => "yxdomain",
            Self::BadVers => "badvers",
        }
    }
}

/// An EDNS Client Subnet option (RFC 7871) as received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientSubnet {
    /// The address, host bits zero.
    pub addr: IpAddr,
    /// Source prefix length.
    pub source_len: u8,
}

/// The OPT record of a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edns {
    /// Requester's UDP payload size.
    pub payload: u16,
    /// EDNS version.
    pub version: u8,
    /// DNSSEC OK bit (copied back).
    pub dnssec_ok: bool,
    /// Client subnet, when sent.
    pub subnet: Option<ClientSubnet>,
}

/// A checked query. `question` borrows the packet.
#[derive(Clone, Copy, Debug)]
pub struct Query<'a> {
    /// Message id.
    pub id: u16,
    /// Header flags as received.
    pub flags: u16,
    /// The question section as sent: the name (wire form) then type and class.
    pub question: &'a [u8],
    /// Query type.
    pub qtype: u16,
    /// Query class.
    pub qclass: u16,
    /// The OPT record, when present.
    pub edns: Option<Edns>,
}

impl<'a> Query<'a> {
    /// The question name in wire form, ending with the root label.
    pub fn qname(&self) -> &'a [u8] {
        &self.question[..self.question.len() - 4]
    }
}

/// Why a packet gets no normal answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reject<'a> {
    /// Too short, or a response: send nothing.
    Drop,
    /// Send a bare error answer.
    Reply {
        /// Message id.
        id: u16,
        /// Flags of the query (opcode, RD, CD are copied).
        flags: u16,
        /// The error.
        rcode: Rcode,
        /// The question when it could be read, to echo.
        question: Option<&'a [u8]>,
        /// EDNS of the query when read (for BADVERS, and to answer with OPT).
        edns: Option<Edns>,
    },
}

const FLAG_QR: u16 = 0x8000;
const FLAG_AA: u16 = 0x0400;
const FLAG_TC: u16 = 0x0200;
const FLAG_RD: u16 = 0x0100;
const FLAG_CD: u16 = 0x0010;
const OPCODE_MASK: u16 = 0x7800;

fn be16(p: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*p.get(at)?, *p.get(at + 1)?]))
}

fn be32(p: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(p.get(at..at + 4)?.try_into().ok()?))
}

/// Reads and checks a query.
pub fn parse_query(p: &[u8]) -> Result<Query<'_>, Reject<'_>> {
    if p.len() < HEADER_LEN {
        return Err(Reject::Drop);
    }
    let id = u16::from_be_bytes([p[0], p[1]]);
    let flags = u16::from_be_bytes([p[2], p[3]]);
    if flags & FLAG_QR != 0 {
        return Err(Reject::Drop);
    }
    let reply = |rcode, question, edns| Reject::Reply {
        id,
        flags,
        rcode,
        question,
        edns,
    };
    // Error answers carry OPT when the query had it (RFC 6891 §7) and the packet can be
    // read that far.
    if flags & OPCODE_MASK != 0 {
        return Err(reply(
            Rcode::NotImp,
            sole_question(p),
            edns_of_odd_packet(p),
        ));
    }
    let (qd, an, ns, ar) = (
        u16::from_be_bytes([p[4], p[5]]),
        u16::from_be_bytes([p[6], p[7]]),
        u16::from_be_bytes([p[8], p[9]]),
        u16::from_be_bytes([p[10], p[11]]),
    );
    if qd != 1 || an != 0 || ns != 0 {
        return Err(reply(Rcode::FormErr, None, edns_of_odd_packet(p)));
    }
    let Some(qname_end) = question_name_end(p, HEADER_LEN) else {
        return Err(reply(Rcode::FormErr, None, None));
    };
    let (Some(qtype), Some(qclass)) = (be16(p, qname_end), be16(p, qname_end + 2)) else {
        return Err(reply(Rcode::FormErr, None, None));
    };
    let question = &p[HEADER_LEN..qname_end + 4];
    let edns = match additional_opt(p, qname_end + 4, ar) {
        Ok(edns) => edns,
        Err(first_opt) => return Err(reply(Rcode::FormErr, Some(question), first_opt)),
    };
    if let Some(e) = edns
        && e.version != 0
    {
        return Err(reply(Rcode::BadVers, Some(question), Some(e)));
    }
    Ok(Query {
        id,
        flags,
        question,
        qtype,
        qclass,
        edns,
    })
}

/// End of an uncompressed name starting at `at`, checking label and name lengths.
fn question_name_end(p: &[u8], mut at: usize) -> Option<usize> {
    let start = at;
    loop {
        let len = usize::from(*p.get(at)?);
        if len == 0 {
            return Some(at + 1);
        }
        // Compression pointers and the reserved label types have no place in a question.
        if len > 63 {
            return None;
        }
        at += 1 + len;
        if at - start >= 255 {
            return None;
        }
    }
}

/// Skips a possibly compressed name (in records the engine only steps over).
pub(crate) fn skip_name(p: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *p.get(at)?;
        match len {
            0 => return Some(at + 1),
            1..=63 => at += 1 + usize::from(len),
            0xC0..=0xFF => {
                p.get(at + 1)?;
                return Some(at + 2);
            }
            _ => return None,
        }
    }
}

/// Reads the additional section, returning the one OPT record's contents. On error, the
/// first OPT's header when that much was sound (the FORMERR answer then carries OPT).
fn additional_opt(p: &[u8], mut at: usize, count: u16) -> Result<Option<Edns>, Option<Edns>> {
    let mut edns: Option<Edns> = None;
    for _ in 0..count {
        let name_start = at;
        at = skip_name(p, at).ok_or(edns)?;
        let rtype = be16(p, at).ok_or(edns)?;
        let class = be16(p, at + 2).ok_or(edns)?;
        let ttl = be32(p, at + 4).ok_or(edns)?;
        let rdlen = usize::from(be16(p, at + 8).ok_or(edns)?);
        let rdata = p.get(at + 10..at + 10 + rdlen).ok_or(edns)?;
        at += 10 + rdlen;
        if rtype != rtype::OPT {
            continue;
        }
        // One OPT, owned by the root (RFC 6891 §6.1.1).
        if edns.is_some() || at - rdlen - 10 != name_start + 1 || p[name_start] != 0 {
            return Err(edns);
        }
        let mut opt = Edns {
            payload: class,
            version: (ttl >> 16) as u8,
            dnssec_ok: ttl & 0x8000 != 0,
            subnet: None,
        };
        opt.subnet = client_subnet(rdata).map_err(|()| Some(opt))?;
        edns = Some(opt);
    }
    Ok(edns)
}

/// The question of a packet with exactly one, as sent (for the NOTIMP answer's echo).
fn sole_question(p: &[u8]) -> Option<&[u8]> {
    if be16(p, 4)? != 1 {
        return None;
    }
    let end = question_name_end(p, HEADER_LEN)? + 4;
    p.get(HEADER_LEN..end)
}

/// The OPT of a packet refused before the normal parse (another opcode, odd section
/// counts): every record is stepped over as RFC 1035 lays them out and the OPT is read
/// if it is there and sound. Each step moves forward, so this ends within the packet.
fn edns_of_odd_packet(p: &[u8]) -> Option<Edns> {
    let (qd, an, ns, ar) = (be16(p, 4)?, be16(p, 6)?, be16(p, 8)?, be16(p, 10)?);
    let mut at = HEADER_LEN;
    for _ in 0..qd {
        at = skip_name(p, at)? + 4;
    }
    for _ in 0..u32::from(an) + u32::from(ns) {
        at = skip_name(p, at)?;
        at += 10 + usize::from(be16(p, at + 8)?);
    }
    p.get(at..)?;
    additional_opt(p, at, ar).ok().flatten()
}

/// The ECS option among the OPT options, checked as RFC 7871 §6 asks.
fn client_subnet(mut opts: &[u8]) -> Result<Option<ClientSubnet>, ()> {
    let mut found = None;
    while !opts.is_empty() {
        let code = be16(opts, 0).ok_or(())?;
        let len = usize::from(be16(opts, 2).ok_or(())?);
        let data = opts.get(4..4 + len).ok_or(())?;
        opts = &opts[4 + len..];
        if code != OPTION_ECS {
            continue;
        }
        if found.is_some() || data.len() < 4 {
            return Err(());
        }
        let family = u16::from_be_bytes([data[0], data[1]]);
        let source_len = data[2];
        let addr_bytes = &data[4..];
        let max = match family {
            1 => 32,
            2 => 128,
            _ => return Err(()),
        };
        if source_len > max || addr_bytes.len() != usize::from(source_len).div_ceil(8) {
            return Err(());
        }
        let mut full = [0u8; 16];
        full[..addr_bytes.len()].copy_from_slice(addr_bytes);
        // Bits past the source length must be zero.
        if let Some(&last) = addr_bytes.last()
            && source_len % 8 != 0
            && last & (0xFFu8 >> (source_len % 8)) != 0
        {
            return Err(());
        }
        let addr = if family == 1 {
            IpAddr::V4(Ipv4Addr::new(full[0], full[1], full[2], full[3]))
        } else {
            IpAddr::V6(Ipv6Addr::from(full))
        };
        found = Some(ClientSubnet { addr, source_len });
    }
    Ok(found)
}

/// Where a record's owner name comes from.
#[derive(Clone, Copy, Debug)]
pub enum Owner<'a> {
    /// A compression pointer to this packet offset.
    At(u16),
    /// A full wire-form name.
    Wire(&'a [u8]),
}

/// Offset of the question name in every message.
pub const QNAME_OFFSET: u16 = HEADER_LEN as u16;

/// Builds one response in a caller-owned buffer.
#[derive(Debug)]
pub struct Writer<'b> {
    buf: &'b mut Vec<u8>,
    counts: [u16; 3],
    section: usize,
    question_end: usize,
}

/// The sections after the question.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    /// Answer.
    Answer = 0,
    /// Authority.
    Authority = 1,
    /// Additional.
    Additional = 2,
}

impl<'b> Writer<'b> {
    /// Starts a response to a query with `id` and `query_flags`, echoing `question`.
    pub fn new(
        buf: &'b mut Vec<u8>,
        id: u16,
        query_flags: u16,
        question: Option<&[u8]>,
        rcode: Rcode,
        authoritative: bool,
    ) -> Self {
        buf.clear();
        let mut flags = FLAG_QR | (query_flags & (OPCODE_MASK | FLAG_RD | FLAG_CD));
        if authoritative {
            flags |= FLAG_AA;
        }
        flags |= (rcode as u16) & 0x000F;
        buf.extend_from_slice(&id.to_be_bytes());
        buf.extend_from_slice(&flags.to_be_bytes());
        buf.extend_from_slice(&[0, u8::from(question.is_some()), 0, 0, 0, 0, 0, 0]);
        if let Some(q) = question {
            buf.extend_from_slice(q);
        }
        let question_end = buf.len();
        Self {
            buf,
            counts: [0; 3],
            section: 0,
            question_end,
        }
    }

    /// Current length: the offset the next byte will have.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True before anything is written (never: the header is written at once).
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Appends a record; sections must be written in order. Returns the rdata's offset.
    pub fn record(
        &mut self,
        section: Section,
        owner: Owner<'_>,
        rtype: u16,
        ttl: u32,
        rdata: &[u8],
    ) -> usize {
        self.record_with(section, owner, rtype, ttl, |b| b.extend_from_slice(rdata))
    }

    /// Appends a record whose rdata `write` appends; returns the rdata's offset.
    pub fn record_with(
        &mut self,
        section: Section,
        owner: Owner<'_>,
        rtype: u16,
        ttl: u32,
        write: impl FnOnce(&mut Vec<u8>),
    ) -> usize {
        debug_assert!(section as usize >= self.section, "sections out of order");
        self.section = section as usize;
        match owner {
            Owner::At(off) => self.buf.extend_from_slice(&(0xC000 | off).to_be_bytes()),
            Owner::Wire(name) => self.buf.extend_from_slice(name),
        }
        self.buf.extend_from_slice(&rtype.to_be_bytes());
        self.buf.extend_from_slice(&CLASS_IN.to_be_bytes());
        self.buf.extend_from_slice(&ttl.to_be_bytes());
        let len_at = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        let rdata_at = self.buf.len();
        write(self.buf);
        let rdlen = (self.buf.len() - rdata_at) as u16;
        self.buf[len_at..len_at + 2].copy_from_slice(&rdlen.to_be_bytes());
        self.counts[section as usize] += 1;
        rdata_at
    }

    /// Writes the OPT record answering `edns`, echoing its subnet with `scope`.
    fn opt(&mut self, edns: &Edns, rcode: Rcode, scope: u8) {
        self.section = 2;
        let ext = ((rcode as u16) >> 4) as u32;
        let ttl = (ext << 24) | if edns.dnssec_ok { 0x8000 } else { 0 };
        self.buf.push(0);
        self.buf.extend_from_slice(&rtype::OPT.to_be_bytes());
        self.buf.extend_from_slice(&EDNS_UDP_LIMIT.to_be_bytes());
        self.buf.extend_from_slice(&ttl.to_be_bytes());
        match edns.subnet {
            None => self.buf.extend_from_slice(&[0, 0]),
            Some(s) => {
                let n = usize::from(s.source_len).div_ceil(8);
                let rdlen = (4 + 4 + n) as u16;
                self.buf.extend_from_slice(&rdlen.to_be_bytes());
                self.buf.extend_from_slice(&OPTION_ECS.to_be_bytes());
                self.buf.extend_from_slice(&((4 + n) as u16).to_be_bytes());
                let family: u16 = if s.addr.is_ipv4() { 1 } else { 2 };
                self.buf.extend_from_slice(&family.to_be_bytes());
                self.buf.extend_from_slice(&[s.source_len, scope]);
                match s.addr {
                    IpAddr::V4(a) => self.buf.extend_from_slice(&a.octets()[..n]),
                    IpAddr::V6(a) => self.buf.extend_from_slice(&a.octets()[..n]),
                }
            }
        }
        self.counts[2] += 1;
    }

    /// Adds OPT when the query had EDNS, fits the message into `limit` bytes (setting TC
    /// and dropping every record when it does not fit) and fills in the counts.
    pub fn finish(mut self, edns: Option<&Edns>, rcode: Rcode, scope: u8, limit: usize) {
        if let Some(e) = edns {
            self.opt(e, rcode, scope);
        }
        if self.buf.len() > limit {
            self.buf.truncate(self.question_end);
            self.counts = [0; 3];
            self.buf[2] |= (FLAG_TC >> 8) as u8;
            if let Some(e) = edns {
                self.opt(e, rcode, scope);
            }
        }
        for (i, c) in self.counts.iter().enumerate() {
            self.buf[6 + 2 * i..8 + 2 * i].copy_from_slice(&c.to_be_bytes());
        }
    }
}

/// The largest answer a client can take over UDP, from its EDNS payload size.
pub fn udp_limit(edns: Option<&Edns>) -> usize {
    match edns {
        None => PLAIN_UDP_LIMIT,
        Some(e) => usize::from(e.payload.clamp(PLAIN_UDP_LIMIT as u16, EDNS_UDP_LIMIT)),
    }
}

/// Writes the error answer for a rejected packet; returns false when nothing is sent.
pub fn write_reject(reject: &Reject<'_>, out: &mut Vec<u8>) -> bool {
    match *reject {
        Reject::Drop => false,
        Reject::Reply {
            id,
            flags,
            rcode,
            question,
            edns,
        } => {
            let w = Writer::new(out, id, flags, question, rcode, false);
            w.finish(edns.as_ref(), rcode, 0, usize::from(u16::MAX));
            true
        }
    }
}

/// A DNS name in wire form (`3www7example3com0`) from canonical text.
pub fn name_to_wire(name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 2);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out
}

/// Writes a forwarded query: the question of `q` with id `id`, RD as the client sent it,
/// and an OPT carrying `subnet` (the client's network) so the far server can pick too.
pub fn write_forward_query(q: &Query<'_>, id: u16, subnet: ClientSubnet, out: &mut Vec<u8>) {
    let w = Writer::new(
        out,
        id,
        q.flags & FLAG_RD,
        Some(q.question),
        Rcode::NoError,
        false,
    );
    // A query, not a response: clear QR the writer set.
    w.buf[2] &= !((FLAG_QR >> 8) as u8);
    let edns = Edns {
        payload: EDNS_UDP_LIMIT,
        version: 0,
        // Spec §10: a signed partner's answer is relayed as signed, for a client with DO.
        dnssec_ok: q.edns.is_some_and(|e| e.dnssec_ok),
        subnet: Some(subnet),
    };
    w.finish(Some(&edns), Rcode::NoError, 0, usize::from(u16::MAX));
}

/// The default subnet sent on for a client address: /24 for IPv4, /56 for IPv6 (RFC 7871
/// §11.1's privacy advice).
pub fn default_subnet(addr: IpAddr) -> ClientSubnet {
    let (addr, source_len) = match addr {
        IpAddr::V4(a) => (
            IpAddr::V4(Ipv4Addr::from_bits(a.to_bits() & 0xFFFF_FF00)),
            24,
        ),
        IpAddr::V6(a) => (
            IpAddr::V6(Ipv6Addr::from_bits(a.to_bits() & (u128::MAX << 72))),
            56,
        ),
    };
    ClientSubnet { addr, source_len }
}

#[cfg(test)]
mod tests;

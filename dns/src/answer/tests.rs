//! The answer decision against hickory-proto as an independent decoder.

use std::net::{IpAddr, Ipv4Addr};

use broker_config::{Tables, Transaction};
use hickory_proto::op::{Edns, Message, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::opt::{ClientSubnet as HClientSubnet, EdnsCode, EdnsOption};
use hickory_proto::rr::{Name as HName, RData, RecordType};
use proptest::prelude::*;

use super::*;
use crate::snapshot::{Settings, Snapshot};

/// The spec §1 example plus a more specific binding, a relay, a coverage without DEFAULT
/// and a referral too big for UDP.
pub(crate) const EXAMPLE: &str = "
ADD REG FRANCE { 198.54.234.0, 23; 209.88.72.0, 21; }!
ADD REG GERMANY { 196.8.0.0, 16; 2001:db8:de::, 48; }!
ADD CVG two-cdns {
  FRANCE,  [70 = A:192.0.2.10; 30 = N:(ns1.cdn-g.example 198.51.100.53);];
  GERMANY, [100 = C:.cdn-g.example;];
  DEFAULT, [100 = A:192.0.2.10; 100 = A:2001:db8::10;];
}!
ADD CVG fixed { DEFAULT, [0 = A:192.0.2.99; 1 = C:target.example;]; }!
ADD CVG relay { DEFAULT, [1 = R:(ns.p.example 127.0.0.1);]; }!
ADD CVG france-only { FRANCE, [1 = A:192.0.2.1;]; }!
ADD CST img.xyz.com { two-cdns; }!
ADD CST a.img.xyz.com { fixed; }!
ADD CST r.example { relay; }!
ADD CST fr.example { france-only; }!
END
";

pub(crate) fn example_tables() -> Tables {
    let mut text = EXAMPLE.replace("END", "");
    text.push_str("ADD CVG big-referral { DEFAULT, [1 = N:");
    for i in 0..40 {
        if i > 0 {
            text.push_str(", ");
        }
        text.push_str(&format!(
            "(ns{i}.a-rather-long-partner-name.cdn-g.example 198.51.100.53)"
        ));
    }
    text.push_str(";]; }!\nADD CST big.example { big-referral; }!\nEND\n");
    let mut t = Tables::new();
    t.apply(&Transaction::parse(&text).unwrap()).unwrap();
    t
}

pub(crate) fn example() -> Snapshot {
    let settings = Settings {
        ns: vec![
            broker_config::DnsName::new("ns1.broker.example").unwrap(),
            broker_config::DnsName::new("ns2.broker.example").unwrap(),
        ],
        ttl: 20,
        forward_port: 53,
        sticky: false,
    };
    Snapshot::build(7, &settings, &example_tables()).unwrap()
}

fn query(qname: &str, qtype: RecordType, subnet: Option<(&str, u8)>) -> Vec<u8> {
    let mut m = Message::query();
    m.add_query(Query::query(HName::from_ascii(qname).unwrap(), qtype));
    m.metadata.recursion_desired = true;
    if let Some((a, len)) = subnet {
        let mut e = Edns::new();
        e.set_max_payload(1232);
        e.options_mut()
            .insert(EdnsOption::Subnet(HClientSubnet::new(
                a.parse().unwrap(),
                len,
                0,
            )));
        m.edns = Some(e);
    }
    m.to_vec().unwrap()
}

const ELSEWHERE: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9));

fn run(packet: &[u8], client: IpAddr, draw: u64, t: Transport) -> (Outcome, Vec<u8>) {
    let snap = example();
    let mut out = Vec::new();
    let o = answer(&snap, packet, client, draw, t, &mut out);
    (o, out)
}

fn ask(
    qname: &str,
    qtype: RecordType,
    subnet: Option<(&str, u8)>,
    client: IpAddr,
    draw: u64,
) -> Message {
    let (o, out) = run(&query(qname, qtype, subnet), client, draw, Transport::Udp);
    assert_eq!(o.send, Send::Reply);
    Message::from_vec(&out).unwrap()
}

fn scope(m: &Message) -> Option<u8> {
    match m.edns.as_ref()?.option(EdnsCode::Subnet)? {
        EdnsOption::Subnet(s) => Some(s.scope_prefix()),
        _ => None,
    }
}

#[test]
fn ecs_address_picks_the_region_and_sets_the_scope() {
    let m = ask(
        "ImG.XyZ.cOm.",
        RecordType::A,
        Some(("198.54.235.0", 24)),
        ELSEWHERE,
        0,
    );
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.metadata.authoritative);
    assert!(m.metadata.recursion_desired);
    assert_eq!(m.answers.len(), 1);
    assert_eq!(
        m.answers[0].data,
        RData::A("192.0.2.10".parse::<Ipv4Addr>().unwrap().into())
    );
    assert_eq!(m.answers[0].ttl, 20);
    // 0x20: the owner and the question keep the sender's case.
    assert_eq!(m.answers[0].name.to_ascii(), "ImG.XyZ.cOm.");
    assert_eq!(m.queries[0].name().to_ascii(), "ImG.XyZ.cOm.");
    assert_eq!(scope(&m), Some(23));
}

#[test]
fn high_draw_gives_the_referral_with_glue_and_no_aa() {
    let m = ask(
        "img.xyz.com.",
        RecordType::A,
        Some(("198.54.235.0", 24)),
        ELSEWHERE,
        u64::from(u32::MAX),
    );
    assert!(!m.metadata.authoritative);
    assert!(m.answers.is_empty());
    assert_eq!(m.authorities.len(), 1);
    assert_eq!(m.authorities[0].name.to_ascii(), "img.xyz.com.");
    assert_eq!(
        m.authorities[0].data,
        RData::NS(hickory_proto::rr::rdata::NS(
            HName::from_ascii("ns1.cdn-g.example.").unwrap()
        ))
    );
    let glue: Vec<_> = m.additionals.iter().collect();
    assert_eq!(glue.len(), 1);
    assert_eq!(glue[0].name.to_ascii(), "ns1.cdn-g.example.");
    assert_eq!(
        glue[0].data,
        RData::A("198.51.100.53".parse::<Ipv4Addr>().unwrap().into())
    );
}

#[test]
fn source_address_without_ecs_picks_the_region_and_suffix_cname_keeps_case() {
    let m = ask(
        "Pic.ImG.xyz.com.",
        RecordType::A,
        None,
        "196.8.1.1".parse().unwrap(),
        0,
    );
    assert!(m.metadata.authoritative);
    assert_eq!(m.answers[0].record_type(), RecordType::CNAME);
    match &m.answers[0].data {
        RData::CNAME(c) => assert_eq!(c.0.to_ascii(), "Pic.ImG.xyz.com.cdn-g.example."),
        other => panic!("{other:?}"),
    }
    assert!(m.edns.is_none());
}

#[test]
fn v6_ecs_in_a_region_is_matched() {
    let m = ask(
        "img.xyz.com.",
        RecordType::A,
        Some(("2001:db8:de::", 56)),
        ELSEWHERE,
        0,
    );
    assert_eq!(m.answers[0].record_type(), RecordType::CNAME);
    assert_eq!(scope(&m), Some(48));
}

#[test]
fn default_region_splits_by_family() {
    for draw in [0, u64::from(u32::MAX)] {
        let a = ask("img.xyz.com.", RecordType::A, None, ELSEWHERE, draw);
        assert_eq!(
            a.answers[0].data,
            RData::A("192.0.2.10".parse::<Ipv4Addr>().unwrap().into())
        );
        let aaaa = ask("img.xyz.com.", RecordType::AAAA, None, ELSEWHERE, draw);
        assert_eq!(
            aaaa.answers[0].data,
            RData::AAAA("2001:db8::10".parse::<std::net::Ipv6Addr>().unwrap().into())
        );
    }
}

#[test]
fn default_region_echoes_the_source_length_as_scope() {
    let m = ask(
        "img.xyz.com.",
        RecordType::A,
        Some(("10.1.2.0", 24)),
        ELSEWHERE,
        0,
    );
    assert_eq!(scope(&m), Some(24));
}

#[test]
fn most_specific_binding_wins_and_zero_weight_is_never_drawn() {
    for draw in [0, 1, 1 << 31, u64::from(u32::MAX)] {
        let m = ask("x.a.img.xyz.com.", RecordType::A, None, ELSEWHERE, draw);
        match &m.answers[0].data {
            RData::CNAME(c) => assert_eq!(c.0.to_ascii(), "target.example."),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn names_outside_every_binding_are_refused() {
    let m = ask("www.example.org.", RecordType::A, None, ELSEWHERE, 0);
    assert_eq!(m.metadata.response_code, ResponseCode::Refused);
    assert!(!m.metadata.authoritative);
    assert_eq!(m.queries.len(), 1);
    let m = ask("xyz.com.", RecordType::A, None, ELSEWHERE, 0);
    assert_eq!(m.metadata.response_code, ResponseCode::Refused);
}

#[test]
fn zone_transfers_are_refused() {
    let m = ask("img.xyz.com.", RecordType::AXFR, None, ELSEWHERE, 0);
    assert_eq!(m.metadata.response_code, ResponseCode::Refused);
}

#[test]
fn apex_soa_and_ns_use_the_configured_names() {
    let m = ask("IMG.xyz.com.", RecordType::SOA, None, ELSEWHERE, 0);
    assert!(m.metadata.authoritative);
    match &m.answers[0].data {
        RData::SOA(soa) => {
            assert_eq!(soa.mname.to_ascii(), "ns1.broker.example.");
            assert_eq!(soa.rname.to_ascii(), "hostmaster.img.xyz.com.");
            assert_eq!(soa.serial, 7);
        }
        other => panic!("{other:?}"),
    }
    let m = ask("img.xyz.com.", RecordType::NS, None, ELSEWHERE, 0);
    let names: Vec<String> = m
        .answers
        .iter()
        .map(|r| match &r.data {
            RData::NS(n) => n.0.to_ascii(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(names, ["ns1.broker.example.", "ns2.broker.example."]);
}

#[test]
fn other_types_with_an_address_pick_get_nodata_with_soa() {
    let m = ask("img.xyz.com.", RecordType::MX, None, ELSEWHERE, 0);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.metadata.authoritative);
    assert!(m.answers.is_empty());
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
    assert_eq!(m.authorities[0].name.to_ascii(), "img.xyz.com.");
}

#[test]
fn any_is_answered_with_one_rrset() {
    let m = ask("img.xyz.com.", RecordType::ANY, None, ELSEWHERE, 0);
    assert_eq!(m.answers.len(), 1);
    assert_eq!(m.answers[0].record_type(), RecordType::A);
}

#[test]
fn region_without_entry_nor_default_gets_servfail() {
    let m = ask("fr.example.", RecordType::A, None, ELSEWHERE, 0);
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    let m = ask(
        "fr.example.",
        RecordType::A,
        None,
        "209.88.72.1".parse().unwrap(),
        0,
    );
    assert_eq!(m.answers.len(), 1);
}

#[test]
fn other_opcodes_get_notimp() {
    let mut m = Message::new(
        0x1234,
        hickory_proto::op::MessageType::Query,
        OpCode::Update,
    );
    m.add_query(Query::query(
        HName::from_ascii("img.xyz.com.").unwrap(),
        RecordType::SOA,
    ));
    let (o, out) = run(&m.to_vec().unwrap(), ELSEWHERE, 0, Transport::Udp);
    assert_eq!(o.send, Send::Reply);
    let r = Message::from_vec(&out).unwrap();
    assert_eq!(r.metadata.id, 0x1234);
    assert_eq!(r.metadata.response_code, ResponseCode::NotImp);
    assert_eq!(r.metadata.op_code, OpCode::Update);
}

#[test]
fn no_question_gets_formerr_and_runts_or_responses_are_dropped() {
    let m = Message::query();
    let (o, out) = run(&m.to_vec().unwrap(), ELSEWHERE, 0, Transport::Udp);
    assert_eq!(o.send, Send::Reply);
    assert_eq!(
        Message::from_vec(&out).unwrap().metadata.response_code,
        ResponseCode::FormErr
    );
    assert_eq!(
        run(&[0; 11], ELSEWHERE, 0, Transport::Udp).0.send,
        Send::Nothing
    );
    let mut resp = query("img.xyz.com.", RecordType::A, None);
    resp[2] |= 0x80;
    assert_eq!(
        run(&resp, ELSEWHERE, 0, Transport::Udp).0.send,
        Send::Nothing
    );
}

#[test]
fn unknown_edns_version_gets_badvers() {
    let mut m = Message::query();
    m.add_query(Query::query(
        HName::from_ascii("img.xyz.com.").unwrap(),
        RecordType::A,
    ));
    let mut e = Edns::new();
    e.set_version(1);
    m.edns = Some(e);
    let (_, out) = run(&m.to_vec().unwrap(), ELSEWHERE, 0, Transport::Udp);
    let r = Message::from_vec(&out).unwrap();
    // 16 is both BADVERS and BADSIG; hickory names it the latter.
    assert_eq!(u16::from(r.metadata.response_code), 16);
    assert_eq!(r.edns.unwrap().version(), 0);
}

#[test]
fn big_answer_is_truncated_over_udp_and_whole_over_tcp() {
    let q = query("big.example.", RecordType::A, None);
    let (_, udp) = run(&q, ELSEWHERE, 0, Transport::Udp);
    assert!(udp.len() <= 512);
    let r = Message::from_vec(&udp).unwrap();
    assert!(r.metadata.truncation);
    assert!(r.authorities.is_empty());
    let (_, tcp) = run(&q, ELSEWHERE, 0, Transport::Tcp);
    let r = Message::from_vec(&tcp).unwrap();
    assert!(!r.metadata.truncation);
    assert_eq!(r.authorities.len(), 40);
    assert_eq!(r.additionals.len(), 40);
}

#[test]
fn relay_writes_a_forward_query_with_the_client_subnet() {
    let q = query("www.R.example.", RecordType::A, None);
    let (o, out) = run(
        &q,
        "198.54.235.77".parse().unwrap(),
        0xBEEF_0000_0000,
        Transport::Udp,
    );
    assert_eq!(o.send, Send::Relay("127.0.0.1:53".parse().unwrap()));
    let fwd = Message::from_vec(&out).unwrap();
    assert_eq!(
        fwd.metadata.message_type,
        hickory_proto::op::MessageType::Query
    );
    assert_eq!(fwd.metadata.id, 0xBEEF);
    assert_eq!(fwd.queries[0].name().to_ascii(), "www.R.example.");
    match fwd.edns.unwrap().option(EdnsCode::Subnet) {
        Some(EdnsOption::Subnet(s)) => {
            assert_eq!(s.addr(), "198.54.235.0".parse::<IpAddr>().unwrap());
            assert_eq!(s.source_prefix(), 24);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn evenly_spaced_draws_split_seventy_thirty_exactly() {
    let snap = example();
    let q = query("img.xyz.com.", RecordType::A, Some(("198.54.234.0", 24)));
    let mut out = Vec::new();
    let n = 1000u64;
    let mut referrals = 0;
    for k in 0..n {
        // Midpoints of n equal slices of the draw space.
        let o = answer(
            &snap,
            &q,
            ELSEWHERE,
            ((2 * k + 1) << 32) / (2 * n),
            Transport::Udp,
            &mut out,
        );
        if snap.choice(o.info.choice.unwrap()).answer.kind() == "referral" {
            referrals += 1;
        }
    }
    assert_eq!(referrals, 300);
}

#[test]
fn sticky_picks_keep_a_network_on_one_choice_and_spread_networks_by_weight() {
    let settings = Settings {
        sticky: true,
        ..Settings::default()
    };
    let snap = Snapshot::build(1, &settings, &example_tables()).unwrap();
    let mut out = Vec::new();
    let choice = |subnet: &str, draw: u64, out: &mut Vec<u8>| {
        let q = query("img.xyz.com.", RecordType::A, Some((subnet, 24)));
        answer(&snap, &q, ELSEWHERE, draw, Transport::Udp, out)
            .info
            .choice
            .unwrap()
    };
    let first = choice("198.54.234.0", 0, &mut out);
    for draw in [1, 1 << 31, u64::from(u32::MAX)] {
        assert_eq!(choice("198.54.234.0", draw, &mut out), first);
    }
    // Over 10,000 client networks the shares follow the weights.
    let mut t = Tables::new();
    let tx = "ADD CVG c { DEFAULT, [70 = A:192.0.2.70; 30 = A:192.0.2.30;]; }!\nADD CST s.example { c; }!\nEND\n";
    t.apply(&Transaction::parse(tx).unwrap()).unwrap();
    let snap = Snapshot::build(1, &settings, &t).unwrap();
    let q = query("s.example.", RecordType::A, None);
    let mut seventy = 0;
    for i in 0u32..10_000 {
        let client = IpAddr::V4(Ipv4Addr::from(0x0B00_0000 + (i << 8) + 7));
        let o = answer(&snap, &q, client, 0, Transport::Udp, &mut out);
        if out[out.len() - 4..] == [192, 0, 2, 70] {
            seventy += 1;
        }
        assert!(o.info.choice.is_some());
    }
    assert!((6700..=7300).contains(&seventy), "{seventy}");
}

#[test]
fn qname_text_keeps_case_and_escapes_odd_bytes() {
    let q = query("Img.xyz.com.", RecordType::A, None);
    let snap = example();
    let mut out = Vec::new();
    let o = answer(&snap, &q, ELSEWHERE, 0, Transport::Udp, &mut out);
    let mut s = String::new();
    qname_text(&q[12..12 + usize::from(o.info.qname_len)], &mut s);
    assert_eq!(s, "Img.xyz.com.");
    qname_text(b"\x03a b\0", &mut s);
    assert_eq!(s, "a\\032b.");
}

proptest! {
    #[test]
    fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let snap = example();
        let mut out = Vec::new();
        let o = answer(&snap, &bytes, ELSEWHERE, 0, Transport::Udp, &mut out);
        if o.send == Send::Reply {
            prop_assert!(out.len() >= 12);
            prop_assert_eq!(&out[..2], &bytes[..2]);
        }
    }

    #[test]
    fn mutated_queries_never_panic_and_replies_decode(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let snap = example();
        let mut q = query("a.img.xyz.com.", RecordType::A, Some(("198.54.234.0", 24)));
        for (i, b) in flips {
            let at = i.index(q.len());
            q[at] = b;
        }
        q.truncate(cut.index(q.len() + 1).max(1));
        let mut out = Vec::new();
        let o = answer(&snap, &q, ELSEWHERE, 0, Transport::Udp, &mut out);
        if o.send == Send::Reply {
            prop_assert!(Message::from_vec(&out).is_ok(), "undecodable reply {:02x?}", out);
        }
    }
}

/// The example signed for img.xyz.com with the key of `benches/data/keys` (spec §10).
fn signed_example() -> Snapshot {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/data/keys");
    let keys = crate::dnssec::ZoneKeys::read(&dir).unwrap();
    example().signed(
        std::sync::Arc::new(keys),
        crate::dnssec::Window::starting(1_800_000_000, 7),
        &crate::dnssec::SigCache::new(),
    )
}

fn ask_signed(
    qname: &str,
    qtype: RecordType,
    subnet: (&str, u8),
    draw: u64,
    dnssec_ok: bool,
) -> Message {
    let mut m = Message::from_vec(&query(qname, qtype, Some(subnet))).unwrap();
    m.edns.as_mut().unwrap().set_dnssec_ok(dnssec_ok);
    let mut out = Vec::new();
    let o = answer(
        &signed_example(),
        &m.to_vec().unwrap(),
        ELSEWHERE,
        draw,
        Transport::Udp,
        &mut out,
    );
    assert_eq!(o.send, Send::Reply);
    Message::from_vec(&out).unwrap()
}

/// (owner, type, and for RRSIG the type covered and labels; for NSEC the next name's
/// first label) of each record of a section.
fn shape(records: &[hickory_proto::rr::Record]) -> Vec<(String, String)> {
    use hickory_proto::serialize::binary::BinEncodable;
    records
        .iter()
        .map(|r| {
            let rdata = r.data.to_bytes().unwrap();
            let kind = match r.record_type() {
                RecordType::RRSIG => format!(
                    "RRSIG {} {}",
                    RecordType::from(u16::from_be_bytes([rdata[0], rdata[1]])),
                    rdata[3]
                ),
                RecordType::NSEC => format!("NSEC {:?}", &rdata[1..=usize::from(rdata[0])]),
                t => t.to_string(),
            };
            (r.name.to_ascii().to_lowercase(), kind)
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn each_variant_carries_its_own_signatures_with_do_only() {
    const FRANCE: (&str, u8) = ("198.54.235.0", 24);
    const GERMANY: (&str, u8) = ("196.8.1.0", 24);
    // FRANCE's address (draw 0) at the apex: the A and its RRSIG (3 labels).
    let m = ask_signed("img.xyz.com.", RecordType::A, FRANCE, 0, true);
    assert_eq!(
        shape(&m.answers),
        pairs(&[("img.xyz.com.", "A"), ("img.xyz.com.", "RRSIG A 3")])
    );
    assert_eq!(scope(&m), Some(23));
    // Without DO: as before.
    let m = ask_signed("img.xyz.com.", RecordType::A, FRANCE, 0, false);
    assert_eq!(shape(&m.answers), pairs(&[("img.xyz.com.", "A")]));
    // FRANCE's referral (a high draw) stays a plain referral.
    let m = ask_signed(
        "img.xyz.com.",
        RecordType::A,
        FRANCE,
        u64::from(u32::MAX),
        true,
    );
    assert!(m.answers.is_empty());
    assert_eq!(m.authorities[0].record_type(), RecordType::NS);
    // Below the apex: the wildcard's signature (3 labels for 4) and the NSEC covering it.
    let m = ask_signed("www.img.xyz.com.", RecordType::A, FRANCE, 0, true);
    assert_eq!(
        shape(&m.answers),
        pairs(&[("www.img.xyz.com.", "A"), ("www.img.xyz.com.", "RRSIG A 3")])
    );
    assert_eq!(
        shape(&m.authorities),
        pairs(&[
            ("*.img.xyz.com.", "NSEC [105, 109, 103]"),
            ("*.img.xyz.com.", "RRSIG NSEC 3")
        ])
    );
    // GERMANY's suffix CNAME: signed itself at the apex, by a DNAME below it.
    let m = ask_signed("img.xyz.com.", RecordType::A, GERMANY, 0, true);
    assert_eq!(
        shape(&m.answers),
        pairs(&[("img.xyz.com.", "CNAME"), ("img.xyz.com.", "RRSIG CNAME 3")])
    );
    let m = ask_signed("www.img.xyz.com.", RecordType::A, GERMANY, 0, true);
    assert_eq!(
        shape(&m.answers),
        pairs(&[
            ("img.xyz.com.", "DNAME"),
            ("img.xyz.com.", "RRSIG DNAME 3"),
            ("www.img.xyz.com.", "CNAME")
        ])
    );
    // A type that is not there: compact denial at the apex.
    let m = ask_signed("img.xyz.com.", RecordType::TXT, FRANCE, 0, true);
    assert!(m.answers.is_empty());
    assert_eq!(
        shape(&m.authorities),
        pairs(&[
            ("img.xyz.com.", "SOA"),
            ("img.xyz.com.", "RRSIG SOA 3"),
            ("img.xyz.com.", "NSEC [0]"),
            ("img.xyz.com.", "RRSIG NSEC 3")
        ])
    );
    // A name that is not signed (a.img.xyz.com is bound on its own, without a key).
    let m = ask_signed("a.img.xyz.com.", RecordType::A, FRANCE, 0, true);
    assert!(
        shape(&m.answers)
            .iter()
            .all(|(_, t)| !t.starts_with("RRSIG"))
    );
    // Both are said at commit.
    assert_eq!(
        signed_example().signing_gaps(),
        [
            "img.xyz.com is signed but its coverage two-cdns refers (N:): those answers cannot be proven",
            "a.img.xyz.com is bound below signed img.xyz.com without a key: its answers are unsigned"
        ]
    );
}

//! Query checks on hand-made packets.

use super::*;

/// Header (id 0xabcd, RD) + `a.example A IN` + optional additional bytes.
fn packet(arcount: u16, additional: &[u8]) -> Vec<u8> {
    let mut p = vec![0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0];
    p.extend_from_slice(&arcount.to_be_bytes());
    p.extend_from_slice(b"\x01a\x07example\x00\x00\x01\x00\x01");
    p.extend_from_slice(additional);
    p
}

fn opt(options: &[u8]) -> Vec<u8> {
    let mut o = vec![0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0];
    o.extend_from_slice(&(options.len() as u16).to_be_bytes());
    o.extend_from_slice(options);
    o
}

fn ecs(family: u16, source: u8, addr: &[u8]) -> Vec<u8> {
    let mut o = vec![0, 8];
    o.extend_from_slice(&((4 + addr.len()) as u16).to_be_bytes());
    o.extend_from_slice(&family.to_be_bytes());
    o.extend_from_slice(&[source, 0]);
    o.extend_from_slice(addr);
    o
}

fn rcode(r: Result<Query<'_>, Reject<'_>>) -> Option<Rcode> {
    match r {
        Ok(_) => None,
        Err(Reject::Reply { rcode, .. }) => Some(rcode),
        Err(Reject::Drop) => Some(Rcode::NoError),
    }
}

#[test]
fn plain_query_is_read() {
    let p = packet(0, &[]);
    let q = parse_query(&p).unwrap();
    assert_eq!(q.id, 0xabcd);
    assert_eq!(q.qtype, rtype::A);
    assert_eq!(q.qname(), b"\x01a\x07example\x00");
    assert!(q.edns.is_none());
}

#[test]
fn edns_with_v6_subnet_is_read() {
    let p = packet(1, &opt(&ecs(2, 56, &[0x20, 0x01, 0x0d, 0xb8, 0, 0xde, 0])));
    let e = parse_query(&p).unwrap().edns.unwrap();
    assert_eq!(e.payload, 1232);
    assert!(e.dnssec_ok);
    let s = e.subnet.unwrap();
    assert_eq!(s.source_len, 56);
    assert_eq!(s.addr, "2001:db8:de::".parse::<IpAddr>().unwrap());
}

#[test]
fn subnet_with_bits_past_its_length_is_formerr() {
    let p = packet(1, &opt(&ecs(1, 23, &[198, 54, 235])));
    assert_eq!(rcode(parse_query(&p)), Some(Rcode::FormErr));
    let p = packet(1, &opt(&ecs(1, 23, &[198, 54, 234])));
    assert!(parse_query(&p).is_ok());
}

#[test]
fn subnet_address_of_the_wrong_length_or_family_is_formerr() {
    for bad in [
        ecs(1, 24, &[198, 54]),
        ecs(1, 33, &[1, 2, 3, 4, 5]),
        ecs(3, 8, &[1]),
    ] {
        let p = packet(1, &opt(&bad));
        assert_eq!(rcode(parse_query(&p)), Some(Rcode::FormErr));
    }
}

#[test]
fn two_opt_records_are_formerr() {
    let mut two = opt(&[]);
    two.extend_from_slice(&opt(&[]));
    assert_eq!(rcode(parse_query(&packet(2, &two))), Some(Rcode::FormErr));
}

#[test]
fn compression_or_long_labels_in_the_question_are_formerr() {
    let mut p = packet(0, &[]);
    p[12] = 0xC0;
    assert_eq!(rcode(parse_query(&p)), Some(Rcode::FormErr));
    let mut p = packet(0, &[]);
    p[12] = 64;
    assert_eq!(rcode(parse_query(&p)), Some(Rcode::FormErr));
    let mut long = vec![0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for _ in 0..5 {
        long.push(63);
        long.extend_from_slice(&[b'a'; 63]);
    }
    long.extend_from_slice(&[0, 0, 1, 0, 1]);
    assert_eq!(rcode(parse_query(&long)), Some(Rcode::FormErr));
}

#[test]
fn truncated_question_or_additional_is_formerr() {
    let p = packet(0, &[]);
    assert_eq!(rcode(parse_query(&p[..p.len() - 1])), Some(Rcode::FormErr));
    let p = packet(1, &opt(&[]));
    assert_eq!(rcode(parse_query(&p[..p.len() - 1])), Some(Rcode::FormErr));
}

#[test]
fn truncation_keeps_the_question_and_opt() {
    let p = packet(1, &opt(&[]));
    let q = parse_query(&p).unwrap();
    let mut out = Vec::new();
    let mut w = Writer::new(
        &mut out,
        q.id,
        q.flags,
        Some(q.question),
        Rcode::NoError,
        true,
    );
    for _ in 0..100 {
        w.record(
            Section::Answer,
            Owner::At(QNAME_OFFSET),
            rtype::A,
            1,
            &[1, 2, 3, 4],
        );
    }
    w.finish(q.edns.as_ref(), Rcode::NoError, 0, 512);
    assert_eq!(out[2] & 0x02, 0x02, "TC");
    assert_eq!(&out[6..12], &[0, 0, 0, 0, 0, 1]);
    assert_eq!(out.len(), 12 + q.question.len() + 11);
}

#[test]
fn udp_limit_follows_the_payload_size_within_bounds() {
    let e = |payload| Edns {
        payload,
        version: 0,
        dnssec_ok: false,
        subnet: None,
    };
    assert_eq!(udp_limit(None), 512);
    assert_eq!(udp_limit(Some(&e(100))), 512);
    assert_eq!(udp_limit(Some(&e(4096))), 1232);
    assert_eq!(udp_limit(Some(&e(1000))), 1000);
}

/// The EDNS a rejected packet's error answer will carry.
fn reject_edns(p: &[u8]) -> (Rcode, Option<Edns>) {
    match parse_query(p) {
        Err(Reject::Reply { rcode, edns, .. }) => (rcode, edns),
        other => panic!("not an error answer: {other:?}"),
    }
}

#[test]
fn error_answers_keep_the_edns_of_the_query() {
    // Another opcode (NOTIFY), with OPT after the question.
    let mut notify = packet(1, &opt(&[]));
    notify[2] |= 4 << 3;
    let (rcode, edns) = reject_edns(&notify);
    assert_eq!(
        (rcode, edns.map(|e| e.dnssec_ok)),
        (Rcode::NotImp, Some(true))
    );
    // Two questions: FORMERR, the OPT found past both.
    let mut two = packet(1, &[]);
    two[5] = 2;
    two.extend_from_slice(b"\x01b\x00\x00\x01\x00\x01");
    two.extend_from_slice(&opt(&[]));
    assert_eq!(reject_edns(&two).0, Rcode::FormErr);
    assert!(reject_edns(&two).1.is_some());
    // A malformed subnet: FORMERR with OPT, without the subnet.
    let bad_ecs = packet(1, &opt(&ecs(1, 24, &[])));
    let (rcode, edns) = reject_edns(&bad_ecs);
    assert_eq!(
        (rcode, edns.map(|e| e.subnet)),
        (Rcode::FormErr, Some(None))
    );
    // Two OPTs: FORMERR with the first.
    let mut opts = opt(&[]);
    opts.extend_from_slice(&opt(&[]));
    assert!(matches!(
        reject_edns(&packet(2, &opts)),
        (Rcode::FormErr, Some(_))
    ));
    // No OPT in the query, none in the answer; an unreadable one is not guessed at.
    let mut plain = packet(0, &[]);
    plain[2] |= 4 << 3;
    assert_eq!(reject_edns(&plain), (Rcode::NotImp, None));
    let cut = packet(1, &opt(&[]));
    assert_eq!(reject_edns(&cut[..cut.len() - 1]), (Rcode::FormErr, None));
}

#[test]
fn the_notimp_answer_echoes_a_sole_question_and_opt() {
    let mut p = packet(1, &opt(&[]));
    p[2] |= 2 << 3;
    let reject = parse_query(&p).unwrap_err();
    let mut out = Vec::new();
    assert!(write_reject(&reject, &mut out));
    assert_eq!(out[3] & 0x0f, Rcode::NotImp as u8);
    assert_eq!(&out[4..12], &[0, 1, 0, 0, 0, 0, 0, 1], "question and OPT");
    assert_eq!(&out[12..12 + 15], &p[12..12 + 15]);
}

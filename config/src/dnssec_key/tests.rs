use super::*;

// Written by `dnssec-keygen -a ECDSAP256SHA256 -f KSK img.xyz.com` and `-a ED25519`; the
// DS lines are `dnssec-dsfromkey -2`'s.
const ECDSA_KEY: &str = "; This is a key-signing key, keyid 45105, for img.xyz.com.
; Created: 20261206041437 (Sun Dec  6 04:14:37 2026)
img.xyz.com. IN DNSKEY 257 3 13 SipxGIRqcJAmCruOVRtXOwb3JOunuSmBxFUWSlL1V6GAuusTaktKDeTJ PWy9qqZdOsIvQ/eVrOkO2IruCNOUHg==
";
const ECDSA_PRIVATE: &str = "Private-key-format: v1.3
Algorithm: 13 (ECDSAP256SHA256)
PrivateKey: W2jEDKKH4VcroKJH5f2xQXYatpb4xkkvbYcsLokzfEc=
Created: 20261206041437
";
const ED_KEY: &str =
    "img.xyz.com. IN DNSKEY 256 3 15 pMC4zbv2Z+jDLnIgPi5T7MRfgisXRybFLWkdKhN5G+k=\n";
const ED_PRIVATE: &str = "Private-key-format: v1.3
Algorithm: 15 (ED25519)
PrivateKey: xeJvCQPqcM3HZkrsZH1B9EyAObCHz+PZi4jiJhjHY3w=
";
/// The private half of another ECDSA key.
const OTHER_PRIVATE: &str = "Private-key-format: v1.3
Algorithm: 13 (ECDSAP256SHA256)
PrivateKey: 7GWZ7EapayihIzwx7NsxqKSthydhEywYlDnmN70xl2U=
";

#[test]
fn tags_and_ds_match_bind() {
    let ecdsa = PublicKey::parse(ECDSA_KEY).unwrap();
    assert_eq!(ecdsa.key_tag(), 45105);
    assert_eq!(
        ecdsa.ds_record(),
        "img.xyz.com. IN DS 45105 13 2 C0705A0F4500B371B08CCAB1CEA7611E699D2D5B1EB605F370185808A22D34C3"
    );
    let ed = PublicKey::parse(ED_KEY).unwrap();
    assert_eq!((ed.key_tag(), ed.flags), (19315, 256));
    assert_eq!(
        ed.ds_record(),
        "img.xyz.com. IN DS 19315 15 2 4CD7A041B3DD6FE7D48763D27C957A9DB4B187AB10560211B02EFE0D73AE246C"
    );
}

#[test]
fn pairs_sign_and_the_signatures_verify() {
    for (key, private) in [(ECDSA_KEY, ECDSA_PRIVATE), (ED_KEY, ED_PRIVATE)] {
        let pair = KeyPair::new(PublicKey::parse(key).unwrap(), private).unwrap();
        let sig = pair.sign(b"data");
        let alg: &dyn signature::VerificationAlgorithm = match pair.public.algorithm {
            Algorithm::EcdsaP256Sha256 => &signature::ECDSA_P256_SHA256_FIXED,
            Algorithm::Ed25519 => &signature::ED25519,
        };
        let verifier = signature::UnparsedPublicKey::new(alg, pair.ring_public_key());
        assert!(verifier.verify(b"data", &sig).is_ok());
        assert!(verifier.verify(b"datA", &sig).is_err());
    }
}

#[test]
fn bad_public_keys_are_errors_at_their_column() {
    let e = |t: &str| PublicKey::parse(t).unwrap_err().to_string();
    assert_eq!(
        e("img.xyz.com. IN DNSKEY 257 3 8 AwEAAa==\n"),
        "1:30: algorithm must be 13 (ECDSAP256SHA256) or 15 (ED25519)"
    );
    assert_eq!(e("; only\n"), "1:1: no DNSKEY record");
    assert_eq!(
        e("img.xyz.com IN DNSKEY 257 3 15 AAAA\n"),
        "1:1: the owner must be absolute (end in '.')"
    );
    assert_eq!(
        e("img.xyz.com. IN DS 257 3 15 AAAA\n"),
        "1:17: expected DNSKEY"
    );
    assert_eq!(
        e("img.xyz.com. IN DNSKEY 257 3 15 AAAA\n"),
        "1:33: a public key of algorithm 15 has 32 bytes, not 3"
    );
    assert_eq!(
        e("img.xyz.com. IN DNSKEY 257 3 15 A*AA\n"),
        "1:33: bad base64: Invalid symbol 42, offset 1."
    );
    assert_eq!(
        e("img.xyz.com. 3600 IN DNSKEY 1 3 15 AAAA\n"),
        "1:29: not a zone key (flags 256 or 257)"
    );
}

#[test]
fn a_private_key_must_be_the_one_of_its_public_key() {
    let e = |key: &str, private: &str| {
        KeyPair::new(PublicKey::parse(key).unwrap(), private)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        e(ECDSA_KEY, OTHER_PRIVATE),
        "3:13: this private key is not the one of the public key"
    );
    assert_eq!(
        e(ED_KEY, ECDSA_PRIVATE),
        "2:12: algorithm 13 here, 15 in the public key"
    );
    assert_eq!(
        e(
            ED_KEY,
            "Private-key-format: v1.3\nAlgorithm: 8 (RSASHA256)\n"
        ),
        "2:12: algorithm must be 13 (ECDSAP256SHA256) or 15 (ED25519)"
    );
    assert_eq!(
        e(
            ED_KEY,
            "Private-key-format: v1.3\nAlgorithm: 15 (ED25519)\n"
        ),
        "2:1: no PrivateKey line"
    );
    assert_eq!(e(ED_KEY, "garbage\n"), "1:1: expected `Field: value`");
}

#[test]
fn a_folder_is_read_pair_by_pair_with_every_problem_reported() {
    let dir = std::env::temp_dir().join(format!("dnssec-key-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
    write("Kimg.xyz.com.+013+45105.key", ECDSA_KEY);
    write("Kimg.xyz.com.+013+45105.private", ECDSA_PRIVATE);
    write("Kimg.xyz.com.+015+19315.key", ED_KEY);
    write("Kimg.xyz.com.+015+19315.private", ED_PRIVATE);
    write("README", "not a key");
    let pairs = read_folder(&dir).unwrap();
    let tags: Vec<u16> = pairs.iter().map(|p| p.public.key_tag()).collect();
    assert_eq!(tags, [45105, 19315]);
    write("Kimg.xyz.com.+015+19315.private", OTHER_PRIVATE);
    write("Kx.example.+013+00001.private", ECDSA_PRIVATE);
    let errors: Vec<String> = read_folder(&dir)
        .unwrap_err()
        .iter()
        .map(|e| e.to_string())
        .collect();
    let d = dir.display();
    assert_eq!(
        errors,
        [
            format!(
                "{d}/Kimg.xyz.com.+015+19315.private:2:12: algorithm 13 here, 15 in the public key"
            ),
            format!("{d}/Kx.example.+013+00001.private: a private key without its .key file"),
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
    let missing = read_folder(&dir).unwrap_err();
    assert!(
        missing[0]
            .to_string()
            .contains("cannot read the key folder"),
        "{missing:?}"
    );
}

mod robustness {
    use proptest::prelude::*;

    use super::*;

    /// Text made of the pieces of key files, so that every branch of both parsers runs.
    fn key_text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("img.xyz.com. ".to_owned()),
            Just("IN ".to_owned()),
            Just("3600 ".to_owned()),
            Just("DNSKEY ".to_owned()),
            Just("257 ".to_owned()),
            Just("3 ".to_owned()),
            Just("13 ".to_owned()),
            Just("15 ".to_owned()),
            Just("pMC4zbv2Z+jDLnIgPi5T7MRfgisXRybFLWkdKhN5G+k=".to_owned()),
            Just("Private-key-format: v1.3".to_owned()),
            Just("Algorithm: 15 (ED25519)".to_owned()),
            Just("PrivateKey: ".to_owned()),
            Just("xeJvCQPqcM3HZkrsZH1B9EyAObCHz+PZi4jiJhjHY3w=".to_owned()),
            Just(":".to_owned()),
            Just(";".to_owned()),
            Just("\n".to_owned()),
            Just(" ".to_owned()),
            "[^\n]{0,6}",
        ];
        proptest::collection::vec(piece, 0..24).prop_map(|v| v.concat())
    }

    fn inside(e: &ParseError, text: &str) -> bool {
        let lines = text.lines().count().max(1) as u32;
        e.pos.line >= 1 && e.pos.line <= lines && e.pos.col >= 1
    }

    proptest! {
        #[test]
        fn parsers_never_panic_and_point_inside_the_text(public in key_text(), private in key_text()) {
            if let Err(e) = KeyPair::new(PublicKey::parse(ED_KEY).unwrap(), &private) {
                prop_assert!(inside(&e, &private), "{e} in {private:?}");
            }
            match PublicKey::parse(&public) {
                Err(e) => prop_assert!(inside(&e, &public), "{e} in {public:?}"),
                Ok(key) => {
                    if let Err(e) = KeyPair::new(key, &private) {
                        prop_assert!(inside(&e, &private), "{e} in {private:?}");
                    }
                }
            }
        }
    }
}

//! The seed's own examples (sections 1 and 2), with its names, both ways.

use origin_map::{EdgeMap, EdgeRequest, Form, OffloadHosts, OffloaderSpec, PartnerForm, Scheme};

fn seed_edge() -> EdgeMap {
    let c = OffloaderSpec {
        name: "C".into(),
        embedded_hosts: vec!["foo.G.com".into(), "X.G.com".into()],
        semantic_suffix: Some("C.G.com".into()),
        table: vec![("xyz.G.com".into(), "img.xyz.com".into())],
        origins: vec![
            ("img.xyz.com".into(), "img-real.xyz.com".into()),
            ("A.B.com".into(), "http://192.0.2.10".into()),
        ],
    };
    EdgeMap::new([c], &[]).expect("seed config is valid")
}

fn decode<'m>(edge: &'m EdgeMap, host: &str, path: &str) -> origin_map::Decoded<'m> {
    let req = EdgeRequest {
        scheme: Scheme::Http,
        host,
        path,
        query: None,
    };
    edge.decode(&req).expect("seed example is served")
}

#[test]
fn embedded_foo_g_com_img_xyz_com_pic1_gif() {
    let offload = OffloadHosts::new(["img.xyz.com"]).unwrap();
    let form = PartnerForm::embedded("foo.G.com").unwrap();
    let url = form.encode("http://img.xyz.com/pic1.gif", Scheme::Http, &offload);
    assert_eq!(
        url.as_deref(),
        Some("http://foo.g.com/img.xyz.com/pic1.gif")
    );

    let edge = seed_edge();
    let d = decode(&edge, "foo.G.com", "/img.xyz.com/pic1.gif");
    assert_eq!(d.offloader.name().as_str(), "C");
    assert_eq!(d.form, Form::Embedded);
    assert_eq!(d.origin_url(), "http://img.xyz.com/pic1.gif");
    // The back door of section 2: fetch from img-real.xyz.com, keeping Host img.xyz.com.
    assert_eq!(
        (d.back_door.host(), d.back_door.port()),
        ("img-real.xyz.com", 80)
    );
    assert_eq!(d.origin.as_str(), "img.xyz.com");
}

#[test]
fn embedded_x_g_com_img_xyz_com_picture_jpg() {
    let edge = seed_edge();
    let d = decode(&edge, "X.G.com", "/img.xyz.com/picture.jpg");
    assert_eq!(
        (d.form, d.origin.as_str(), d.path_and_query.as_str()),
        (Form::Embedded, "img.xyz.com", "/picture.jpg")
    );
}

/// The seed writes `A.B.C.G.com -> A.B.com`, which only works when the origin and G share
/// the TLD; spec §5 pins the form as `<origin-host>.<c-label>.<partner-suffix>`, so the
/// seed's origin `A.B.com` appears as `A.B.com.C.G.com`.
#[test]
fn semantic_a_b_c_g_com_reads_per_spec_5() {
    let offload = OffloadHosts::new(["A.B.com"]).unwrap();
    let form = PartnerForm::semantic("C.G.com").unwrap();
    let url = form.encode("http://A.B.com/x.gif", Scheme::Http, &offload);
    assert_eq!(url.as_deref(), Some("http://a.b.com.c.g.com/x.gif"));

    let edge = seed_edge();
    let d = decode(&edge, "A.B.com.C.G.com", "/x.gif");
    assert_eq!((d.form, d.origin.as_str()), (Form::Semantic, "a.b.com"));
    assert_eq!(d.back_door.to_string(), "http://192.0.2.10:80");
    // The literal seed name would mean origin `a.b`, which is not listed.
    let req = EdgeRequest {
        scheme: Scheme::Http,
        host: "A.B.C.G.com",
        path: "/x.gif",
        query: None,
    };
    assert_eq!(
        edge.decode(&req).unwrap_err(),
        origin_map::Refusal::OriginNotAllowed
    );
}

#[test]
fn table_xyz_g_com_is_img_xyz_com() {
    let offload = OffloadHosts::new(["img.xyz.com"]).unwrap();
    let form = PartnerForm::table([("img.xyz.com", "xyz.G.com")]).unwrap();
    let url = form.encode("http://img.xyz.com/pic1.gif", Scheme::Http, &offload);
    assert_eq!(url.as_deref(), Some("http://xyz.g.com/pic1.gif"));

    let edge = seed_edge();
    let d = decode(&edge, "xyz.G.com", "/pic1.gif");
    assert_eq!(
        (d.form, d.origin.as_str(), d.offloader.name().as_str()),
        (Form::Table, "img.xyz.com", "C")
    );
}

#[test]
fn dns_outsourced_client_keeps_the_customer_host() {
    let edge = seed_edge();
    let d = decode(&edge, "img.xyz.com", "/foo.jpg");
    assert_eq!(
        (d.form, d.origin_url().as_str()),
        (Form::Direct, "http://img.xyz.com/foo.jpg")
    );
}

#[test]
fn spec_5_scheme_examples() {
    let offload = OffloadHosts::new(["img.xyz.com"]).unwrap();
    let form = PartnerForm::embedded("foo.cdn-g.example").unwrap();
    let enc = |url, page| form.encode(url, page, &offload);
    assert_eq!(
        enc("https://img.xyz.com/a", Scheme::Http).as_deref(),
        Some("https://foo.cdn-g.example/img.xyz.com/a")
    );
    assert_eq!(
        enc("//img.xyz.com/a", Scheme::Http).as_deref(),
        Some("//foo.cdn-g.example/img.xyz.com/a")
    );
    assert_eq!(
        enc("http://img.xyz.com/a", Scheme::Https).as_deref(),
        Some("https://foo.cdn-g.example/img.xyz.com/a")
    );
    let ported = OffloadHosts::new(["img.xyz.com:8080"]).unwrap();
    assert_eq!(
        form.encode("http://img.xyz.com:8080/a", Scheme::Http, &ported)
            .as_deref(),
        Some("http://foo.cdn-g.example/img.xyz.com:8080/a")
    );
    // A key without a port matches only URLs without one (or with the default port).
    assert_eq!(
        form.encode("http://img.xyz.com:8080/a", Scheme::Http, &offload),
        None
    );
    assert!(
        form.encode("http://img.xyz.com:80/a", Scheme::Http, &offload)
            .is_some()
    );
}

//! The demo's certificates, made fresh at every start: a throw-away CA (its key is never
//! written), G's status-report certificate and C's alert-receiver certificate signed by
//! it, both for 127.0.0.1 and localhost. Each side trusts the CA through its `ca` key.

use std::path::Path;

use anyhow::Context as _;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

/// File names, relative to the demo folder.
pub(crate) const CA: &str = "demo-ca.pem";
pub(crate) const G_STATUS: (&str, &str) = ("g-status.pem", "g-status.key");
pub(crate) const C_ALERTS: (&str, &str) = ("c-alerts.pem", "c-alerts.key");

/// Makes the CA and both leaves and writes them into `dir`.
pub(crate) fn write(dir: &Path) -> anyhow::Result<()> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "cdnbroker demo CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;
    write_file(&dir.join(CA), &ca.pem())?;
    for ((cert, key), who) in [(G_STATUS, "G status reports"), (C_ALERTS, "C alerts")] {
        let leaf_key = KeyPair::generate()?;
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?;
        params
            .distinguished_name
            .push(DnType::CommonName, format!("cdnbroker demo: {who}"));
        let leaf = params.signed_by(&leaf_key, &ca)?;
        write_file(&dir.join(cert), &leaf.pem())?;
        write_file(&dir.join(key), &leaf_key.serialize_pem())?;
    }
    Ok(())
}

fn write_file(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

//! `check` reads the `[dns] dnssec` folder a deployment names (spec §10): each pair must
//! read and match, and each problem is reported with its file and line.

use std::path::Path;

use broker_config::check::{Disk, check_files};

const KEY: &str = "; This is a zone-signing key, keyid 19315, for img.xyz.com.
img.xyz.com. IN DNSKEY 256 3 15 pMC4zbv2Z+jDLnIgPi5T7MRfgisXRybFLWkdKhN5G+k=
";
const PRIVATE: &str = "Private-key-format: v1.3
Algorithm: 15 (ED25519)
PrivateKey: xeJvCQPqcM3HZkrsZH1B9EyAObCHz+PZi4jiJhjHY3w=
";
/// The private half of another Ed25519 key.
const WRONG: &str = "Private-key-format: v1.3
Algorithm: 15 (ED25519)
PrivateKey: 7GWZ7EapayihIzwx7NsxqKSthydhEywYlDnmN70xl2U=
";

fn deployment(dir: &Path) -> (String, Vec<u8>) {
    let text = format!(
        "[node]\nname = \"C\"\n[dns]\nlisten = [\"127.0.0.1:53\"]\ncontrol = \"127.0.0.1:5354\"\nns = [\"ns1.c.example\"]\ndnssec = \"{}\"\n",
        dir.join("keys").display()
    );
    (dir.join("c.toml").display().to_string(), text.into_bytes())
}

#[test]
fn good_pairs_are_summarized_and_bad_ones_reported_at_their_line() {
    let dir = std::env::temp_dir().join(format!("check-dnssec-{}", std::process::id()));
    let keys = dir.join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    std::fs::write(keys.join("Kimg.xyz.com.+015+19315.key"), KEY).unwrap();
    std::fs::write(keys.join("Kimg.xyz.com.+015+19315.private"), PRIVATE).unwrap();
    let report = check_files(&[deployment(&dir)], &Disk);
    assert!(report.is_ok(), "{:?}", report.errors);
    let lines: Vec<String> = report.files.iter().map(|f| f.to_string()).collect();
    assert_eq!(
        lines[1],
        format!(
            "{}/Kimg.xyz.com.+015+19315.key: DNSSEC key (§10): zone img.xyz.com, tag 19315, algorithm 15, flags 256",
            keys.display()
        )
    );

    std::fs::write(keys.join("Kimg.xyz.com.+015+19315.private"), WRONG).unwrap();
    let report = check_files(&[deployment(&dir)], &Disk);
    let errors: Vec<String> = report.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        errors,
        [format!(
            "{}/Kimg.xyz.com.+015+19315.private:3:13: this private key is not the one of the public key",
            keys.display()
        )]
    );

    // A key file given on the command line is checked with its other half.
    let given = keys.join("Kimg.xyz.com.+015+19315.key");
    let report = check_files(
        &[(given.display().to_string(), KEY.as_bytes().to_vec())],
        &Disk,
    );
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);

    std::fs::remove_dir_all(&keys).unwrap();
    let report = check_files(&[deployment(&dir)], &Disk);
    assert!(
        report.errors[0]
            .to_string()
            .contains("cannot read the key folder"),
        "{:?}",
        report.errors
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

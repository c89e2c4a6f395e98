//! etcd with authentication (spec §8 `user` + `password_file`): a role with the right
//! password connects and writes; a wrong one is a clear error at start that names the
//! endpoints, never a role half started.

use std::path::Path;

use broker_cluster::Cluster;
use broker_cluster::blobs::{get_blob, put_blob};
use broker_config::deploy::ClusterRole;
use broker_tests::{EtcdCluster, Hosts};

fn role(dir: &Path, endpoint: &str, password: &str) -> ClusterRole {
    let file = dir.join(format!("etcd-{password}.pass"));
    std::fs::write(&file, format!("{password}\n")).expect("password file");
    let extra = format!(
        "user = \"cdnbroker\"\npassword_file = \"{}\"\n",
        file.display()
    );
    broker_tests::etcd::cluster_role(&[endpoint.to_owned()], "/auth-test", &extra)
        .expect("[cluster]")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_connects_with_its_password_and_not_without() {
    assert!(
        broker_tests::installed("etcd"),
        "etcd is needed: run scripts/setup"
    );
    let dir = tempfile::tempdir().expect("a temp dir");
    let hosts = Hosts::new(1).expect("a test host");
    let etcd = EtcdCluster::start(&hosts, dir.path()).expect("etcd");
    for args in [
        &["user", "add", "root", "--new-user-password", "root-secret"][..],
        &["user", "grant-role", "root", "root"],
        &[
            "user",
            "add",
            "cdnbroker",
            "--new-user-password",
            "good-secret",
        ],
        &["role", "add", "cdnbroker"],
        &[
            "role",
            "grant-permission",
            "cdnbroker",
            "--prefix=true",
            "readwrite",
            "/auth-test",
        ],
        &["user", "grant-role", "cdnbroker", "cdnbroker"],
        &["auth", "enable"],
    ] {
        etcd.etcdctl(args.iter().copied())
            .expect("etcdctl sets up auth");
    }
    let endpoint = etcd.endpoint(0);

    let cluster = Cluster::connect(&role(dir.path(), &endpoint, "good-secret"))
        .await
        .expect("the right password connects");
    let (blob, _) = put_blob(&cluster, "ADD REG A { 10.0.0.0, 8; }!\n")
        .await
        .expect("a write under the prefix");
    assert_eq!(
        get_blob(&cluster, &blob).await.expect("read back"),
        "ADD REG A { 10.0.0.0, 8; }!\n"
    );

    let e = Cluster::connect(&role(dir.path(), &endpoint, "bad-secret"))
        .await
        .expect_err("a wrong password is refused");
    let text = e.to_string();
    assert!(text.contains(&endpoint), "{text}");
    assert!(text.contains("authentication failed"), "{text}");
}

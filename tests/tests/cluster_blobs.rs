//! Region tables in etcd (spec §8): a table far larger than one gRPC message (a
//! million-prefix file is ~20 MB) goes in as 512 KiB chunks and comes back whole, chunk
//! by chunk; a chunk gone is an error naming the blob, never a partial table.

use std::time::Duration;

use broker_cluster::Cluster;
use broker_cluster::blobs::{get_blob, put_blob};
use broker_tests::{EtcdCluster, Hosts};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_of_many_chunks_goes_in_and_comes_back_whole() {
    assert!(
        broker_tests::installed("etcd"),
        "etcd is needed: run scripts/setup"
    );
    let dir = tempfile::tempdir().expect("a temp dir");
    let hosts = Hosts::new(1).expect("a test host");
    let etcd = EtcdCluster::start(&hosts, dir.path()).expect("etcd");
    let role = broker_tests::etcd::cluster_role(&[etcd.endpoint(0)], "/blobs-test", "")
        .expect("[cluster]");
    let cluster = Cluster::connect(&role).await.expect("etcd answers");
    // 12 MB of regions: 23 chunks, over the 4 MB a gRPC answer may carry.
    let mut table = String::from("ADD REG BIG {\n");
    for i in 0..600_000u32 {
        table.push_str(&format!("10.{}.{}.0, 24;\n", (i >> 8) & 255, i & 255));
    }
    table.push_str("}!\n");
    let (blob, written) = put_blob(&cluster, &table).await.expect("stored");
    assert_eq!(written, table.len());
    assert!(blob.chunks > 8, "{blob:?}");
    let back = tokio::time::timeout(Duration::from_secs(30), get_blob(&cluster, &blob))
        .await
        .expect("read within 30 s")
        .expect("read back");
    assert!(back == table, "the table came back changed");
    // Stored again: nothing written (content-addressed).
    assert_eq!(put_blob(&cluster, &table).await.expect("stored").1, 0);
    // A chunk gone: an error, not a shorter table.
    etcd.etcdctl(["del", &format!("/blobs-test/blobs/{}/00003", blob.digest)])
        .expect("etcdctl del");
    let e = get_blob(&cluster, &blob)
        .await
        .expect_err("a chunk is missing");
    assert!(e.to_string().contains("chunk 3 of"), "{e}");
}

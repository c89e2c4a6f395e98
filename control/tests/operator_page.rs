//! The operator page's server side over real sockets with curl: the page and its files
//! without a token, `/api/routing` with one (GET the tables, PUT them all or nothing,
//! errors at `LINE:COL` of the text sent), and the in-process handle a front proxy reads
//! following every accepted edit and no refused one. (The page itself is driven in
//! headless Chromium by `cli/tests/operator_page_chromium.rs`.)

// The control tests' world; this binary uses part of it.
#[allow(dead_code, unreachable_pub)]
#[path = "integration/support.rs"]
mod support;

use broker_config::deploy::UrlForm;
use support::{TOKEN, World, curl};

fn auth() -> String {
    format!("Authorization: Bearer {TOKEN}")
}

const EDIT: &str = r#"[[partner]]
name = "G"
form = "table"
host = "foo.cdn-g.example"
table = { "img.xyz.com" = "xyz.cdn-g.example" }

[[customer]]
name = "xyz"
site = ["www.xyz.com"]
offload = ["img.xyz.com"]
origin = { "www.xyz.com" = "http://127.0.0.1:8000", "img.xyz.com" = "http://127.0.0.1:8000" }
"#;

async fn routing(w: &World) -> serde_json::Value {
    let (status, body) = curl(&["-H", &auth(), &format!("{}/api/routing", w.api())]).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

async fn put(w: &World, token: &str, text: &str) -> (u16, serde_json::Value) {
    let (status, body) = curl(&[
        "-X",
        "PUT",
        "-H",
        &format!("Authorization: Bearer {token}"),
        "--data-binary",
        text,
        &format!("{}/api/routing", w.api()),
    ])
    .await;
    let json = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{status}: {body}"));
    (status, json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_and_its_files_are_served_without_a_token() {
    let w = World::start().await;
    let (status, page) = curl(&[&format!("{}/", w.api())]).await;
    assert_eq!(status, 200);
    assert!(page.contains("<form id=\"login-form\">"), "{page}");
    let (status, script) = curl(&[&format!("{}/ui/app.js", w.api())]).await;
    assert_eq!(status, 200);
    assert!(script.contains("Authorization: 'Bearer '"), "{script}");
    let (status, _) = curl(&[&format!("{}/ui/style.css", w.api())]).await;
    assert_eq!(status, 200);
    // Everything behind the page still needs the token.
    let (status, _) = curl(&[&format!("{}/api/routing", w.api())]).await;
    assert_eq!(status, 401);
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_tables_change_whole_or_not_at_all() {
    let w = World::start().await;
    let handle = w.control.routing();
    let first = routing(&w).await;
    assert_eq!(first["generation"], 1);
    assert_eq!(first["partners"][0]["form"], "embedded");
    let toml = first["toml"].as_str().unwrap();
    assert!(toml.starts_with("[[partner]]\nname = \"G\""), "{toml}");
    assert!(
        !toml.contains("token"),
        "secrets stay out of the text: {toml}"
    );

    // No token, or a wrong one: refused, nothing changed.
    let (status, _) = put(&w, "wrong", EDIT).await;
    assert_eq!(status, 401);
    assert_eq!(handle.load().generation(), 1);

    // A good edit: the API, and the handle an in-process proxy reads, show it.
    let (status, ok) = put(&w, TOKEN, EDIT).await;
    assert_eq!(
        (status, &ok["generation"]),
        (200, &serde_json::json!(2)),
        "{ok}"
    );
    let now = routing(&w).await;
    assert_eq!(
        now["partners"][0]["table"]["img.xyz.com"],
        "xyz.cdn-g.example"
    );
    assert_eq!(now["customers"][0]["offload"][0], "img.xyz.com");
    let live = handle.load();
    assert_eq!(live.generation(), 2);
    assert_eq!(live.partners()[0].form, UrlForm::Table);
    assert_eq!(
        live.partners()[0].token.as_ref().map(|t| t.expose()),
        Some(support::G_TOKEN),
        "the partner keeps the token the file gave it"
    );

    // A bad host in line 10, and a key set up at start in line 5: every error at its
    // LINE:COL of the text, nothing changed.
    let bad = EDIT
        .replace("offload = [\"img.xyz.com\"]", "offload = [\"img xyz.com\"]")
        .replace("table = {", "token = \"t\"\ntable = {");
    let (status, e) = put(&w, TOKEN, &bad).await;
    assert_eq!(status, 400, "{e}");
    let errors: Vec<&str> = e["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(e["error"], errors[0]);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].starts_with("5:9 a partner's `token`"),
        "{errors:?}"
    );
    assert!(errors[1].starts_with("11:12 "), "{errors:?}");
    assert_eq!(routing(&w).await["generation"], 2);
    assert_eq!(handle.load().generation(), 2);

    // TOML syntax: the parser's own message, at its place.
    let (status, e) = put(&w, TOKEN, "[[partner]\nname = \"G\"\n").await;
    assert_eq!(status, 400, "{e}");
    assert!(e["error"].as_str().unwrap().starts_with("1:"), "{e}");
    // The partners are the deployment's: one cannot be dropped here.
    let (status, e) = put(&w, TOKEN, "").await;
    assert_eq!(status, 400, "{e}");
    assert!(e["error"].as_str().unwrap().contains("stay [G]"), "{e}");
    assert_eq!(handle.load().generation(), 2);
    w.stop().await;
}

//! `demo.toml`: what one demo process runs. Paths are relative to the file.
//!
//! ```toml
//! [origin]
//! listen = "127.0.0.1:8000"      # the demo origin web site (www.xyz.com, img.xyz.com)
//!
//! [[deployment]]                 # a deployment file (spec §7) `cdnbroker run` would start
//! config = "c.toml"
//!
//! [[deployment]]
//! config = "g.toml"
//! edge_regions = "regions.txt"   # optional, like `run --edge-regions`
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use broker_config::deploy::Deployment;
use serde::Deserialize;

/// A parsed `demo.toml`, with every deployment it names read.
#[derive(Debug)]
pub(crate) struct World {
    pub(crate) origin: SocketAddr,
    pub(crate) deployments: Vec<Member>,
}

/// One deployment of the world.
#[derive(Debug)]
pub(crate) struct Member {
    pub(crate) config: PathBuf,
    pub(crate) edge_regions: Option<PathBuf>,
    pub(crate) deployment: Deployment,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorld {
    origin: RawOrigin,
    #[serde(default)]
    deployment: Vec<RawMember>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOrigin {
    listen: SocketAddr,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMember {
    config: PathBuf,
    edge_regions: Option<PathBuf>,
}

impl World {
    /// Reads `file` and the deployments it names.
    pub(crate) fn read(file: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let raw: RawWorld = toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{}:{}", file.display(), located(&text, &e)))?;
        if raw.deployment.is_empty() {
            anyhow::bail!("{}: no [[deployment]] to run", file.display());
        }
        let dir = file.parent().unwrap_or(Path::new("."));
        let mut deployments = Vec::new();
        for m in raw.deployment {
            let config = dir.join(&m.config);
            let deployment = Deployment::read(&config)?;
            deployments.push(Member {
                config,
                edge_regions: m.edge_regions.map(|p| dir.join(p)),
                deployment,
            });
        }
        Ok(Self {
            origin: raw.origin.listen,
            deployments,
        })
    }
}

/// `LINE:COL: message` of a TOML error (its span's start).
fn located(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim_end();
    let Some(span) = e.span() else {
        return format!(" {message}");
    };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    format!("{line}:{col}: {message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_key_is_reported_at_its_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("demo.toml");
        std::fs::write(&file, "[origin]\nlisten = \"127.0.0.1:1\"\n  colour = 3\n").unwrap();
        let e = World::read(&file).unwrap_err().to_string();
        assert!(
            e.ends_with("demo.toml:3:3: unknown field `colour`, expected `listen`"),
            "{e}"
        );
    }

    #[test]
    fn a_world_without_deployments_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("demo.toml");
        std::fs::write(&file, "[origin]\nlisten = \"127.0.0.1:1\"\n").unwrap();
        let e = World::read(&file).unwrap_err().to_string();
        assert!(e.contains("no [[deployment]]"), "{e}");
    }
}

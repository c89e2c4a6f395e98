//! The `cdnbroker` binary: arguments, logging and signals; the work is in the libraries.

use clap::{Parser, Subcommand};

mod check;
mod cluster;
mod demo;
mod dns;
mod membership;
mod run;

#[derive(Parser)]
#[command(name = "cdnbroker", version, about = "CDN brokering and peering")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate deployment (TOML) and ASCII files (spec/protocols.md §7).
    Check {
        /// Files to check together.
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
    },
    /// Client clustering: routed prefixes and a geo table to a region file (spec §6).
    Cluster(cluster::ClusterArgs),
    /// A small world in one process: origin, CDN C and partner CDN G on 127.0.0.1.
    Demo(demo::DemoArgs),
    /// Run the brokering DNS engine alone (spec §1 control port).
    Dns(Box<dns::DnsArgs>),
    /// Run the roles a deployment file names (spec §7): `[dns]`, `[edge]`, `[control]`, `[proxy]`.
    Run(run::RunArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Cluster(args) => cluster::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Dns(args) => dns::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Check { files } => check::run(&files),
    }
}

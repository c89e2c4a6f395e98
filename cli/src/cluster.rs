//! `cdnbroker cluster`: client clustering (seed "client clustering", spec §6). Reads the
//! routes and geo files, runs [`broker_policy::cluster`], writes the region file and
//! reports what the inputs left open. Files ending in `.gz` are decompressed.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use broker_config::geo::{GeoFormat, GeoParser, GeoTable, MAX_LINE, Parsed, RoutesParser};
use broker_policy::cluster::{Clustering, Progress, cluster};
use flate2::read::GzDecoder;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ipnet::IpNet;

/// Arguments of `cdnbroker cluster`.
#[derive(clap::Args)]
pub(crate) struct ClusterArgs {
    /// Routed prefixes: one CIDR a line, trailing columns (an AS number) ignored.
    #[arg(long, value_name = "FILE")]
    routes: PathBuf,
    /// Address-to-region table.
    #[arg(long, value_name = "FILE")]
    geo: PathBuf,
    /// Format of the geo table: `cidr` (`CIDR REGION` lines) or `delegated` (RIR stats).
    #[arg(long, default_value_t = GeoFormat::Cidr, value_parser = parse_format)]
    geo_format: GeoFormat,
    /// Where to write the region file (standard output when absent).
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
    /// Fail the run if any input line is bad (by default bad lines are reported and skipped).
    #[arg(long)]
    strict: bool,
    /// Write the full report (unmapped blocks, straddling routes, geo conflicts) here.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
}

fn parse_format(s: &str) -> Result<GeoFormat, String> {
    s.parse().map_err(str::to_owned)
}

/// Runs the command.
pub(crate) fn run(args: &ClusterArgs) -> anyhow::Result<()> {
    let bar = ProgressBar::with_draw_target(None, draw_target());
    bar.set_style(
        ProgressStyle::with_template("{msg:28} [{bar:30}] {human_pos}/{human_len} {elapsed}")
            .expect("a valid template")
            .progress_chars("=> "),
    );

    let started = Instant::now();
    let mut routes = RoutesParser::new();
    for_each_line(&args.routes, &bar, "reading routes", |l| {
        routes.push_line(l)
    })?;
    let routes = routes.finish();
    let mut geo = GeoParser::new(args.geo_format);
    for_each_line(&args.geo, &bar, "reading geo table", |l| geo.push_line(l))?;
    let geo = geo.finish();

    let bad =
        report_bad_lines(&args.routes, &routes, &bar)? + report_bad_lines(&args.geo, &geo, &bar)?;
    if bad > 0 && args.strict {
        bar.finish_and_clear();
        bail!("{bad} bad input lines (--strict)");
    }

    let parsed = started.elapsed();
    let clustering = cluster(&routes.value, geo.value.entries(), &mut Bar(&bar));
    bar.finish_and_clear();
    let clustered = started.elapsed() - parsed;

    match &args.output {
        Some(path) => {
            let file = File::create(path).with_context(|| format!("{}", path.display()))?;
            write_regions(&mut BufWriter::new(file), &clustering, &geo.value)
                .with_context(|| format!("{}", path.display()))?;
        }
        None => write_regions(
            &mut BufWriter::new(io::stdout().lock()),
            &clustering,
            &geo.value,
        )?,
    }
    if let Some(path) = &args.report {
        let file = File::create(path).with_context(|| format!("{}", path.display()))?;
        write_report(&mut BufWriter::new(file), &clustering, &geo.value)
            .with_context(|| format!("{}", path.display()))?;
    }
    summarise(&routes.value, &geo.value, &clustering, bad);
    eprintln!(
        "cluster: read and parsed in {:.2} s, clustered in {:.2} s, written in {:.2} s",
        parsed.as_secs_f64(),
        clustered.as_secs_f64(),
        (started.elapsed() - parsed - clustered).as_secs_f64(),
    );
    Ok(())
}

/// The bar draws on standard error only when that is a terminal: logs and pipes stay clean.
fn draw_target() -> ProgressDrawTarget {
    if io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    }
}

/// Shows the clustering stages on the bar.
struct Bar<'a>(&'a ProgressBar);

impl Progress for Bar<'_> {
    fn stage(&mut self, name: &str, total: u64) {
        self.0.set_position(0);
        self.0.set_length(total);
        self.0.set_message(name.to_owned());
    }

    fn advance(&mut self, steps: u64) {
        self.0.inc(steps);
    }
}

/// Feeds each line of `path` (gunzipped when its name ends in `.gz`) to `line`, without
/// its newline, moving the bar by the bytes read from disk. The file is streamed, never
/// held whole; a line is cut at a little over [`MAX_LINE`] bytes (the parser reports it).
fn for_each_line(
    path: &Path,
    bar: &ProgressBar,
    message: &'static str,
    mut line: impl FnMut(&[u8]),
) -> anyhow::Result<()> {
    let context = || format!("{}", path.display());
    let file = File::open(path).with_context(context)?;
    bar.set_position(0);
    bar.set_length(file.metadata().map_or(0, |m| m.len()));
    bar.set_message(message);
    let counted = Counted {
        inner: file,
        bar: bar.clone(),
    };
    let mut reader: Box<dyn BufRead> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(BufReader::with_capacity(1 << 16, GzDecoder::new(counted)))
    } else {
        Box::new(BufReader::with_capacity(1 << 16, counted))
    };
    let limit = MAX_LINE as u64 + 2; // the line, a CR and the newline
    let mut buf = Vec::with_capacity(256);
    loop {
        buf.clear();
        let n = (&mut reader)
            .take(limit)
            .read_until(b'\n', &mut buf)
            .with_context(context)?;
        if n == 0 {
            return Ok(());
        }
        match buf.strip_suffix(b"\n") {
            Some(text) => line(text),
            None => {
                line(&buf);
                if n as u64 == limit {
                    reader.skip_until(b'\n').with_context(context)?;
                }
            }
        }
    }
}

/// A reader that moves the progress bar by the bytes it reads.
struct Counted<R> {
    inner: R,
    bar: ProgressBar,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

/// Prints every bad line as `FILE:LINE:COL: message`; returns how many there were.
fn report_bad_lines<T>(path: &Path, parsed: &Parsed<T>, bar: &ProgressBar) -> io::Result<usize> {
    if parsed.errors.is_empty() {
        return Ok(0);
    }
    bar.suspend(|| {
        let mut err = io::stderr().lock();
        for e in &parsed.errors {
            writeln!(err, "{}:{e}", path.display())?;
        }
        Ok(parsed.errors.len())
    })
}

/// The region file of spec §6, printed by its codec.
fn write_regions(out: &mut impl Write, c: &Clustering, geo: &GeoTable) -> io::Result<()> {
    write!(out, "{}", c.to_region_list(geo.regions()))?;
    out.flush()
}

/// The detailed report: one line per unmapped block, straddling route and geo conflict.
fn write_report(out: &mut impl Write, c: &Clustering, geo: &GeoTable) -> io::Result<()> {
    writeln!(out, "# routed addresses with no region, as CIDR blocks")?;
    for net in &c.report.unmapped {
        writeln!(out, "unmapped {net}")?;
    }
    writeln!(
        out,
        "# routes holding several regions (split in the output)"
    )?;
    for s in &c.report.straddling {
        let names: Vec<&str> = s.regions.iter().map(|&r| geo.name(r).as_str()).collect();
        let partly = if s.partly_unmapped {
            " partly-unmapped"
        } else {
            ""
        };
        writeln!(out, "straddle {} {}{partly}", s.route, names.join(","))?;
    }
    writeln!(
        out,
        "# geo prefixes given twice with different regions (first kept)"
    )?;
    for k in &c.report.conflicts {
        writeln!(
            out,
            "conflict {} kept {} dropped {}",
            k.net,
            geo.name(k.kept),
            geo.name(k.dropped)
        )?;
    }
    out.flush()
}

/// A few lines on standard error saying what was done and what was left open.
fn summarise(routes: &[IpNet], geo: &GeoTable, c: &Clustering, bad: usize) {
    let v4 = |n: &IpNet| matches!(n, IpNet::V4(_));
    let r4 = routes.iter().filter(|n| v4(n)).count();
    let g4 = geo.entries().iter().filter(|e| v4(&e.net)).count();
    let o4 = c.entries.iter().filter(|e| v4(&e.0)).count();
    let r = &c.report;
    eprintln!(
        "cluster: routes {r4} IPv4 + {} IPv6, geo {g4} IPv4 + {} IPv6 in {} regions, {bad} bad lines skipped",
        routes.len() - r4,
        geo.entries().len() - g4,
        geo.regions().len(),
    );
    eprintln!(
        "cluster: wrote {o4} IPv4 + {} IPv6 prefixes (without nesting: {} + {})",
        c.entries.len() - o4,
        r.v4.disjoint_entries,
        r.v6.disjoint_entries,
    );
    eprintln!(
        "cluster: without a region: {} of {} routed IPv4 addresses ({}), {} of routed IPv6 space; {} blocks",
        r.v4.unmapped,
        r.v4.routed,
        percent(r.v4.unmapped, r.v4.routed),
        percent(r.v6.unmapped, r.v6.routed),
        r.unmapped.len(),
    );
    eprintln!(
        "cluster: {} routes straddle regions (split), {} geo prefixes given twice with different regions (first kept)",
        r.straddling.len(),
        r.conflicts.len(),
    );
}

/// `part` as a percentage of `whole` (IPv6 counts are too large to read as numbers).
fn percent(part: u128, whole: u128) -> String {
    if whole == 0 {
        return "0%".to_owned();
    }
    format!("{:.2}%", part as f64 * 100.0 / whole as f64)
}

//! `genesis bench`: speed measurements. `bench transforms` times every transform and both
//! pipelines (microseconds per sample, single-threaded) and the pipelines' batch throughput
//! on all cores; `--json` prints one JSON array of measurements on stdout.

use std::time::Duration;

use genesis_core::bench::{Measurement, transform_suite};

/// Arguments of `genesis bench`.
#[derive(clap::Args)]
pub struct Args {
    /// What to measure.
    #[command(subcommand)]
    pub what: What,
}

/// The benchmark suites.
#[derive(clap::Subcommand)]
pub enum What {
    /// The four transforms, flip, elastic and both pipelines at 1×64×64×32 and 224×224.
    Transforms {
        /// Print one JSON array (one object per measurement) instead of a table.
        #[arg(long)]
        json: bool,
        /// Seconds spent on each measurement.
        #[arg(long, default_value_t = 1.0)]
        seconds: f64,
        /// Threads for the batch-throughput rows (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
    },
}

/// Prints `rows` as an aligned table on stdout.
fn print_table(rows: &[Measurement]) {
    println!(
        "{:<26} {:<16} {:>7} {:>11} {:>11} {:>8} {:>10}",
        "name", "shape", "threads", "median µs", "mean µs", "samples", "per second"
    );
    for r in rows {
        let per_second = r.per_second.map(|p| format!("{p:.1}")).unwrap_or_default();
        println!(
            "{:<26} {:<16} {:>7} {:>11.1} {:>11.1} {:>8} {:>10}",
            r.name,
            format!("{:?}", r.shape),
            r.threads,
            r.median_us,
            r.mean_us,
            r.samples,
            per_second
        );
    }
}

/// Runs `genesis bench`.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.what {
        What::Transforms { json, seconds, threads } => {
            anyhow::ensure!(
                seconds.is_finite() && seconds > 0.0,
                "--seconds must be a positive number of seconds, got {seconds}"
            );
            let threads = threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            let rows = transform_suite(Duration::from_secs_f64(seconds), threads)?;
            if json {
                println!("{}", serde_json::to_string(&rows)?);
            } else {
                print_table(&rows);
            }
            Ok(())
        }
    }
}

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
    /// UNet3d forward and train step (MSE, SGD) at batch 1, 2 and 6 on 1×64×64×32, UNet2d at
    /// batch 8 on 1×224×224, on the device given (Flex with all cores by default); each row
    /// names the backend and, on GPUs, the adapter it really ran on.
    Model {
        /// `cpu`, `wgpu[:N]` or `cuda[:N]` (GPU backends need a binary built with that feature).
        #[arg(long, default_value = "cpu")]
        device: String,
        /// Print one JSON array (one object per model and batch) instead of a table.
        #[arg(long)]
        json: bool,
        /// Timed repetitions per measurement (after one warm-up).
        #[arg(long, default_value_t = 3)]
        reps: usize,
    },
}

/// Runs `genesis bench model`.
fn run_model(device: &str, json: bool, reps: usize) -> anyhow::Result<()> {
    let device = genesis_train::device::parse(device)?;
    let rows = genesis_nn::bench::standard_benches(&device, reps.max(1));
    if json {
        let rows: Vec<_> = rows
            .iter()
            .map(|r| {
                serde_json::json!({"name": r.name, "input": r.input, "device": r.device,
                    "forward_ms": r.forward_ms, "train_step_ms": r.train_step_ms, "threads": r.threads})
            })
            .collect();
        println!("{}", serde_json::to_string(&rows)?);
    } else {
        println!("device: {}", rows.first().map_or("", |r| r.device.as_str()));
        println!(
            "{:<8} {:<18} {:>7} {:>12} {:>15}",
            "name", "input", "threads", "forward ms", "train step ms"
        );
        for r in &rows {
            let input = format!("{:?}", r.input);
            println!(
                "{:<8} {input:<18} {:>7} {:>12.1} {:>15.1}",
                r.name, r.threads, r.forward_ms, r.train_step_ms
            );
        }
    }
    Ok(())
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
        What::Model { device, json, reps } => run_model(&device, json, reps),
    }
}

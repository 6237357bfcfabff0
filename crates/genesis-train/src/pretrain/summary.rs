//! The one-screen summary of a run (returned, and saved as `summary.txt`).

use std::fmt::Write;
use std::path::Path;

use crate::checkpoint::TrainState;
use crate::metrics::Record;
use crate::recipe::RunConfig;

/// Renders the summary of a run that reached `state` with `records`, `seconds` of it in this
/// invocation.
pub fn render(
    cfg: &RunConfig,
    dir: &Path,
    (state, records, seconds): (&TrainState, &[Record], f64),
) -> String {
    let epochs: Vec<&Record> =
        records.iter().filter(|r| matches!(r, Record::Epoch { .. })).collect();
    let val = |r: &Record| match r {
        Record::Epoch { val, val_acc, .. } => (val.loss, val.rec, *val_acc),
        Record::Step { .. } => (f64::NAN, f64::NAN, None),
    };
    let first = epochs.first().map(|r| val(r));
    let last = epochs.last().map(|r| val(r));
    let speed = epochs
        .iter()
        .filter_map(|r| match r {
            Record::Epoch { samples_per_s, epoch, .. } if *epoch > 0 => Some(*samples_per_s),
            _ => None,
        })
        .collect::<Vec<_>>();
    let mean_speed = speed.iter().sum::<f64>() / speed.len().max(1) as f64;
    let s = state;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "── genesis pretrain: {:?} {:?} on {} ({}) ──",
        cfg.method, cfg.dim, cfg.data, cfg.device
    );
    let _ = writeln!(
        out,
        "epochs      {} of {}{}",
        s.epoch,
        cfg.epochs,
        if s.stopped_early {
            format!(" (early stop: no improvement in {} epochs)", cfg.patience)
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        out,
        "steps       {} × batch {} · {mean_speed:.1} samples/s · {:.1}s this session",
        s.global_step, cfg.batch, seconds
    );
    if let (Some(a), Some(b)) = (first, last) {
        let _ = writeln!(
            out,
            "val loss    {:.5} (untrained) → {:.5} (last); restoration MSE {:.5} → {:.5}",
            a.0, b.0, a.1, b.1
        );
        if let (Some(x), Some(y)) = (a.2, b.2) {
            let _ = writeln!(out, "val acc     {:.1}% → {:.1}%", 100.0 * x, 100.0 * y);
        }
    }
    if let Some(best) = s.best_loss {
        let _ = writeln!(out, "best        epoch {} · val loss {best:.5}", s.best_epoch);
    }
    let _ = writeln!(out, "run folder  {}", dir.display());
    let _ = writeln!(out, "            run.toml · metrics.jsonl · loss.png · grids/epoch-NNNN.png");
    let _ = writeln!(
        out,
        "            checkpoints/best/model.bpk · checkpoints/last/{{model,optim}}.bpk + state.json"
    );
    if dir.join("discovery").join("contact-sheet.png").is_file() {
        let _ = writeln!(
            out,
            "            discovery/ (self-discovered classes: manifest.jsonl, contact-sheet.png)"
        );
    }
    let _ = writeln!(out, "resume with genesis pretrain --resume {}", dir.display());
    out
}

//! The command line's view of the engine: progress bars (indicatif), printed lines, and the
//! pictures of a run drawn as the engine reports it.

use std::path::Path;

use genesis_core::discovery::Crop;
use genesis_train::metrics::{FinetuneRecord, Record};
use genesis_train::observer::{Observer, PretrainEpoch};
use indicatif::{ProgressBar, ProgressStyle};

use crate::render::{curves, loss, sheet::Sheet};

/// Classes and crops per class drawn on a discovery contact sheet.
const SHEET: (usize, usize) = (24, 10);

/// Prints progress to the terminal and draws plots, grids and contact sheets.
#[derive(Default)]
pub struct Console {
    bar: Option<ProgressBar>,
    sheet: Option<Sheet>,
}

impl Observer for Console {
    fn note(&mut self, line: &str) {
        println!("{}", line.trim_end());
    }

    fn warn(&mut self, line: &str) {
        eprintln!("warning: {line}");
    }

    fn begin(&mut self, phase: &str, total: u64, done: u64) {
        let bar = ProgressBar::new(total).with_prefix(phase.to_string());
        let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_position(done);
        self.bar = Some(bar);
    }

    fn advance(&mut self, status: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(status.to_string());
            bar.inc(1);
        }
    }

    fn end(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }

    fn pretrain_epoch(&mut self, e: &PretrainEpoch<'_>) -> anyhow::Result<()> {
        let Record::Epoch { epoch, train, val, val_acc, lr, samples_per_s, seconds, improved } =
            e.record
        else {
            return Ok(());
        };
        let train = train.map_or("-".into(), |t| format!("{:.5}", t.loss));
        let acc = val_acc.map_or(String::new(), |a| format!(" acc {:.1}%", 100.0 * a));
        let mark = if *improved { " *" } else { "" };
        println!(
            "epoch {epoch:>3}: train {train} · val {:.5} (mse {:.5}{acc}) · lr {lr:.2e} · {samples_per_s:.1} samples/s · {seconds:.1}s{mark}",
            val.loss, val.rec
        );
        let grid = e.dir.join("grids").join(format!("epoch-{epoch:04}.png"));
        loss::restoration_grid(*epoch, e.validation, e.restored, e.grid_samples, &grid)?;
        loss::loss_curve(e.records, &e.dir.join("loss.png"))
    }

    fn finetune_epoch(&mut self, r: &FinetuneRecord) {
        let train = r.train_loss.map_or("-".into(), |l| format!("{l:.4}"));
        let mark = if r.improved { " *" } else { "" };
        println!(
            "epoch {:>3}: train {train} · val loss {:.4} · {} · {:.1}s{mark}",
            r.epoch,
            r.val.loss,
            r.val.describe(),
            r.seconds
        );
    }

    fn finetune_done(
        &mut self,
        dir: &Path,
        records: &[FinetuneRecord],
        metric: &str,
    ) -> anyhow::Result<()> {
        curves::curves(records, metric, &dir.join("curves.png"))
    }

    fn crop(&mut self, crop: &Crop) {
        self.sheet.get_or_insert_with(|| Sheet::new(SHEET.0, SHEET.1, 64)).offer(crop);
    }

    fn discovery_done(&mut self, dir: &Path, title: &str) -> anyhow::Result<()> {
        match self.sheet.take() {
            Some(sheet) => sheet.save(title, &dir.join("contact-sheet.png")),
            None => Ok(()),
        }
    }
}

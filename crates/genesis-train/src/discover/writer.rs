//! Streams discovered crops to disk: per class, NPY shards of at most `shard_size` crops
//! (`shards/class-<c>-<k>.npy`, `f32 [n, X, Y, Z]`), then the class's lines in
//! `manifest.jsonl`, then its line in `coordinates.jsonl`. A class is complete once its
//! coordinate line exists; reopening drops manifest lines of incomplete classes, so a killed
//! run resumes cleanly. Only one shard of crops is ever held in memory; crops and finished
//! classes are reported to the observer (the CLI draws its contact sheet from them).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use genesis_core::Volume;
use genesis_core::discovery::{ClassRecord, Collector, Crop};
use genesis_io::datasets::luna16::Partition;
use serde::{Deserialize, Serialize};

use genesis_io::fsutil::write_atomic;

use super::patients::Patients;
use crate::manifest::{COORDINATES, MANIFEST, ManifestLine};
use crate::observer::Observer;

/// One line of `coordinates.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoordinateLine {
    /// The class.
    #[serde(flatten)]
    pub record: ClassRecord,
    /// Name of the reference patient.
    pub patient: String,
}

/// Reads a coordinate log, checking that each reference names the same patient here.
pub fn read_coordinates(log: &Path, patients: &Patients) -> anyhow::Result<Vec<ClassRecord>> {
    let text = fs::read_to_string(log).with_context(|| format!("cannot read {}", log.display()))?;
    let mut records = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let entry: CoordinateLine = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not a coordinate line", log.display(), n + 1))?;
        let here = patients.names().get(entry.record.reference);
        if here != Some(&entry.patient) {
            anyhow::bail!(
                "{}:{}: reference {} is {:?} in the log but {:?} in this data; use the same --data (and --patients/--seed for phantoms)",
                log.display(),
                n + 1,
                entry.record.reference,
                entry.patient,
                here
            );
        }
        if entry.record.class != records.len() {
            anyhow::bail!("{}:{}: classes must be listed in order 0, 1, …", log.display(), n + 1);
        }
        records.push(entry.record);
    }
    Ok(records)
}

/// The crop sink of a discovery run.
pub struct Writer<'a> {
    dir: PathBuf,
    patients: &'a Patients,
    shard_size: usize,
    pending: Vec<(Volume, ManifestLine)>,
    lines: Vec<ManifestLine>,
    shard: usize,
    /// The classes whose crops this folder takes.
    partition: Partition,
    obs: &'a mut dyn Observer,
}

impl<'a> Writer<'a> {
    /// Opens `dir` for the classes of `partition` after the first `complete` (earlier
    /// classes' lines are kept).
    pub fn open(
        dir: &Path,
        patients: &'a Patients,
        shard_size: usize,
        (complete, partition): (usize, Partition),
        obs: &'a mut dyn Observer,
    ) -> anyhow::Result<Self> {
        fs::create_dir_all(dir.join("shards"))
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let manifest = dir.join(MANIFEST);
        if manifest.exists() {
            let text = fs::read_to_string(&manifest)?;
            let kept: String = text
                .lines()
                .filter(|l| {
                    serde_json::from_str::<ManifestLine>(l).is_ok_and(|m| m.class < complete)
                })
                .flat_map(|l| [l, "\n"])
                .collect();
            write_atomic(&manifest, kept.as_bytes())?;
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            patients,
            shard_size: shard_size.max(1),
            pending: Vec::new(),
            lines: Vec::new(),
            shard: 0,
            partition,
            obs,
        })
    }

    fn flush_shard(&mut self) -> anyhow::Result<()> {
        let Some((first, _)) = self.pending.first() else {
            return Ok(());
        };
        let shape = first.shape();
        let class = self.pending[0].1.class;
        let name = format!("shards/class-{class:04}-{:03}.npy", self.shard);
        let mut data = Vec::with_capacity(self.pending.len() * first.data().len());
        for (v, _) in &self.pending {
            data.extend_from_slice(v.data());
        }
        let npy =
            genesis_io::npy::encode(&[self.pending.len(), shape[0], shape[1], shape[2]], &data);
        write_atomic(&self.dir.join(&name), &npy)?;
        for (index, (_, mut line)) in self.pending.drain(..).enumerate() {
            line.file = name.clone();
            line.index = Some(index);
            self.lines.push(line);
        }
        self.shard += 1;
        Ok(())
    }

    fn append(&self, file: &str, lines: &[String]) -> anyhow::Result<()> {
        let path = self.dir.join(file);
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        let text: String = lines.iter().flat_map(|l| [l.as_str(), "\n"]).collect();
        f.write_all(text.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
        f.sync_data().with_context(|| format!("cannot sync {}", path.display()))
    }
}

impl Collector for Writer<'_> {
    type Error = anyhow::Error;

    fn wants(&self, class: usize) -> bool {
        class % self.partition.count == self.partition.index
    }

    fn load(&mut self, index: usize) -> anyhow::Result<Volume> {
        self.patients.load(index)
    }

    fn crop(&mut self, crop: Crop) -> anyhow::Result<()> {
        self.obs.crop(&crop);
        let line = ManifestLine {
            file: String::new(),
            index: None,
            class: crop.class,
            patient: self.patients.names()[crop.patient].clone(),
            rank: crop.rank,
            distance: crop.distance,
            resolution: crop.resolution,
            corner: crop.window.corner,
            size: crop.window.size,
        };
        self.pending.push((crop.volume, line));
        if self.pending.len() >= self.shard_size {
            self.flush_shard()?;
        }
        Ok(())
    }

    fn class_done(&mut self, record: &ClassRecord) -> anyhow::Result<()> {
        self.flush_shard()?;
        let lines = self
            .lines
            .drain(..)
            .map(|l| serde_json::to_string(&l))
            .collect::<Result<Vec<_>, _>>()?;
        self.append(MANIFEST, &lines)?;
        let coordinate = CoordinateLine {
            record: *record,
            patient: self.patients.names()[record.reference].clone(),
        };
        self.append(COORDINATES, &[serde_json::to_string(&coordinate)?])?;
        self.shard = 0;
        self.obs.advance("");
        Ok(())
    }
}

//! `manifest.jsonl`: the labelled crops of a discovery folder (what `genesis discover` writes
//! and pretraining reads; also hand-written `{"file": …, "class": k}` lines), and the
//! partitions of one discovery (`--shard I/N`) found under a parent folder.

use serde::{Deserialize, Serialize};

/// Manifest file name.
pub const MANIFEST: &str = "manifest.jsonl";
/// Coordinate log file name of a discovery folder.
pub const COORDINATES: &str = "coordinates.jsonl";
/// Settings file of a discovery folder.
pub const SETTINGS: &str = "discovery.json";

/// One line of `manifest.jsonl`. Only `file` and `class` are required; discovery fills in
/// where each crop came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestLine {
    /// Crop file, relative to the manifest: an image/volume, or an NPY shard `[n, X, Y, Z]`
    /// when `index` is given.
    pub file: String,
    /// Position of the crop in a shard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// Pseudo-class.
    pub class: usize,
    /// Patient name.
    #[serde(default)]
    pub patient: String,
    /// Neighbour rank (0 = the class's reference).
    #[serde(default)]
    pub rank: usize,
    /// Embedding distance to the reference.
    #[serde(default)]
    pub distance: f64,
    /// 0 = the fixed crop, 1.. = jittered.
    #[serde(default)]
    pub resolution: usize,
    /// Corner of the window cut from the patient.
    #[serde(default)]
    pub corner: [usize; 3],
    /// Size of that window (before resizing to the crop shape).
    #[serde(default)]
    pub size: [usize; 3],
}

#[cfg(not(target_family = "wasm"))]
pub use folders::manifests;

#[cfg(not(target_family = "wasm"))]
mod folders {
    use std::path::{Path, PathBuf};

    use anyhow::{Context, bail};

    use super::{MANIFEST, SETTINGS};

    /// The settings of a partition folder, and its `shard` (index, count).
    fn partition(dir: &Path) -> anyhow::Result<(serde_json::Value, (u64, u64))> {
        let path = dir.join(SETTINGS);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut value: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let shard = value.as_object_mut().and_then(|o| o.remove("shard"));
        let field = |k: &str| shard.as_ref().and_then(|s| s.get(k)?.as_u64());
        Ok((value, (field("index").unwrap_or(0), field("count").unwrap_or(1))))
    }

    /// The manifests of a discovery folder: its own `manifest.jsonl`, or those of the partition
    /// folders (`genesis discover --shard I/N`) directly inside it, checked to be all the
    /// partitions of one discovery. Empty when there is none.
    pub fn manifests(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
        if dir.join(MANIFEST).is_file() {
            return Ok(vec![dir.join(MANIFEST)]);
        }
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Ok(Vec::new());
        };
        let mut parts: Vec<PathBuf> = entries
            .filter_map(|e| Some(e.ok()?.path()))
            .filter(|p| p.join(MANIFEST).is_file() && p.join(SETTINGS).is_file())
            .collect();
        parts.sort();
        let settings = parts.iter().map(|p| partition(p)).collect::<anyhow::Result<Vec<_>>>()?;
        let Some((first, (_, count))) = settings.first() else {
            return Ok(Vec::new());
        };
        if let Some(odd) = settings.iter().position(|(s, (_, n))| s != first || n != count) {
            bail!(
                "{} and {} are not partitions of one discovery (their {SETTINGS} differ beyond --shard)",
                parts[0].display(),
                parts[odd].display()
            );
        }
        let mut found: Vec<u64> = settings.iter().map(|(_, (i, _))| *i).collect();
        found.sort_unstable();
        if found != (0..*count).collect::<Vec<_>>() {
            bail!(
                "{} holds partitions {found:?} of {count}; run the missing ones (genesis discover --shard I/{count}) or train on one partition folder",
                dir.display()
            );
        }
        Ok(parts.into_iter().map(|p| p.join(MANIFEST)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_written_lines_read_and_discovery_lines_round_trip() {
        let short: ManifestLine = serde_json::from_str(r#"{"file":"a.png","class":3}"#).unwrap();
        assert_eq!((short.index, short.class, short.rank), (None, 3, 0));
        let full = ManifestLine { index: Some(2), patient: "p".into(), ..short };
        let text = serde_json::to_string(&full).unwrap();
        assert!(text.starts_with(r#"{"file":"a.png","index":2,"class":3,"patient":"p""#), "{text}");
        assert_eq!(serde_json::from_str::<ManifestLine>(&text).unwrap(), full);
    }
}

//! NIH ChestX-ray14: a folder of PNG radiographs, optionally restricted and labelled by an
//! official split list (`<png> <label> <label> …` per line, e.g. `Xray14_train_official.txt`),
//! each image normalized to [0, 1] and resized to `size × size` (default 224).

use std::path::{Path, PathBuf};

use genesis_core::Volume;
use genesis_core::resize::{Filter, resize};
use serde::{Deserialize, Serialize};

use crate::IoError;

/// Options of the ChestX-ray14 dataset.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChestXray14Config {
    /// Output side in pixels.
    pub size: usize,
    /// Resampling filter.
    pub filter: Filter,
}

impl Default for ChestXray14Config {
    fn default() -> Self {
        Self { size: 224, filter: Filter::Area }
    }
}

/// One radiograph and its labels (empty without a split list).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The PNG file.
    pub file: PathBuf,
    /// Labels from the split list.
    pub labels: Vec<u8>,
}

/// The radiographs of a folder (all PNGs sorted, or the split list's order).
#[derive(Debug, Clone)]
pub struct ChestXray14 {
    entries: Vec<Entry>,
    config: ChestXray14Config,
}

impl ChestXray14 {
    /// Opens `dir`; with `list`, only the listed images, in list order, with their labels.
    pub fn open(
        dir: &Path,
        list: Option<&Path>,
        config: ChestXray14Config,
    ) -> Result<Self, IoError> {
        let entries = match list {
            Some(list) => parse_list(
                dir,
                list,
                &std::fs::read_to_string(list).map_err(|e| IoError::os(list, "reading", e))?,
            )?,
            None => {
                super::walk(dir, &|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("png")))?
                    .into_iter()
                    .map(|file| Entry { file, labels: Vec::new() })
                    .collect()
            }
        };
        if entries.is_empty() {
            return Err(IoError::Dataset {
                file: dir.to_path_buf(),
                detail: "no PNG radiographs found".into(),
            });
        }
        if config.size == 0 {
            return Err(IoError::Dataset {
                file: dir.to_path_buf(),
                detail: "image size must be positive".into(),
            });
        }
        Ok(Self { entries, config })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no images (never, for an opened dataset).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The images and their labels.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Loads image `index` as a `[size, size, 1]` image in [0, 1].
    pub fn get(&self, index: usize) -> Result<Volume, IoError> {
        let entry = self.entries.get(index).ok_or_else(|| IoError::Dataset {
            file: PathBuf::from(format!("#{index}")),
            detail: format!("index out of range (dataset has {} images)", self.entries.len()),
        })?;
        let image = crate::load_normalized(&entry.file)?;
        if !image.is_2d() {
            return Err(IoError::Dataset {
                file: entry.file.clone(),
                detail: "not a 2D image".into(),
            });
        }
        let n = self.config.size;
        resize(&image, [n, n, 1], self.config.filter).map_err(|e| IoError::volume(&entry.file, e))
    }
}

/// Parses a split list: `<png> <integer labels…>` per line; blank lines are skipped.
fn parse_list(dir: &Path, list: &Path, text: &str) -> Result<Vec<Entry>, IoError> {
    let mut entries = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut fields = line.split_whitespace();
        let Some(name) = fields.next() else { continue };
        let labels =
            fields.map(|f| f.parse::<u8>()).collect::<Result<Vec<_>, _>>().map_err(|_| {
                IoError::Dataset {
                    file: list.to_path_buf(),
                    detail: format!("line {}: labels must be small integers: {line:?}", n + 1),
                }
            })?;
        entries.push(Entry { file: dir.join(name), labels });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_list_gives_files_and_labels_and_rejects_garbage() {
        let dir = Path::new("/data");
        let list = Path::new("train.txt");
        let entries = parse_list(dir, list, "a.png 0 1 0\n\nb.png 1 0 0\n").unwrap();
        assert_eq!(entries[1], Entry { file: dir.join("b.png"), labels: vec![1, 0, 0] });
        let err = parse_list(dir, list, "a.png 0 x\n").unwrap_err();
        assert!(
            err.to_string().contains("train.txt") && err.to_string().contains("line 1"),
            "{err}"
        );
    }
}

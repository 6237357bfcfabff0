//! A generic dataset: every readable image or volume under a folder, in sorted order. Files
//! are items of their own, except DICOM slices: a folder holding several DICOM files (any
//! names, several series mixed) gives one item per series, read as one volume sorted by
//! position (`crate::dicom_series`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use genesis_core::Volume;

use crate::{Format, IoError, LoadOptions, Loaded, Preprocess, SeriesChoice};

/// One item of a [`FolderDataset`]: a file, or one series of a folder of DICOM slices.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Item {
    /// The file, or the folder of DICOM slices.
    pub path: PathBuf,
    /// The SeriesInstanceUID, for a series of a DICOM folder.
    pub series: Option<String>,
    /// Whether the folder holds other series too (the name then carries the UID).
    pub mixed: bool,
}

impl Item {
    /// The item's name relative to `root`: its path, with ` [UID]` for one series of a folder
    /// that holds several.
    pub fn name(&self, root: &Path) -> String {
        let path = self.path.strip_prefix(root).unwrap_or(&self.path);
        let path = if path.as_os_str().is_empty() { Path::new(".") } else { path };
        match (&self.series, self.mixed) {
            (Some(uid), true) => format!("{} [{uid}]", path.display()),
            _ => path.display().to_string(),
        }
    }

    /// Reads the item with the volume choice of `pre`, resampled and normalized by it.
    pub fn load(&self, pre: &Preprocess) -> Result<Loaded, IoError> {
        let Some(uid) = &self.series else {
            return crate::load_preprocessed(&self.path, pre);
        };
        let options =
            LoadOptions { volume: pre.volume, series: Some(SeriesChoice::Uid(uid.clone())) };
        let mut loaded = crate::load_with(&self.path, &options)?;
        loaded.volume = pre.apply(&self.path, loaded.volume)?;
        Ok(loaded)
    }
}

/// The items of a folder that [`crate::load`] can read, sorted by path.
#[derive(Debug, Clone)]
pub struct FolderDataset {
    items: Vec<Item>,
    preprocess: Preprocess,
}

impl FolderDataset {
    /// Lists `dir` recursively, keeping files whose name or first bytes identify a supported
    /// format (MetaImage data files `.raw`/`.zraw` are reached through their headers); the
    /// DICOM files of one folder become one item per series (only series `pre.series` when
    /// set). Items are read with `pre`.
    pub fn open(dir: &Path, pre: Preprocess) -> Result<Self, IoError> {
        let files = super::walk(dir, &|p| sniff(p).is_some())?;
        let mut items = Vec::new();
        let mut dicom: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
        for file in files {
            match (sniff(&file), file.parent()) {
                (Some(Format::Dicom), Some(parent)) => {
                    dicom.entry(parent.to_path_buf()).or_default().push(file);
                }
                _ => items.push(Item { path: file, series: None, mixed: false }),
            }
        }
        for (folder, files) in dicom {
            items.extend(dicom_items(folder, files)?);
        }
        if let Some(wanted) = &pre.series {
            items.retain(|i| i.series.as_ref() == Some(wanted));
            if items.is_empty() {
                return Err(IoError::Dataset {
                    file: dir.to_path_buf(),
                    detail: format!(
                        "no DICOM series with SeriesInstanceUID {wanted} in this folder"
                    ),
                });
            }
        }
        if items.is_empty() {
            return Err(IoError::Dataset {
                file: dir.to_path_buf(),
                detail: "no readable image files in this folder".into(),
            });
        }
        items.sort();
        Ok(Self { items, preprocess: pre })
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when there are no items (never, for an opened dataset).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The items, sorted.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// Loads item `index`, preprocessed; its [`Loaded::notice`] says when a 4-D file was cut
    /// to one volume.
    pub fn load(&self, index: usize) -> Result<Loaded, IoError> {
        let item = self.items.get(index).ok_or_else(|| IoError::Dataset {
            file: PathBuf::from(format!("#{index}")),
            detail: format!("index out of range (dataset has {} items)", self.items.len()),
        })?;
        item.load(&self.preprocess)
    }

    /// Loads item `index`, preprocessed (normalized into [0, 1]).
    pub fn get(&self, index: usize) -> Result<Volume, IoError> {
        self.load(index).map(|l| l.volume)
    }
}

/// The items of the DICOM `files` of `folder`: a lone file is an item of its own, several are
/// one item per series.
fn dicom_items(folder: PathBuf, files: Vec<PathBuf>) -> Result<Vec<Item>, IoError> {
    if let [file] = files.as_slice() {
        return Ok(vec![Item { path: file.clone(), series: None, mixed: false }]);
    }
    let series = crate::dicom_series::list_series(&folder)?;
    let mixed = series.len() > 1;
    Ok(series
        .into_iter()
        .map(|s| Item { path: folder.clone(), series: Some(s.uid), mixed })
        .collect())
}

/// The format of `path` from its first bytes and name, if supported.
fn sniff(path: &Path) -> Option<Format> {
    use std::io::Read;
    let mut head = Vec::with_capacity(348);
    std::fs::File::open(path).ok()?.take(348).read_to_end(&mut head).ok()?;
    crate::format::detect(path, &head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_readable_files_sorted_and_loads_them() {
        let dir = std::env::temp_dir().join(format!("genesis-folder-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let v = Volume::new([2, 2, 2], (0..8).map(|i| i as f32).collect()).unwrap();
        crate::npy::write(&dir.join("sub/b.npy"), &v).unwrap();
        crate::nifti::write(&dir.join("a.nii.gz"), &v).unwrap();
        std::fs::write(dir.join("notes.txt"), "hello").unwrap();
        std::fs::write(dir.join(".hidden.npy"), "x").unwrap();
        let ds = FolderDataset::open(&dir, Preprocess::default()).unwrap();
        let names: Vec<_> = ds.items().iter().map(|i| i.name(&dir)).collect();
        assert_eq!(names, ["a.nii.gz", "sub/b.npy"]);
        let first = ds.get(0).unwrap();
        assert_eq!(first.min_max(), (0.0, 1.0));
        assert!(ds.get(2).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(FolderDataset::open(&dir, Preprocess::default()).is_err());
    }
}

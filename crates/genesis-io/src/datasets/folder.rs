//! A generic dataset: every readable image or volume file under a folder, in sorted order.

use std::path::{Path, PathBuf};

use genesis_core::Volume;

use crate::{Conventions, Format, IoError};

/// The files of a folder that [`crate::load`] can read, sorted by path.
#[derive(Debug, Clone)]
pub struct FolderDataset {
    files: Vec<PathBuf>,
    conventions: Conventions,
}

impl FolderDataset {
    /// Lists `dir` recursively, keeping files whose name or first bytes identify a supported
    /// format (MetaImage data files `.raw`/`.zraw` are reached through their headers).
    pub fn open(dir: &Path, conventions: Conventions) -> Result<Self, IoError> {
        let files = super::walk(dir, &|p| sniff(p).is_some())?;
        if files.is_empty() {
            return Err(IoError::Dataset {
                file: dir.to_path_buf(),
                detail: "no readable image files in this folder".into(),
            });
        }
        Ok(Self { files, conventions })
    }

    /// Number of files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// True when there are no files (never, for an opened dataset).
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The files, sorted.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Loads file `index`, normalized into [0, 1].
    pub fn get(&self, index: usize) -> Result<Volume, IoError> {
        let file = self.files.get(index).ok_or_else(|| IoError::Dataset {
            file: PathBuf::from(format!("#{index}")),
            detail: format!("index out of range (dataset has {} files)", self.files.len()),
        })?;
        crate::load_normalized_with(file, &self.conventions)
    }
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
        let ds = FolderDataset::open(&dir, Conventions::default()).unwrap();
        let names: Vec<_> =
            ds.files().iter().map(|f| f.strip_prefix(&dir).unwrap().to_path_buf()).collect();
        assert_eq!(names, [PathBuf::from("a.nii.gz"), PathBuf::from("sub/b.npy")]);
        let first = ds.get(0).unwrap();
        assert_eq!(first.min_max(), (0.0, 1.0));
        assert!(ds.get(2).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(FolderDataset::open(&dir, Conventions::default()).is_err());
    }
}

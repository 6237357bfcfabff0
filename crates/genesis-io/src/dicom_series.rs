//! Folders of DICOM slices. Files (any name; by the `DICM` magic or a `.dcm` extension) are
//! grouped by SeriesInstanceUID (0020,000E): one series is read as before; of several, one is
//! chosen by UID or by index ([`SeriesChoice`]), else the error lists them. Slices are sorted by
//! ImagePositionPatient along the slice normal (then InstanceNumber, then file name) and must
//! share one orientation and an even spacing: a duplicate position or a gap (a missing slice)
//! is an error naming the files, not a silently wrong volume. [`from_memory`] does the same
//! for files held in memory (the slices dropped on the page).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::IoError;
use crate::dicom::{self, Image};
use crate::limits::check_shape;
#[cfg(not(target_family = "wasm"))]
use crate::limits::read_file;
use crate::options::{Loaded, SeriesChoice, SeriesInfo};

/// Slices closer than this along the normal (mm) are at the same position.
const DUPLICATE_MM: f64 = 1e-3;
/// Largest relative deviation of a slice step from the median step.
const STEP_TOLERANCE: f64 = 0.1;
/// Smallest dot product of two slice normals that counts as the same orientation.
const SAME_ORIENTATION: f64 = 0.9999;

/// The bytes of one file of a series, by its path.
type Reader<'a> = dyn Fn(&Path) -> Result<Cow<'a, [u8]>, IoError> + 'a;

/// Reads the one series of DICOM files in `dir` as a volume; a folder with several series is an
/// [`IoError::Selection`] listing them (choose one with [`read_series_with`]).
#[cfg(not(target_family = "wasm"))]
pub fn read_series(dir: &Path) -> Result<genesis_core::Volume, IoError> {
    read_series_with(dir, None).map(|l| l.volume)
}

/// The series of DICOM files in `dir`, sorted by SeriesInstanceUID (the order
/// [`SeriesChoice::Index`] counts in). Reads every file's attributes, decodes no pixels.
#[cfg(not(target_family = "wasm"))]
pub fn list_series(dir: &Path) -> Result<Vec<SeriesInfo>, IoError> {
    let files = dicom_files(dir)?;
    Ok(scan(files, &from_disk)?.into_iter().map(|(info, _)| info).collect())
}

/// Reads one series of `dir`: the only one when `choice` is `None`, else the chosen one. The
/// returned [`Loaded::series`] describes it.
#[cfg(not(target_family = "wasm"))]
pub fn read_series_with(dir: &Path, choice: Option<&SeriesChoice>) -> Result<Loaded, IoError> {
    read_chosen(dir, dicom_files(dir)?, &from_disk, choice)
}

/// Reads one series of DICOM files held in memory as `(name, bytes)`, like
/// [`read_series_with`] reads a folder; `label` names the set in errors (e.g. `dropped files`).
pub fn from_memory(
    label: &str,
    files: &[(String, &[u8])],
    choice: Option<&SeriesChoice>,
) -> Result<Loaded, IoError> {
    let label = Path::new(label);
    if files.is_empty() {
        return Err(series_error(label, "no DICOM files given".into()));
    }
    let by_name: BTreeMap<PathBuf, &[u8]> =
        files.iter().map(|(name, bytes)| (PathBuf::from(name), *bytes)).collect();
    if by_name.len() != files.len() {
        return Err(series_error(label, "two files have the same name".into()));
    }
    let read = |path: &Path| -> Result<Cow<'_, [u8]>, IoError> {
        by_name
            .get(path)
            .map(|b| Cow::Borrowed(*b))
            .ok_or_else(|| IoError::UnknownFormat { file: path.to_path_buf() })
    };
    read_chosen(label, by_name.keys().cloned().collect(), &read, choice)
}

/// The bytes of a file on disk.
#[cfg(not(target_family = "wasm"))]
fn from_disk(path: &Path) -> Result<Cow<'static, [u8]>, IoError> {
    read_file(path).map(Cow::Owned)
}

/// Groups `files` into series, picks one by `choice` and reads it as a volume.
fn read_chosen(
    dir: &Path,
    files: Vec<PathBuf>,
    read: &Reader<'_>,
    choice: Option<&SeriesChoice>,
) -> Result<Loaded, IoError> {
    let mut groups = scan(files, read)?;
    let pick = choose(dir, &groups, choice)?;
    let (info, files) = groups.swap_remove(pick);
    let mut images = Vec::with_capacity(files.len());
    let mut voxels = 0usize;
    for f in &files {
        let image = dicom::parse(f, &read(f)?)?;
        voxels = voxels.saturating_add(image.values.len());
        check_shape(dir, [voxels, 1, 1], 4)?;
        images.push(image);
    }
    let images = order(dir, images)?;
    let volume = dicom::stack(dir, images)?;
    Ok(Loaded { series: Some(info), ..Loaded::single(volume) })
}

/// DICOM files of `dir` (not recursive), sorted by name.
#[cfg(not(target_family = "wasm"))]
fn dicom_files(dir: &Path) -> Result<Vec<PathBuf>, IoError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| IoError::os(dir, "listing", e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && is_dicom_file(p))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(IoError::Dataset {
            file: dir.to_path_buf(),
            detail: "no DICOM files in this folder".into(),
        });
    }
    Ok(files)
}

/// True when `path` looks like a DICOM file (name or magic).
#[cfg(not(target_family = "wasm"))]
fn is_dicom_file(path: &Path) -> bool {
    use std::io::Read;
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("dcm")) {
        return true;
    }
    let mut head = [0u8; 132];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head)).is_ok()
        && &head[128..] == b"DICM"
}

/// The series of `files` with their files, sorted by UID.
fn scan(
    files: Vec<PathBuf>,
    read: &Reader<'_>,
) -> Result<Vec<(SeriesInfo, Vec<PathBuf>)>, IoError> {
    let mut groups: BTreeMap<String, (SeriesInfo, Vec<PathBuf>)> = BTreeMap::new();
    for file in files {
        let info = dicom::series_of(&file, &read(&file)?)?;
        let (group, files) = groups.entry(info.uid.clone()).or_insert((info, Vec::new()));
        files.push(file);
        group.files = files.len();
    }
    Ok(groups.into_values().collect())
}

/// Index of the series to read, or an error listing them.
fn choose(
    dir: &Path,
    groups: &[(SeriesInfo, Vec<PathBuf>)],
    choice: Option<&SeriesChoice>,
) -> Result<usize, IoError> {
    let n = groups.len();
    let listing: String =
        groups.iter().enumerate().map(|(i, (info, _))| format!("\n  {i}: {info}")).collect();
    let problem = match choice {
        None if n == 1 => return Ok(0),
        None => format!(
            "{n} DICOM series in this folder; choose one by index or SeriesInstanceUID:{listing}"
        ),
        Some(SeriesChoice::Index(i)) if *i < n => return Ok(*i),
        Some(SeriesChoice::Index(i)) => {
            format!("series {i} requested, but the folder holds {n} (0 to {}):{listing}", n - 1)
        }
        Some(SeriesChoice::Uid(uid)) => match groups.iter().position(|(s, _)| s.uid == *uid) {
            Some(i) => return Ok(i),
            None => format!("no series with SeriesInstanceUID {uid}; the folder holds:{listing}"),
        },
    };
    Err(IoError::Selection { file: dir.to_path_buf(), detail: problem })
}

/// Sorts the slices of one series along its normal and checks that they form one volume.
fn order(dir: &Path, mut images: Vec<Image>) -> Result<Vec<Image>, IoError> {
    let normal = images.iter().find_map(|i| i.normal);
    if let Some(n) = normal {
        let first = images.iter().find(|i| i.normal.is_some()).map(|i| i.name.clone());
        if let Some(other) = images.iter().find(|i| i.normal.is_some_and(|m| !same_direction(n, m)))
        {
            return Err(series_error(
                dir,
                format!(
                    "{} and {} have different slice orientations (a localizer, or several \
                     planes): not one volume",
                    first.unwrap_or_default(),
                    other.name
                ),
            ));
        }
    }
    images.sort_by(|a, b| {
        a.along(normal)
            .partial_cmp(&b.along(normal))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.instance.cmp(&b.instance))
            .then(a.name.cmp(&b.name))
    });
    check_spacing(dir, &images, normal)?;
    Ok(images)
}

/// True when unit-ish normals `a` and `b` point the same way (or exactly opposite).
fn same_direction(a: [f64; 3], b: [f64; 3]) -> bool {
    let dot = |u: [f64; 3], v: [f64; 3]| u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
    let norms = (dot(a, a) * dot(b, b)).sqrt();
    norms > 0.0 && dot(a, b).abs() / norms >= SAME_ORIENTATION
}

/// An error about the series as a whole.
fn series_error(dir: &Path, detail: String) -> IoError {
    IoError::Dataset { file: dir.to_path_buf(), detail }
}

/// Checks that sorted single-frame slices with positions are evenly spaced: no two at one
/// position, no step far from the median step (a missing slice).
fn check_spacing(dir: &Path, images: &[Image], normal: Option<[f64; 3]>) -> Result<(), IoError> {
    if images.len() < 2 || images.iter().any(|i| i.frames != 1) {
        return Ok(());
    }
    let Some(along) = images.iter().map(|i| i.along(normal)).collect::<Option<Vec<f64>>>() else {
        return Ok(());
    };
    let steps: Vec<f64> = along.windows(2).map(|w| w[1] - w[0]).collect();
    let names = |k: usize| (&images[k].name, &images[k + 1].name);
    if let Some(k) = steps.iter().position(|s| s.abs() < DUPLICATE_MM) {
        let (a, b) = names(k);
        return Err(series_error(
            dir,
            format!(
                "{a} and {b} are at the same position ({:.3} mm along the slice normal): \
                 duplicate slices; remove one",
                along[k]
            ),
        ));
    }
    let mut sorted = steps.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    if let Some(k) = steps.iter().position(|s| (s - median).abs() > STEP_TOLERANCE * median) {
        let (a, b) = names(k);
        return Err(series_error(
            dir,
            format!(
                "uneven slice spacing: {:.3} mm between {a} and {b} but {median:.3} mm between \
                 most slices (a missing slice?)",
                steps[k]
            ),
        ));
    }
    Ok(())
}

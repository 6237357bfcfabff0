//! Folders of DICOM slices: several series (real localizer files from pydicom's test data in
//! `tests/data/dicom-series/`, see its README; and series written here), choosing one by UID or
//! index, and slices that do not form one volume (duplicates, gaps, mixed orientations).

use std::path::{Path, PathBuf};

use genesis_io::dicom::{Slice, encode_slice};
use genesis_io::dicom_series::{list_series, read_series, read_series_with};
use genesis_io::{IoError, LoadOptions, SeriesChoice, load, load_with};

/// A fixture folder of `tests/data/dicom-series/`.
fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/dicom-series").join(name)
}

/// A fresh temporary folder for one test.
fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("genesis-io-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Pydicom's values for the localizer files (16×16 MR, no rescale): series UIDs end in
/// `.136` (3 files), `.17` (3 files) and `.481` (file `15970`, pixel sum 59831).
const MR2_PREFIX: &str = "1.3.6.1.4.1.5962.1.1.0.0.0.1196533885.18148.0.";

#[test]
fn a_folder_with_several_real_series_lists_them_and_reads_the_chosen_one() {
    let dir = fixture("mr2");
    let series = list_series(&dir).unwrap();
    let summary: Vec<_> = series.iter().map(|s| (s.uid.as_str(), s.files)).collect();
    let uid = |tail: &str| format!("{MR2_PREFIX}{tail}");
    assert_eq!(
        summary,
        [(uid("136").as_str(), 3), (uid("17").as_str(), 3), (uid("481").as_str(), 1)]
    );
    assert_eq!(series[0].description.as_deref(), Some("T/S/C RF FAST PILOT"));
    assert_eq!(series[2].description.as_deref(), Some("FAST LOCALIZER"));
    assert!(series.iter().all(|s| s.modality == "MR"));

    let e = read_series(&dir).unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, IoError::Selection { .. }), "{e}");
    for part in ["mr2", "3 DICOM series", "0: 1.3.6", "\"T/S/C RF FAST PILOT\" MR, 3 files", "2: "]
    {
        assert!(text.contains(part), "{text} lacks {part}");
    }

    let one = read_series_with(&dir, Some(&SeriesChoice::Index(2))).unwrap();
    assert_eq!(one.series.as_ref().map(|s| s.files), Some(1));
    let v = one.volume;
    assert_eq!(v.shape(), [16, 16, 1]);
    assert_eq!(v.data().iter().map(|&x| f64::from(x)).sum::<f64>(), 59831.0);
    assert_eq!((v.get(1, 0, 0), v.get(3, 2, 0)), (308.0, 226.0)); // pixel_array[0,1], [2,3]
    assert_eq!(v.meta.spacing, [1.367188, 1.367188, 10.0]);
    let by_uid = Some(SeriesChoice::Uid(uid("481")));
    let loaded = load_with(&dir, &LoadOptions { series: by_uid, volume: None }).unwrap();
    assert_eq!(loaded.volume, v);

    // The tri-planar pilot: three files in three orientations are not one volume.
    let e = read_series_with(&dir, Some(&SeriesChoice::Uid(uid("136")))).unwrap_err();
    assert!(e.to_string().contains("different slice orientations"), "{e}");
    let e = read_series_with(&dir, Some(&SeriesChoice::Index(3))).unwrap_err().to_string();
    assert!(e.contains("series 3 requested, but the folder holds 3 (0 to 2)"), "{e}");
    let e = read_series_with(&dir, Some(&SeriesChoice::Uid("1.2.3".into()))).unwrap_err();
    assert!(e.to_string().contains("no series with SeriesInstanceUID 1.2.3"), "{e}");
    let one_volume = LoadOptions { volume: Some(1), ..LoadOptions::default() };
    assert!(matches!(load_with(&dir, &one_volume), Err(IoError::Selection { .. })));
}

#[test]
fn single_file_series_of_mr1_by_index() {
    let v = read_series_with(&fixture("mr1"), Some(&SeriesChoice::Index(0))).unwrap().volume;
    assert_eq!(v.data().iter().map(|&x| f64::from(x)).sum::<f64>(), 183_241.0); // file 4919
    assert_eq!(v.get(1, 0, 0), 495.0);
}

/// A 2×3 CT slice of series `uid` at height `z`, values `base + i`.
fn slice(uid: &str, z: f64, instance: i32, base: i16) -> Vec<u8> {
    let stored: Vec<i16> = (0..6).map(|i| base + i).collect();
    encode_slice(&Slice {
        rows: 2,
        cols: 3,
        stored: &stored,
        modality: "CT",
        rescale: (1.0, -1024.0),
        window: None,
        monochrome1: false,
        position: [0.0, 0.0, z],
        instance,
        pixel_spacing: [0.5, 0.5],
        series: Some((uid, "AXIAL")),
    })
    .unwrap()
}

/// Writes `(name, bytes)` files into a fresh folder.
fn folder(name: &str, files: &[(&str, Vec<u8>)]) -> PathBuf {
    let dir = tmp(name);
    for (file, bytes) in files {
        std::fs::write(dir.join(file), bytes).unwrap();
    }
    dir
}

#[test]
fn mixed_series_are_told_apart_and_each_reads_in_position_order() {
    let dir = folder(
        "mixed-series",
        &[
            ("x9", slice("1.2.9", 5.0, 1, 500)),
            ("x1.dcm", slice("1.2.9", 0.0, 3, 0)),
            ("x5", slice("1.2.9", 2.5, 2, 250)),
            ("y1.dcm", slice("1.2.10", 0.0, 1, 7)),
            ("y2.dcm", slice("1.2.10", 1.0, 2, 8)),
        ],
    );
    assert!(matches!(load(&dir), Err(IoError::Selection { .. })));
    // Sorted by UID as text: "1.2.10" before "1.2.9".
    let listed: Vec<_> = list_series(&dir).unwrap().into_iter().map(|s| s.uid).collect();
    assert_eq!(listed, ["1.2.10", "1.2.9"]);
    let a = read_series_with(&dir, Some(&SeriesChoice::Uid("1.2.9".into()))).unwrap();
    assert_eq!(a.volume.shape(), [3, 2, 3]);
    assert_eq!(a.volume.meta.spacing, [0.5, 0.5, 2.5]);
    assert_eq!(a.volume.get(0, 0, 1), 250.0 - 1024.0);
    assert_eq!(a.series.unwrap().description.as_deref(), Some("AXIAL"));
    let b = read_series_with(&dir, Some(&SeriesChoice::Index(0))).unwrap().volume;
    assert_eq!((b.shape(), b.meta.spacing[2], b.get(0, 0, 1)), ([3, 2, 2], 1.0, 8.0 - 1024.0));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn duplicates_and_gaps_are_errors_naming_the_files() {
    let dup = folder(
        "dup-slices",
        &[
            ("a", slice("1.5", 0.0, 1, 0)),
            ("b", slice("1.5", 2.5, 2, 0)),
            ("c", slice("1.5", 2.5, 3, 0)),
        ],
    );
    let e = read_series(&dup).unwrap_err().to_string();
    assert!(
        e.contains("b and c are at the same position (2.500 mm") && e.contains("dup-slices"),
        "{e}"
    );
    let gap = folder(
        "gap-slices",
        &[
            ("s1", slice("1.6", 0.0, 1, 0)),
            ("s2", slice("1.6", 2.5, 2, 0)),
            ("s4", slice("1.6", 7.5, 4, 0)),
            ("s5", slice("1.6", 10.0, 5, 0)),
        ],
    );
    let e = read_series(&gap).unwrap_err().to_string();
    assert!(e.contains("uneven slice spacing: 5.000 mm between s2 and s4 but 2.500 mm"), "{e}");
    let cut = slice("1.6", 12.5, 6, 0);
    std::fs::write(gap.join("s6.dcm"), &cut[..cut.len() - 3]).unwrap();
    let e = read_series(&gap).unwrap_err().to_string();
    assert!(e.contains("s6.dcm"), "{e}");
    std::fs::remove_dir_all(&dup).unwrap();
    std::fs::remove_dir_all(&gap).unwrap();
}

#[test]
fn dataset_folders_read_each_series_of_a_dicom_folder_as_one_volume() {
    use genesis_io::datasets::folder::FolderDataset;
    use genesis_io::{Intensity, Preprocess};
    let root = folder("dicom-dataset", &[]);
    let patient = root.join("patient1");
    std::fs::create_dir_all(&patient).unwrap();
    for (name, bytes) in [
        ("x9", slice("1.2.9", 5.0, 1, 500)),
        ("x1", slice("1.2.9", 0.0, 3, 0)),
        ("x5", slice("1.2.9", 2.5, 2, 250)),
        ("y1.dcm", slice("1.2.10", 0.0, 1, 7)),
        ("y2.dcm", slice("1.2.10", 1.0, 2, 8)),
    ] {
        std::fs::write(patient.join(name), bytes).unwrap();
    }
    std::fs::write(root.join("lone.dcm"), slice("1.3", 0.0, 1, 1000)).unwrap();
    let minmax = Preprocess { intensity: Intensity::MinMax, ..Preprocess::default() };
    let ds = FolderDataset::open(&root, minmax.clone()).unwrap();
    let names: Vec<_> = ds.items().iter().map(|i| i.name(&root)).collect();
    assert_eq!(names, ["lone.dcm", "patient1 [1.2.10]", "patient1 [1.2.9]"]);
    let v = ds.get(2).unwrap();
    assert_eq!((v.shape(), v.meta.spacing), ([3, 2, 3], [0.5, 0.5, 2.5]));
    // Sorted by position: slice z = 2.5 (values 250…) lies between 0 and 500.
    assert!(v.get(0, 0, 0) < v.get(0, 0, 1) && v.get(0, 0, 1) < v.get(0, 0, 2));
    assert_eq!(v.min_max(), (0.0, 1.0));
    // Only the chosen series; resampled to 1 mm slices.
    let pre = Preprocess {
        series: Some("1.2.9".into()),
        spacing: Some([0.5, 0.5, 1.0]),
        ..Preprocess::default()
    };
    let only = FolderDataset::open(&root, pre).unwrap();
    assert_eq!(only.len(), 1);
    assert_eq!(only.get(0).unwrap().shape(), [3, 2, 8]);
    let none = Preprocess { series: Some("9.9".into()), ..Preprocess::default() };
    let e = FolderDataset::open(&root, none).unwrap_err().to_string();
    assert!(e.contains("no DICOM series with SeriesInstanceUID 9.9"), "{e}");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn dropped_files_read_like_a_folder_a_mhd_pair_and_refuse_mixtures() {
    use genesis_io::from_files;
    let files = [
        ("x9", slice("1.2.9", 5.0, 1, 500)),
        ("x1.dcm", slice("1.2.9", 0.0, 3, 0)),
        ("x5", slice("1.2.9", 2.5, 2, 250)),
    ];
    let dir = folder("dropped-series", &files);
    let held: Vec<(String, &[u8])> =
        files.iter().map(|(n, b)| (n.to_string(), b.as_slice())).collect();
    let dropped = from_files(&held, &LoadOptions::default()).unwrap();
    assert_eq!(dropped.volume, read_series(&dir).unwrap());
    assert_eq!(dropped.series.unwrap().uid, "1.2.9");
    std::fs::remove_dir_all(&dir).unwrap();

    // A mixture, a missing slice and an empty drop are errors that say what to give instead.
    let mut mixed = held.clone();
    mixed.push(("notes.txt".into(), b"hello".as_slice()));
    let e = from_files(&mixed, &LoadOptions::default()).unwrap_err().to_string();
    assert!(e.contains("notes.txt is not DICOM"), "{e}");
    let gap = [held[0].clone(), held[1].clone(), ("x20".into(), files[0].1.as_slice())];
    assert!(from_files(&gap, &LoadOptions::default()).is_err());
    let e = from_files(&[], &LoadOptions::default()).unwrap_err().to_string();
    assert!(e.contains("no files given"), "{e}");

    // A MetaImage header with its data file, in either order; without it, a clear error.
    let dir = tmp("dropped-mhd");
    let volume = genesis_core::Volume::new([3, 2, 2], (0..12).map(|v| v as f32).collect()).unwrap();
    genesis_io::metaimage::write(&dir.join("ct.mhd"), &volume, false).unwrap();
    let (mhd, raw) =
        (std::fs::read(dir.join("ct.mhd")).unwrap(), std::fs::read(dir.join("ct.raw")).unwrap());
    let pair = [("ct.raw".to_string(), raw.as_slice()), ("ct.mhd".to_string(), mhd.as_slice())];
    let read = from_files(&pair, &LoadOptions::default()).unwrap().volume;
    assert_eq!(read.data(), volume.data());
    let e = from_files(&pair[1..], &LoadOptions::default()).unwrap_err().to_string();
    assert!(e.contains("its data are in ct.raw: give that file together with it"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

//! NIfTI-2 and 4-D NIfTI on real files from nibabel's test data (`tests/data/nifti/`, see its
//! README): expected values computed with nibabel 5.4.2. Plus damaged variants that must be
//! errors naming the file.

use std::path::{Path, PathBuf};

use genesis_io::{IoError, LoadOptions, load, load_with, nifti};

/// A fixture of `tests/data/nifti/`.
fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/nifti").join(name)
}

/// Sum of a volume's voxels in f64.
fn sum(v: &genesis_core::Volume) -> f64 {
    v.data().iter().map(|&x| f64::from(x)).sum()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

#[test]
fn nifti2_4d_gzip_reads_the_first_volume_by_default_and_any_on_request() {
    let path = fixture("example_nifti2.nii.gz");
    let v = load(&path).unwrap();
    assert_eq!(v.shape(), [32, 20, 12]);
    assert_eq!(sum(&v), 3_461_748.0);
    assert_eq!((v.get(1, 2, 3), v.get(31, 19, 11)), (367.0, 484.0));
    let [sx, sy, sz] = v.meta.spacing;
    assert!((sx, sy) == (2.0, 2.0) && close(sz, 2.2, 1e-6), "{:?}", v.meta.spacing);
    let o = v.meta.origin;
    let expected = [117.8551025390625, -35.72294235229492, -7.248798370361328];
    assert!(o.iter().zip(expected).all(|(a, b)| close(*a, b, 1e-9)), "{o:?}");

    let first = load_with(&path, &LoadOptions::default()).unwrap();
    assert_eq!((first.volumes, first.index), (2, 0));
    assert_eq!(first.notice().as_deref(), Some("4-D file with 2 volumes; using volume 0"));
    let second = nifti::read_volume(&path, 1).unwrap();
    assert_eq!(sum(&second.volume), 3_465_054.0);
    assert_eq!((second.volume.get(1, 2, 3), second.volume.get(31, 19, 11)), (382.0, 457.0));
    let bytes = std::fs::read(&path).unwrap();
    let from_memory = nifti::from_bytes_volume(Path::new("drop.nii.gz"), &bytes, 1).unwrap();
    assert_eq!(from_memory.volume, second.volume);

    let e = load_with(&path, &LoadOptions { volume: Some(2), ..LoadOptions::default() });
    let e = e.unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, IoError::Selection { .. }), "{e}");
    assert!(text.contains("example_nifti2.nii.gz") && text.contains("2 volumes"), "{text}");
}

#[test]
fn nifti1_4d_with_scaling_reads_each_volume() {
    let path = fixture("functional.nii");
    let l = nifti::read_volume(&path, 7).unwrap();
    assert_eq!((l.volume.shape(), l.volumes, l.index), ([17, 21, 3], 20, 7));
    assert!(close(sum(&l.volume), 3_891_898.799_704_373, 1e-6), "{}", sum(&l.volume));
    assert!(close(f64::from(l.volume.get(1, 2, 1)), 3_553.806_786_060_333_3, 1e-6));
    assert_eq!(l.volume.meta.spacing, [4.0, 4.0, 8.0]);
    assert_eq!(l.volume.meta.origin, [32.0, -40.0, 0.0]);
    let last = nifti::read_volume(&path, 19).unwrap().volume;
    assert!(close(f64::from(last.get(16, 0, 2)), 3_784.929_144_799_709_3, 1e-6));
    assert!(close(sum(&load(&path).unwrap()), 3_883_746.552_329_719, 1e-6));
    let e = nifti::read_volume(&path, 20).unwrap_err().to_string();
    assert!(e.contains("functional.nii") && e.contains("20 volumes (0 to 19)"), "{e}");
}

/// A fresh temporary folder for one test.
fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("genesis-io-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn damaged_nifti2_files_are_errors_naming_the_file() {
    let dir = tmp("nifti2");
    let mut plain = Vec::new();
    let gz = std::fs::read(fixture("example_nifti2.nii.gz")).unwrap();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut plain).unwrap();
    let put = |name: &str, bytes: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let check = |p: PathBuf| {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let e = load(&p).expect_err(&name);
        assert!(e.to_string().contains(&name), "{e} does not name {name}");
        e
    };
    assert_eq!(
        load(&put("plain.nii", &plain)).unwrap(),
        load(&fixture("example_nifti2.nii.gz")).unwrap()
    );
    // Cut inside the second volume: reading the first must still notice.
    assert!(matches!(
        check(put("cut.nii", &plain[..plain.len() - 100])),
        IoError::Truncated { .. }
    ));
    assert!(matches!(check(put("head.nii", &plain[..500])), IoError::Truncated { .. }));
    let long = [plain.as_slice(), &[0; 6]].concat();
    assert!(matches!(check(put("long.nii", &long)), IoError::SizeMismatch { .. }));
    let mut huge = plain.clone();
    huge[24..32].copy_from_slice(&(1i64 << 40).to_le_bytes());
    assert!(matches!(check(put("huge.nii", &huge)), IoError::TooLarge { .. }));
    let mut rgb = plain.clone();
    rgb[12..14].copy_from_slice(&128i16.to_le_bytes());
    assert!(matches!(check(put("rgb.nii", &rgb)), IoError::Unsupported { .. }));
    let mut pair = plain.clone();
    pair[4..8].copy_from_slice(b"ni2\0");
    assert!(matches!(check(put("pair.nii", &pair)), IoError::Unsupported { .. }));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn big_endian_mr_volume_reads_with_its_values_and_spacing() {
    // Expected values from the raw bytes with numpy (">i2", slope 1, vox_offset 352).
    let bytes = std::fs::read(fixture("anatomical.nii")).unwrap();
    let v = genesis_io::from_bytes("anatomical.nii", &bytes).unwrap();
    assert_eq!(v.shape(), [33, 41, 25]);
    assert_eq!(sum(&v), 284_166_082.0);
    assert_eq!((v.get(1, 2, 3), v.get(32, 40, 24)), (9798.0, 2971.0));
    assert_eq!(v.meta.spacing, [2.0, 2.0, 2.0]);
    assert_eq!(v, load(&fixture("anatomical.nii")).unwrap());
}

//! Whole scans end to end: folders of DICOM slices read as one volume per series by
//! `genesis cubes` and `genesis pretrain`, and `genesis segment` running tiny fine-tuned 3-D and
//! 2-D segmenters over scans larger than their window, keeping the scan's geometry.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use genesis_core::phantom::{PhantomConfig, chest_ct};
use genesis_core::{Metadata, Modality, Units, Volume};
use genesis_io::dicom::{Slice, encode_slice};

mod common;
use common::{failure, folder, ok, tiny_3d_pretrain_config};

fn genesis(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_genesis")).args(args).output().unwrap()
}

/// Writes `volume` (HU) as one DICOM file per z slice of series `uid` into `dir`, under names
/// starting with `prefix` that do not sort by position.
fn write_series(dir: &Path, volume: &Volume, uid: &str, prefix: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let [nx, ny, nz] = volume.shape();
    for z in 0..nz {
        let stored: Vec<i16> = (0..ny)
            .flat_map(|r| (0..nx).map(move |c| (r, c)))
            .map(|(r, c)| (volume.get(c, r, z) + 1024.0).clamp(-32768.0, 32767.0) as i16)
            .collect();
        let bytes = encode_slice(&Slice {
            rows: ny as u16,
            cols: nx as u16,
            stored: &stored,
            modality: "CT",
            rescale: (1.0, -1024.0),
            window: None,
            monochrome1: false,
            position: [0.0, 0.0, 2.5 * z as f64],
            instance: (nz - z) as i32,
            pixel_spacing: [0.8, 0.8],
            series: Some((uid, "AXIAL")),
        })
        .unwrap();
        std::fs::write(dir.join(format!("{prefix}{:04}", (z * 7919) % 10007)), bytes).unwrap();
    }
}

#[test]
fn dicom_series_folders_feed_cubes_and_pretraining() {
    let root = folder("dicom-data");
    let phantoms = PhantomConfig { shape_3d: [160, 160, 56], ..Default::default() };
    let ct = chest_ct(11, 0, &phantoms).unwrap().volume;
    write_series(&root.join("patient0"), &ct, "1.2.826.0.1.1", "IM");
    let cache = root.join("cache");
    let text = ok(Command::new(env!("CARGO_BIN_EXE_genesis"))
        .arg("cubes")
        .arg(root.join("patient0"))
        .args(["--out", cache.to_str().unwrap(), "--scale", "4", "--rows", "32", "--deps", "16"])
        .args(["--border", "20", "--border-z", "6", "--hu-min", "-1000", "--hu-max", "1000"])
        .output()
        .unwrap());
    assert!(text.contains("1 scans") && !text.contains(" 0 cubes"), "{text}");

    let config = tiny_3d_pretrain_config(&root, 1);
    let run = root.join("run");
    let data = root.join("patient0");
    let text = ok(genesis(&[
        "pretrain",
        "--config",
        config.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
        "--spacing",
        "1.6,1.6,2.5",
        "--intensity",
        "hu",
    ]));
    assert!(text.contains("epochs      1 of 1"), "{text}");
    let recipe = std::fs::read_to_string(run.join("run.toml")).unwrap();
    assert!(recipe.contains("[preprocess]") && recipe.contains("intensity = \"hu\""), "{recipe}");
    std::fs::remove_dir_all(&root).unwrap();
}

/// A scan of `shape` with spacing and origin: faint noise with a bright block.
fn scan(shape: [usize; 3], meta: Metadata) -> Volume {
    let n = shape.iter().product::<usize>();
    let mut v = Volume::new(shape, (0..n).map(|i| ((i * 7919) % 97) as f32 / 970.0).collect())
        .unwrap()
        .with_meta(meta);
    for x in shape[0] / 4..shape[0] / 2 {
        for y in shape[1] / 4..shape[1] / 2 {
            for z in 0..shape[2].div_ceil(2) {
                v.set(x, y, z, 0.9);
            }
        }
    }
    v
}

/// A segmentation folder of `n` scans of `shape` (NIfTI), masks marking the bright block.
fn dataset(dir: &Path, shape: [usize; 3], n: usize) -> PathBuf {
    for sub in ["images", "masks"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    for i in 0..n {
        let meta = Metadata { units: Units::Unit, ..Metadata::default() };
        let v = scan([shape[0] + i % 3, shape[1], shape[2]], meta);
        let mask = Volume::new(
            v.shape(),
            v.data().iter().map(|&x| f32::from(u8::from(x > 0.5))).collect(),
        );
        genesis_io::nifti::write(&dir.join(format!("images/s{i}.nii.gz")), &v).unwrap();
        genesis_io::nifti::write(&dir.join(format!("masks/s{i}.nii.gz")), &mask.unwrap()).unwrap();
    }
    dir.to_path_buf()
}

/// Fine-tunes a tiny segmenter on `data` with the `extra` recipe keys; returns its run folder.
fn finetune(dir: &Path, data: &Path, extra: &str) -> PathBuf {
    let config = dir.join("ft.toml");
    std::fs::write(
        &config,
        format!(
            "task = \"segment\"\nbase = 4\nbatch = 4\nlabels = 0\nepochs = 1\n\
             test-fraction = 0.25\nval-fraction = 0.25\n{extra}"
        ),
    )
    .unwrap();
    let run = dir.join("run");
    ok(genesis(&[
        "finetune",
        "--config",
        config.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
    ]));
    run
}

#[test]
fn segment_runs_a_3d_model_over_larger_scans_keeping_their_geometry() {
    let dir = folder("segment-3d");
    let data = dataset(&dir.join("data"), [16, 16, 8], 8);
    let run = finetune(&dir, &data, "dim = \"3d\"\nsize = 16\ndepth = 8\n");
    let meta = Metadata {
        spacing: [0.8, 0.7, 2.5],
        origin: [-10.0, 5.0, 3.0],
        modality: Modality::Other,
        units: Units::Unit,
    };
    let input = dir.join("scan.nii.gz");
    genesis_io::nifti::write(&input, &scan([40, 36, 20], meta.clone())).unwrap();
    let out = dir.join("probabilities.nii.gz");
    let (model, input_s, out_s) =
        (run.to_str().unwrap(), input.to_str().unwrap(), out.to_str().unwrap());
    let text = ok(genesis(&["segment", input_s, "--model", model, "--out", out_s, "--batch", "2"]));
    assert!(text.contains("windows of [16, 16, 8]"), "{text}");
    let p = genesis_io::load(&out).unwrap();
    assert_eq!(p.shape(), [40, 36, 20]);
    let close = |a: [f64; 3], b: [f64; 3]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-4);
    assert!(
        close(p.meta.spacing, meta.spacing) && close(p.meta.origin, meta.origin),
        "{:?}",
        p.meta
    );
    assert!(p.data().iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v)));

    let mask = dir.join("mask.npy");
    let args = ["segment", input_s, "--model", model, "--out", mask.to_str().unwrap()];
    ok(genesis(&[&args[..], &["--threshold", "0.5", "--overlap", "0.25"]].concat()));
    let m = genesis_io::load(&mask).unwrap();
    assert_eq!(m.shape(), [40, 36, 20]);
    assert!(m.data().iter().all(|&v| v == 0.0 || v == 1.0));

    let e = failure(genesis(&[&args[..], &["--window", "12,12,8"]].concat()));
    assert!(e.contains("multiple of 8"), "{e}");
    let e = failure(genesis(&["segment", input_s, "--model", model, "--out", "x.png"]));
    assert!(e.contains(".nii, .nii.gz or .npy"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn segment_runs_a_2d_model_slice_by_slice_over_a_dicom_series() {
    let dir = folder("segment-2d");
    let data = dataset(&dir.join("data"), [32, 32, 1], 8);
    let run = finetune(&dir, &data, "size = 32\nlevels = 3\n");
    let series = dir.join("series");
    let meta = Metadata { modality: Modality::Ct, units: Units::Hounsfield, ..Metadata::default() };
    let hu = scan([40, 40, 3], meta);
    let hu = Volume::new(hu.shape(), hu.data().iter().map(|v| v * 2000.0 - 1000.0).collect());
    write_series(&series, &hu.unwrap(), "1.2.3.4", "A");
    // A second series in the same folder (a localizer): --series picks the scan.
    write_series(&series, &Volume::new([8, 8, 2], vec![0.0; 128]).unwrap(), "9.9", "B");
    let out = dir.join("slices.nii");
    let text = ok(genesis(&[
        "segment",
        series.to_str().unwrap(),
        "--model",
        run.join("model.bpk").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--series",
        "1.2.3.4",
        "--hu-min=-1000",
    ]));
    assert!(text.contains("windows of [32, 32, 1]"), "{text}");
    let p = genesis_io::load(&out).unwrap();
    assert_eq!((p.shape(), p.meta.spacing), ([40, 40, 3], [0.8, 0.8, 2.5]));
    assert!(p.data().iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v)));
    let (series, run, out) =
        (series.to_str().unwrap(), run.to_str().unwrap(), out.to_str().unwrap());
    let args = ["segment", series, "--model", run, "--out", out, "--window", "32,32,4"];
    let e = failure(genesis(&args));
    assert!(e.contains("2 DICOM series") && e.contains("9.9"), "{e}");
    let e = failure(genesis(&[&args[..], &["--series=1.2.3.4"]].concat()));
    assert!(e.contains("slice by slice"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_4d_nifti_is_cut_to_the_chosen_volume_and_the_user_is_told() {
    let root = folder("nifti-4d-data");
    let data = root.join("fmri");
    std::fs::create_dir_all(&data).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../genesis-io/tests/data/nifti");
    std::fs::copy(fixture.join("functional.nii"), data.join("functional.nii")).unwrap();
    let config = tiny_3d_pretrain_config(&root, 1);
    let pretrain = |out: &str, extra: &[&str]| {
        let base = ["pretrain", "--config", config.to_str().unwrap(), "--data"];
        let out = root.join(out);
        let args = [&base[..], &[data.to_str().unwrap(), "--out", out.to_str().unwrap()], extra];
        genesis(&args.concat())
    };
    let text = ok(pretrain("first", &["--intensity", "minmax"]));
    let told =
        "functional.nii: 4-D file with 20 volumes; using volume 0 (choose another with --volume K)";
    assert!(text.contains(told), "{text}");
    let text = ok(pretrain("eighth", &["--volume", "7"]));
    assert!(text.contains("using volume 7"), "{text}");
    let e = failure(pretrain("none", &["--volume", "20"]));
    assert!(e.contains("functional.nii") && e.contains("20 volumes (0 to 19)"), "{e}");
    std::fs::remove_dir_all(&root).unwrap();
}

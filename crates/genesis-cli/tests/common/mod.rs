//! Helpers shared by the `genesis` end-to-end tests (each test file uses a subset).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use genesis_core::Volume;

/// A fresh, empty folder named `name` under cargo's test scratch directory.
pub fn folder(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What a run printed: stdout, then stderr.
pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Asserts the run succeeded; returns what it printed.
pub fn ok(output: Output) -> String {
    let text = text(&output);
    assert!(output.status.success(), "genesis failed:\n{text}");
    text
}

/// Asserts the run failed; returns its stderr.
pub fn failure(output: Output) -> String {
    assert!(!output.status.success(), "genesis should have failed:\n{}", text(&output));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A 32×32 image of faint noise; with `square`, a bright 8×8 square at a position drawn from
/// `i`. Returns the image and the square's mask.
pub fn picture(i: usize, square: bool) -> (Volume, Volume) {
    let (mut pixels, mut mask) = (vec![0.0f32; 32 * 32], vec![0.0f32; 32 * 32]);
    for (p, v) in pixels.iter_mut().enumerate() {
        *v = 0.2 + 0.1 * (((p * 7919 + i * 104_729) % 97) as f32 / 97.0);
    }
    if square {
        let (r0, c0) = (2 + (i * 5) % 20, 2 + (i * 11) % 20);
        for r in r0..r0 + 8 {
            for c in c0..c0 + 8 {
                pixels[r * 32 + c] = 0.9;
                mask[r * 32 + c] = 1.0;
            }
        }
    }
    (Volume::image(32, 32, pixels).unwrap(), Volume::image(32, 32, mask).unwrap())
}

/// Writes a classification folder (`labels.csv`, half with squares) and a segmentation folder
/// (`images/`, `masks/`, every image with a square) of `n` images each under `dir`.
pub fn datasets(dir: &Path, n: usize) -> (PathBuf, PathBuf) {
    let (cls, seg) = (dir.join("cls"), dir.join("seg"));
    for sub in [cls.clone(), seg.join("images"), seg.join("masks")] {
        std::fs::create_dir_all(sub).unwrap();
    }
    let mut csv = String::from("file,label\n");
    for i in 0..n {
        let (image, _) = picture(i, i % 2 == 1);
        let name = format!("img{i:02}.png");
        genesis_io::raster::write_png(&cls.join(&name), &image, false).unwrap();
        csv.push_str(&format!("{name},{}\n", i % 2));
        let (image, mask) = picture(i, true);
        genesis_io::raster::write_png(&seg.join("images").join(&name), &image, false).unwrap();
        genesis_io::raster::write_png(&seg.join("masks").join(&name), &mask, false).unwrap();
    }
    std::fs::write(cls.join("labels.csv"), csv).unwrap();
    (cls, seg)
}

/// A tiny 3-D Models Genesis pretraining configuration (base 2, 16×16×8 crops from 4 phantoms,
/// one epoch of `steps` steps) written into `root`.
pub fn tiny_3d_pretrain_config(root: &Path, steps: usize) -> PathBuf {
    let config = root.join("tiny.toml");
    std::fs::write(
        &config,
        format!(
            "method = \"models-genesis\"\ndim = \"3d\"\nsize = 16\ndepth = 8\nbase = 2\n\
             batch = 2\nepochs = 1\nsteps-per-epoch = {steps}\nval-batches = 1\n\
             grid-samples = 1\npatients = 4\n"
        ),
    )
    .unwrap();
    config
}

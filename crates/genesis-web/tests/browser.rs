//! Runs the JS-facing API in a real browser (headless Chromium via wasm-bindgen-test-runner).
#![cfg(target_family = "wasm")]

use genesis_web::{
    Engine, GrayImage, Restorer, Scan, Trainer, conv_demo_expected, transform_gallery,
    transform_gallery_3d,
};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn flex_convolution_matches_closed_form() {
    let engine = Engine::create("flex").await.expect("flex always initialises");
    assert_eq!(engine.backend(), "CPU (Flex)");
    let got = engine.conv_demo().await.expect("conv runs");
    assert_eq!(got, conv_demo_expected());
}

#[wasm_bindgen_test]
async fn webgpu_when_forced_runs_the_same_convolution() {
    let engine = Engine::create("webgpu").await.expect("engine");
    // Headless Chromium with --enable-unsafe-webgpu exposes SwiftShader; without it we fall
    // back to Flex with a notice. Either way the maths must be right.
    if engine.backend().starts_with("WebGPU") {
        assert!(engine.notice().is_empty());
    } else {
        assert!(!engine.notice().is_empty());
    }
    let got = engine.conv_demo().await.expect("conv runs");
    assert_eq!(got, conv_demo_expected());
}

const NIH_SAMPLE: &[u8] = include_bytes!("../../../web/assets/samples/00000001_000.png");

#[wasm_bindgen_test]
fn decodes_a_real_radiograph_and_rejects_garbage() {
    let image = GrayImage::decode("00000001_000.png", NIH_SAMPLE, 224).expect("decodes");
    assert_eq!((image.width(), image.height()), (224, 224));
    let pixels = image.pixels();
    assert!(pixels.iter().all(|v| (0.0..=1.0).contains(v)));
    let mean = pixels.iter().sum::<f32>() / pixels.len() as f32;
    assert!(mean > 0.2 && mean < 0.8, "mean grey {mean}");
    assert!(GrayImage::decode("notes.txt", b"hello", 224).is_err());
    assert!(GrayImage::decode("cut.png", &NIH_SAMPLE[..500], 224).is_err());
}

#[wasm_bindgen_test]
fn gallery_shows_the_four_transforms_and_pipeline_samples() {
    let image = GrayImage::phantom(1, 224).expect("phantom");
    for preset in ["models-genesis", "semantic-genesis"] {
        let gallery = transform_gallery(&image, preset, 7).expect("gallery");
        let kinds: Vec<String> = (0..gallery.length()).map(|i| gallery.kind(i)).collect();
        for kind in ["original", "shuffle", "bezier", "inpaint", "outpaint", "pipeline"] {
            assert!(kinds.iter().any(|k| k == kind), "{preset}: no {kind} tile in {kinds:?}");
        }
        let original = gallery.rgba(0);
        for i in 1..gallery.length() {
            assert_eq!(gallery.rgba(i).len(), 224 * 224 * 4);
            assert_ne!(gallery.rgba(i), original, "tile {} ({}) is unchanged", i, gallery.kind(i));
        }
    }
    assert!(transform_gallery(&image, "nonsense", 7).is_err());
}

#[wasm_bindgen_test]
async fn training_on_flex_improves_the_restoration_and_weights_round_trip() {
    let mut trainer = Trainer::create("flex", 3).await.expect("trainer");
    let image = GrayImage::decode("00000001_000.png", NIH_SAMPLE, 224).expect("decodes");
    trainer.add_image(image.width(), image.height(), image.pixels()).expect("image");
    // The fixed held-out crop of the preview measures progress; batch losses are too noisy
    // (a new random crop and damage every step) to show a trend in a few dozen steps.
    let before = trainer.preview().await.expect("preview").mse();
    for _ in 0..10 {
        let losses = trainer.train(3).await.expect("train");
        assert!(losses.iter().all(|l| l.is_finite()), "{losses:?}");
    }
    assert_eq!(trainer.step(), 30);
    let preview = trainer.preview().await.expect("preview");
    assert!(preview.mse() < before, "restoration did not improve: {before} → {}", preview.mse());
    assert_eq!(preview.rgba(1).len(), 64 * 64 * 4);

    let weights = trainer.weights().await.expect("weights");
    let restorer = Restorer::create("flex", "page.bpk", weights.clone()).await.expect("restorer");
    let restored = restorer.restore(&image, 1).await.expect("restore");
    assert!(restored.mse().is_finite());
    assert_eq!(restorer.embed(&image).await.expect("embed").len(), 64);
    trainer.load_weights(weights).expect("reload");
    assert!(trainer.load_weights(vec![1, 2, 3]).is_err());
}

/// A real MR volume (nibabel's test data, MIT): 33×41×25 voxels, big-endian int16.
const MR_NIFTI: &[u8] = include_bytes!("../../genesis-io/tests/data/nifti/anatomical.nii");

#[wasm_bindgen_test]
fn a_dropped_mr_volume_gives_planes_a_cube_and_3d_transforms() {
    let scan = Scan::decode(vec!["anatomical.nii".into()], vec![MR_NIFTI.len()], MR_NIFTI)
        .expect("decodes");
    assert_eq!(scan.shape(), [33, 41, 25]);
    // NIfTI names no modality, and the values are not HU: min–max, as `genesis pretrain` does.
    assert_eq!(scan.notice(), "unknown modality, intensities to [0, 1] by min–max");
    assert_eq!(scan.plane_size(2), [33, 41]);
    assert_eq!(scan.plane_rgba(0, 16).len(), 41 * 25 * 4);
    assert!(scan.plane_rgba(2, 25).is_empty());
    // The scan is smaller than the cube: centred, zero around it.
    let cube = scan.cube(16, 20, 12).expect("cube");
    assert_eq!(cube.shape(), [64, 64, 32]);
    assert_eq!(cube.notice(), "cube from voxel (-15, -11, -3)");
    let gallery = transform_gallery_3d(&cube, "models-genesis", 3).expect("gallery");
    assert_eq!(gallery.plane_size(2), [64, 64]);
    let original: Vec<Vec<u8>> = (0..32).map(|z| gallery.plane_rgba(0, 2, z)).collect();
    for tile in 1..gallery.length() {
        let planes: Vec<Vec<u8>> = (0..32).map(|z| gallery.plane_rgba(tile, 2, z)).collect();
        assert_ne!(planes, original, "tile {tile} ({}) is unchanged", gallery.kind(tile));
    }
    assert!(Scan::decode(vec!["a.nii".into()], vec![4], b"garbage").is_err());
    assert!(Scan::decode(vec!["a.nii".into()], vec![3], &MR_NIFTI[..100]).is_err());
    assert!(Scan::decode(vec!["cut.nii".into()], vec![400], &MR_NIFTI[..400]).is_err());
}

#[wasm_bindgen_test]
fn the_ct_phantom_is_windowed_into_unit_range() {
    let scan = Scan::phantom(0).expect("phantom");
    let [x, y, z] = <[usize; 3]>::try_from(scan.shape()).unwrap();
    assert!(x >= 64 && y >= 64 && z >= 32);
    let (lo, hi) = scan.volume().min_max();
    assert!(lo >= 0.0 && hi <= 1.0 && hi - lo > 0.5, "range {lo}…{hi}");
    assert_eq!(scan.cube(x / 2, y / 2, z / 2).expect("cube").shape(), [64, 64, 32]);
}

#[wasm_bindgen_test]
async fn own_weights_load_in_2d_and_3d_from_burnpack_or_safetensors() {
    use genesis_nn::burn::tensor::Device;
    use genesis_nn::weights::{to_burnpack, to_safetensors};
    use genesis_nn::{UNet2dConfig, UNet3dConfig};
    let device = Device::flex();
    let unet3d = UNet3dConfig::new().with_base(2).init(&device);
    let cube = Scan::phantom(2).expect("phantom").cube(96, 96, 28).expect("cube");
    for (name, bytes) in [
        ("tiny3d.bpk", to_burnpack(&unet3d).unwrap()),
        ("tiny3d.safetensors", to_safetensors(&unet3d).unwrap()),
    ] {
        let restorer = Restorer::create("flex", name, bytes).await.expect(name);
        assert_eq!(restorer.dims(), 3);
        assert!(
            restorer.summary().starts_with("3-D U-Net, base 2, 4 levels"),
            "{}",
            restorer.summary()
        );
        let keys = restorer.loaded();
        assert!(keys.iter().any(|k| k.starts_with("down_tr64.")), "key report: {keys:?}");
        assert!(restorer.unused().is_empty() && restorer.notice().is_none());
        let restored = restorer.restore_cube(&cube, 4).await.expect("restores a cube");
        assert_eq!(restored.plane_size(2), [64, 64]);
        assert_eq!(restored.plane_rgba(1, 2, 31).len(), 64 * 64 * 4);
        assert!(restored.psnr().is_finite() && restored.input_psnr().is_finite());
        assert_eq!(restorer.embed_cube(&cube).await.expect("embeds").len(), 2 << 4);
        assert!(restorer.restore(&GrayImage::phantom(0, 64).unwrap(), 0).await.is_err());
    }
    let unet2d = UNet2dConfig::new().with_base(4).with_depth(4).init(&device);
    let restorer =
        Restorer::create("flex", "own.safetensors", to_safetensors(&unet2d).unwrap()).await;
    let restorer = restorer.expect("a 2-D safetensors file");
    assert_eq!(
        (restorer.dims(), restorer.summary().starts_with("2-D U-Net, base 4, 4 levels")),
        (2, true)
    );
    assert!(restorer.restore_cube(&cube, 0).await.is_err());
    assert!(Restorer::create("flex", "Genesis_Chest_CT.pt", vec![0; 16]).await.is_err());
    assert!(Restorer::create("flex", "junk.bpk", vec![1, 2, 3]).await.is_err());
}

//! The page's API run natively on the CPU: the same code the browser runs, checked against the
//! command line's engine.
#![cfg(not(target_family = "wasm"))]

use std::pin::pin;
use std::task::{Context, Poll, Waker};

use genesis_core::Volume;
use genesis_core::phantom::{PhantomConfig, chest_xray};
use genesis_nn::burn::tensor::Device;
use genesis_nn::host::{read, upload_volumes};
use genesis_nn::weights::from_burnpack;
use genesis_nn::{GenesisModel, UNet2dConfig};
use genesis_train::finetune::Weights;
use genesis_train::metrics::Record;
use genesis_train::{Silent, pretrain, restoration};
use genesis_web::{
    Backend, BackendPreference, Engine, GrayImage, Restorer, Trainer, conv_demo_expected, recipe,
};

/// Polls a future that completes without waiting (Flex reads are immediate) to the end.
fn run_now<F: std::future::Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

#[test]
fn conv_demo_on_flex_matches_closed_form() {
    let engine = run_now(Engine::create("flex")).expect("flex engine");
    let got = run_now(engine.conv_demo()).expect("conv runs");
    assert_eq!(got, conv_demo_expected());
    assert_eq!(got[0], 54.0);
}

#[test]
fn forced_webgpu_natively_falls_back_to_flex_with_notice() {
    let backend = run_now(Backend::init(BackendPreference::WebGpu));
    assert_eq!(backend.label(), "CPU (Flex)");
    assert!(backend.notice().is_some());
}

/// Two 8-bit phantom radiographs written as PNG into a fresh folder.
fn radiographs(dir: &std::path::Path) -> Vec<Volume> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let pc = PhantomConfig { size_2d: 96, ..PhantomConfig::default() };
    (0..2)
        .map(|i| {
            let path = dir.join(format!("cxr-{i}.png"));
            let image = chest_xray(4, i, &pc).unwrap().volume;
            genesis_io::raster::write_png(&path, &image, false).unwrap();
            genesis_io::load_normalized(&path).unwrap()
        })
        .collect()
}

#[test]
fn the_page_trains_exactly_like_genesis_pretrain_with_its_recipe() {
    let root = std::env::temp_dir().join(format!("genesis-web-same-{}", std::process::id()));
    let images = radiographs(&root.join("images"));
    let steps = 6;
    let cfg = genesis_train::recipe::RunConfig {
        data: root.join("images").display().to_string(),
        epochs: 1,
        steps_per_epoch: steps,
        val_batches: 1,
        workers: 2,
        ..recipe(11)
    };
    let outcome = pretrain::run(&cfg, &root.join("run"), false, &mut Silent).unwrap();
    let cli: Vec<f32> = outcome
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Step { losses, .. } => Some(losses.loss as f32),
            Record::Epoch { .. } => None,
        })
        .collect();
    assert_eq!(cli.len(), steps);

    let mut page = run_now(Trainer::create("flex", 11)).expect("trainer");
    for image in &images {
        let [h, w, _] = image.shape();
        page.add_image(w, h, image.data().to_vec()).expect("image");
    }
    // The page's steps-per-epoch differs from this run's; the first epoch's batches agree.
    let losses = run_now(page.train(steps as u32)).expect("train");
    assert_eq!(losses, cli, "same seed and recipe, same losses");
    // Burnpack files carry random parameter ids: compare what the weights compute.
    let restored = |bytes: Vec<u8>| {
        let unet = UNet2dConfig::new().with_base(8).with_depth(3).init(&Device::flex());
        let unet = from_burnpack(unet, bytes, false).unwrap().0;
        read(unet.forward(upload_volumes::<4>(&[&images[0]], &Device::flex()))).unwrap()
    };
    let weights = run_now(page.weights()).expect("weights");
    let saved = std::fs::read(root.join("run/checkpoints/last/model.bpk")).unwrap();
    let expected = restored(saved.clone());
    assert_eq!(restored(weights.clone()), expected, "same weights after the same steps");

    // Round trip: the page's download is a `genesis finetune --init` / `genesis restore` file…
    let downloaded = root.join("page-weights.bpk");
    std::fs::write(&downloaded, &weights).unwrap();
    let init = Weights::read(downloaded.to_str().unwrap()).expect("the CLI reads the page's file");
    assert_eq!((init.arch.base, init.arch.depth), (8, 3));
    let unet = restoration::load_unet2d(&init, &Device::flex()).unwrap();
    let cli_output = read(unet.forward(upload_volumes::<4>(&[&images[0]], &Device::flex())));
    assert_eq!(cli_output.unwrap(), expected);
    // …and `genesis pretrain`'s model.bpk loads into the page's trainer and restorer.
    page.load_weights(saved.clone()).expect("the trainer loads the CLI's weights");
    assert_eq!(restored(run_now(page.weights()).expect("weights")), expected);
    let restorer =
        run_now(Restorer::create("flex", "model.bpk", saved)).expect("the restorer loads them");
    let [h, w, _] = images[0].shape();
    let image = GrayImage::from_pixels(w, h, images[0].data().to_vec()).expect("image");
    let embedding = run_now(restorer.embed(&image)).expect("embedding");
    assert_eq!(embedding.len(), 8 << 3);
    assert!(embedding.iter().all(|v| v.is_finite()));
    std::fs::remove_dir_all(&root).unwrap();
}

//! Datasets on real and synthetic files: ChestX-ray14 on the NIH radiographs, LUNA16 cube
//! extraction on 3D phantoms written as MetaImage (resumable, partitioned, streamed back).

use std::path::PathBuf;

use genesis_core::patches::{CubeConfig, extract_cubes};
use genesis_core::phantom::{PhantomConfig, chest_ct};
use genesis_core::rng::stream;
use genesis_io::Conventions;
use genesis_io::datasets::chestxray14::{ChestXray14, ChestXray14Config};
use genesis_io::datasets::luna16::{CubeCache, ExtractConfig, Partition, extract};

/// A fresh temporary folder for one test.
fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("genesis-ds-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn chestxray14_reads_the_nih_pngs_resized_with_and_without_a_list() {
    let cxr = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo test"))
        .join("../../../shared/data/cxr");
    let all = ChestXray14::open(&cxr, None, ChestXray14Config::default()).unwrap();
    assert_eq!(all.len(), 3);
    let img = all.get(0).unwrap();
    assert_eq!(img.shape(), [224, 224, 1]);
    let (lo, hi) = img.min_max();
    assert!(lo >= 0.0 && hi <= 1.0 && hi - lo > 0.5, "{lo}..{hi}");
    let dir = tmp("cxr");
    let list = dir.join("val.txt");
    std::fs::write(&list, "00000013_003.png 0 1 0\n00000001_000.png 1 0 0\n").unwrap();
    let listed =
        ChestXray14::open(&cxr, Some(&list), ChestXray14Config { size: 64, ..Default::default() })
            .unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed.entries()[0].labels, vec![0, 1, 0]);
    assert_eq!(listed.get(1).unwrap().shape(), [64, 64, 1]);
    std::fs::write(&list, "missing.png 1\n").unwrap();
    let missing = ChestXray14::open(&cxr, Some(&list), ChestXray14Config::default()).unwrap();
    assert!(missing.get(0).unwrap_err().to_string().contains("missing.png"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn default_ct_phantoms_pass_the_spec_luna16_extractor() {
    let cfg = CubeConfig { scale: 4, ..CubeConfig::default() };
    // Broad (big heart, high diaphragm) and barrel bodies are the hardest for the lung test.
    for index in [2, 6, 3] {
        let mut volume = chest_ct(3, index, &PhantomConfig::default()).unwrap().volume;
        Conventions::default().normalize(&mut volume);
        let cubes = extract_cubes(&volume, &cfg, &mut stream(3, "test-cubes", &[index]));
        assert!(cubes.len() >= 2, "phantom {index}: {} cubes", cubes.len());
        assert!(cubes.iter().all(|c| c.shape() == [64, 64, 32]));
    }
}

#[test]
fn luna16_extraction_from_files_is_resumable_partitioned_and_streamed() {
    // Small scans and a scaled-down sampler keep this fast; the geometry is the same code.
    let phantoms = PhantomConfig { shape_3d: [160, 160, 56], ..Default::default() };
    let cubes = CubeConfig {
        rows: 32,
        deps: 16,
        border: 20,
        border_z: 6,
        scale: 4,
        ..CubeConfig::default()
    };
    let root = tmp("luna");
    for (subset, index, compress) in [("subset0", 0, false), ("subset1", 3, true)] {
        std::fs::create_dir_all(root.join(subset)).unwrap();
        let phantom = chest_ct(11, index, &phantoms).unwrap();
        let path = root.join(subset).join(format!("scan{index}.mhd"));
        genesis_io::metaimage::write(&path, &phantom.volume, compress).unwrap();
    }
    // Too short in z: recorded with no cubes.
    let short =
        chest_ct(11, 5, &PhantomConfig { shape_3d: [64, 64, 20], ..Default::default() }).unwrap();
    genesis_io::metaimage::write(&root.join("subset0/short.mhd"), &short.volume, false).unwrap();

    let config = ExtractConfig { cubes, shard_size: 3, seed: 5, ..ExtractConfig::default() };
    let out = root.join("cache");
    let manifest = extract(&root, &out, &config, Partition::default()).unwrap();
    assert_eq!(manifest.scans.len(), 3);
    let total: usize = manifest.scans.iter().map(|s| s.cubes).sum();
    assert_eq!(total, 8, "{manifest:?}");
    assert_eq!(manifest.shards.len(), 2);
    // Resuming does no new work.
    assert_eq!(extract(&root, &out, &config, Partition::default()).unwrap(), manifest);
    let other = ExtractConfig { seed: 6, ..config.clone() };
    assert!(extract(&root, &out, &other, Partition::default()).is_err());

    let cache = CubeCache::open(&out).unwrap();
    assert_eq!(cache.len(), 8);
    let cubes: Vec<_> = cache.cubes().collect::<Result<_, _>>().unwrap();
    assert!(cubes.iter().all(|c| c.shape() == [32, 32, 16]));
    assert!(cubes.iter().all(|c| c.data().iter().all(|v| (0.0..=1.0).contains(v))));
    // Read lazily, cube by cube, the cache gives the same cubes in the same order.
    let lazy = cache.lazy().unwrap();
    assert_eq!(lazy.len(), 8);
    assert_eq!((0..8).map(|i| lazy.get(i).unwrap()).collect::<Vec<_>>(), cubes);
    assert!(lazy.get(8).unwrap_err().to_string().contains("cube 8 asked from a cache of 8"));

    // Two partitions give the same cubes as one run.
    let split = root.join("split");
    for index in 0..2 {
        extract(&root, &split, &config, Partition { index, count: 2 }).unwrap();
    }
    let parts: Vec<_> = CubeCache::open(&split).unwrap().cubes().collect::<Result<_, _>>().unwrap();
    assert_eq!(parts.len(), 8);
    assert!(cubes.iter().all(|c| parts.contains(c)));

    // A truncated shard is refused when the cache is opened lazily, naming the file.
    let shard = out.join(&manifest.shards[1].file);
    let file = std::fs::OpenOptions::new().write(true).open(&shard).unwrap();
    file.set_len(file.metadata().unwrap().len() - 4).unwrap();
    let err = CubeCache::open(&out).unwrap().lazy().unwrap_err().to_string();
    assert!(err.contains(&manifest.shards[1].file) && err.contains("truncated"), "{err}");

    // Any folder of scans (no subset* folders): every readable item.
    let plain = root.join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    let phantom = chest_ct(11, 0, &phantoms).unwrap();
    genesis_io::metaimage::write(&plain.join("scan0.mhd"), &phantom.volume, false).unwrap();
    let manifest =
        extract(&plain, &root.join("plain-cache"), &config, Partition::default()).unwrap();
    assert_eq!(manifest.scans.len(), 1);
    assert_eq!(manifest.scans[0].name, "scan0.mhd");
    assert!(manifest.scans[0].cubes > 0, "{manifest:?}");
    std::fs::remove_dir_all(&root).unwrap();
}

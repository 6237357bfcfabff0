//! `genesis cubes` on small MetaImage CT phantoms laid out like LUNA16, in two partitions,
//! and `genesis pretrain` on the resulting cache.

use std::process::Command;

use genesis_core::phantom::{PhantomConfig, chest_ct};

mod common;
use common::{folder, ok, tiny_3d_pretrain_config};

#[test]
fn partitions_merge_by_manifest_and_pretraining_reads_the_cache() {
    let root = folder("cubes-e2e");
    let phantoms = PhantomConfig { shape_3d: [160, 160, 56], ..Default::default() };
    for (subset, index) in [("subset0", 0), ("subset1", 3)] {
        std::fs::create_dir_all(root.join(subset)).unwrap();
        let phantom = chest_ct(11, index, &phantoms).unwrap();
        let path = root.join(subset).join(format!("scan{index}.mhd"));
        genesis_io::metaimage::write(&path, &phantom.volume, false).unwrap();
    }
    let cache = root.join("cache");
    for shard in ["0/2", "1/2"] {
        let text = ok(Command::new(env!("CARGO_BIN_EXE_genesis"))
            .arg("cubes")
            .arg(&root)
            .args(["--out", cache.to_str().unwrap(), "--shard", shard, "--scale", "4"])
            .args(["--rows", "32", "--deps", "16", "--border", "20", "--border-z", "6"])
            .output()
            .unwrap());
        assert!(text.contains("1 scans"), "{text}");
    }
    assert!(
        cache.join("manifest-0of2.json").is_file() && cache.join("manifest-1of2.json").is_file()
    );

    let config = tiny_3d_pretrain_config(&root, 2);
    let text = ok(Command::new(env!("CARGO_BIN_EXE_genesis"))
        .args(["pretrain", "--config", config.to_str().unwrap(), "--data"])
        .arg(&cache)
        .arg("--out")
        .arg(root.join("run"))
        .output()
        .unwrap());
    assert!(text.contains("epochs      1 of 1"), "{text}");
    std::fs::remove_dir_all(&root).unwrap();
}

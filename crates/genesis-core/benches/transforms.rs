//! Criterion benches behind the numbers of `genesis bench transforms`: each transform (draw +
//! apply) and both pipelines on a 64×64×32 cube, and the pipelines on a 224×224 image.
// criterion's group macro defines an undocumented public function.
#![allow(missing_docs)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use genesis_core::Volume;
use genesis_core::pipeline::{Pipeline, Preset, Quirks, test_pattern};
use genesis_core::rng::stream;
use genesis_core::transforms::{
    Apply, Bezier, Elastic, Flip, InPaint, LocalShuffle, OutPaint, Transform,
};

fn transform<T: Transform>(c: &mut Criterion, name: &str, t: &T, original: &Volume) {
    let mut rng = stream(1, "criterion", &[]);
    c.bench_function(&format!("{name}/64x64x32"), |b| {
        b.iter_batched_ref(
            || original.clone(),
            |v| t.sample(&mut rng, v.shape()).apply(v),
            BatchSize::LargeInput,
        )
    });
}

fn benches(c: &mut Criterion) {
    let cube = test_pattern([64, 64, 32]).expect("valid shape");
    transform(c, "bezier", &Bezier::default(), &cube);
    transform(c, "shuffle", &LocalShuffle::default(), &cube);
    transform(c, "inpaint", &InPaint::default(), &cube);
    transform(c, "outpaint", &OutPaint::default(), &cube);
    transform(c, "flip", &Flip { prob: 1.0, ..Flip::default() }, &cube);
    transform(c, "elastic", &Elastic::default(), &cube);
    let image = test_pattern([224, 224, 1]).expect("valid shape");
    for (label, original) in [("64x64x32", &cube), ("224x224", &image)] {
        for preset in Preset::ALL {
            let pipeline = Pipeline::preset(preset, &Quirks::default());
            let mut i = 0;
            c.bench_function(&format!("pipeline/{preset}/{label}"), |b| {
                b.iter(|| {
                    i += 1;
                    pipeline.generate_seeded(1, 0, i, original)
                })
            });
        }
    }
}

criterion_group! {
    name = group;
    config = Criterion::default().sample_size(30);
    targets = benches
}
criterion_main!(group);

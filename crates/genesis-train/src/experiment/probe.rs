//! A sanity check of pretrained features: how well the encoder's pooled bottleneck separates
//! the phantom's body types (slim, average, broad, barrel — anatomy every pretraining run
//! sees), as the leave-one-out k-nearest-neighbour accuracy over whole radiographs of
//! patients no pretraining rendered. A pretrained encoder should beat a random one.

use genesis_core::knn::Points;
use genesis_core::phantom::{BodyType, PhantomConfig, chest_xray};
use genesis_nn::burn::tensor::Device;
use genesis_nn::host::{read, upload};
use genesis_nn::{BnMode, ModelTask, Network};
use serde::{Deserialize, Serialize};

use crate::finetune::data::PHANTOM_FIRST_PATIENT;
use crate::finetune::model::{Arch, Weights, backbone};

/// Radiographs embedded per initialisation.
pub(super) const PATIENTS: u64 = 160;
/// Neighbours voting.
const K: usize = 5;
/// Images per forward pass.
const CHUNK: usize = 32;

/// The probe's result for one initialisation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Probe {
    /// The initialisation: 0 scratch, 1 Models Genesis, 2 Semantic Genesis.
    pub init: usize,
    /// Leave-one-out k-NN accuracy of the body type (chance: 0.25).
    pub accuracy: f64,
    /// Radiographs embedded.
    pub images: usize,
}

/// Embeds the probe radiographs (`size` pixels a side, from patients of `seed` beyond those
/// pretraining renders) with a U-Net of `arch` initialised from `weights` (random with
/// `init_seed` when `None`), and scores the body-type k-NN accuracy.
pub fn knn_accuracy(
    arch: Arch,
    weights: Option<&Weights>,
    (size, seed, init_seed): (usize, u64, u64),
) -> anyhow::Result<f64> {
    let pc = PhantomConfig { size_2d: size, ..PhantomConfig::default() };
    let mut images = Vec::with_capacity(PATIENTS as usize * size * size);
    let mut bodies = Vec::with_capacity(PATIENTS as usize);
    for p in 0..PATIENTS {
        let phantom = chest_xray(seed, PHANTOM_FIRST_PATIENT + (1 << 19) + p, &pc)?;
        let mut image = phantom.volume;
        genesis_io::intensity::min_max(&mut image);
        images.extend_from_slice(image.data());
        bodies.push(BodyType::ALL.iter().position(|b| *b == phantom.anatomy.body).unwrap_or(0));
    }
    let device = Device::flex();
    genesis_nn::seed(&device, init_seed);
    let task = Embed { weights, images: &images, size, device: device.clone() };
    let (features, dim) = arch.spec(BnMode::Running).with_model(&device, task)?;
    let points = Points::new(&features, dim)?;
    let mut right = 0;
    for q in 0..points.len() {
        let mut votes = [0usize; 4];
        for n in points.nearest(q, K + 1)?.into_iter().filter(|n| n.index != q).take(K) {
            votes[bodies[n.index]] += 1;
        }
        let guess = (0..4).max_by_key(|&b| (votes[b], std::cmp::Reverse(b))).unwrap_or(0);
        right += usize::from(guess == bodies[q]);
    }
    Ok(right as f64 / points.len().max(1) as f64)
}

/// Embeds `images` (`size × size` each) with the U-Net, loaded from `weights` when given.
struct Embed<'a> {
    weights: Option<&'a Weights>,
    images: &'a [f32],
    size: usize,
    device: Device,
}

impl ModelTask for Embed<'_> {
    type Output = anyhow::Result<(Vec<f32>, usize)>;

    fn run<M: Network<D>, const D: usize>(self, fresh: M) -> Self::Output {
        let unet = backbone(fresh, self.weights, false)?;
        let pixels = self.size * self.size;
        let mut features = Vec::new();
        let mut dim = 0;
        for chunk in self.images.chunks(CHUNK * pixels) {
            let n = chunk.len() / pixels;
            let x = upload::<D>(chunk.to_vec(), n, [self.size, self.size, 1], &self.device);
            let values = read(unet.embed(x))?;
            dim = values.len() / n.max(1);
            features.extend(values);
        }
        Ok((features, dim))
    }
}

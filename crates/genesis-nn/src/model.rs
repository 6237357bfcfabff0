//! The contract every Genesis network follows, and input-shape checks.

use burn::module::{Module, ModuleDisplay, ModuleVisitor, Param, ParamId};
use burn::store::ModuleSnapshot;
use burn::tensor::Tensor;

use crate::blocks::global_avg_pool;
use crate::norm::BnMode;

/// A wrong input shape for a model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// The tensor rank does not match the model.
    #[error("input has rank {found} but the model takes rank {expected} ([N, C, spatial…])")]
    Rank {
        /// Rank the model takes.
        expected: usize,
        /// Rank given.
        found: usize,
    },
    /// The channel axis does not match the model.
    #[error("input has {found} channels but the model takes {expected}")]
    Channels {
        /// Channels the model takes.
        expected: usize,
        /// Channels given.
        found: usize,
    },
    /// A spatial size is not a multiple of 2^(number of poolings).
    #[error(
        "input spatial size {shape:?} must be divisible by {divisor} on every axis (the net pools {poolings} times)"
    )]
    NotDivisible {
        /// The spatial sizes given.
        shape: Vec<usize>,
        /// The required divisor.
        divisor: usize,
        /// Number of 2× poolings.
        poolings: usize,
    },
}

/// Number of trainable parameters (`Module::num_params` also counts batch-norm running
/// statistics).
pub fn trainable_params<M: Module>(model: &M) -> usize {
    model
        .collect(None, None, false)
        .iter()
        .filter(|t| !t.name.ends_with("running_mean") && !t.name.ends_with("running_var"))
        .map(|t| t.shape.iter().product::<usize>())
        .sum()
}

/// Checks `[N, C, S…]` dims against a model taking `channels` inputs and pooling `poolings` times.
pub fn check_input(dims: &[usize], channels: usize, poolings: usize) -> Result<(), InputError> {
    let found = dims.get(1).copied().unwrap_or(0);
    if found != channels {
        return Err(InputError::Channels { expected: channels, found });
    }
    let divisor = 1 << poolings;
    let spatial = dims.get(2..).unwrap_or(&[]);
    if spatial.iter().any(|&s| s == 0 || s % divisor != 0) {
        return Err(InputError::NotDivisible { shape: spatial.to_vec(), divisor, poolings });
    }
    Ok(())
}

/// The uniform interface of the Genesis models over `[N, C, S…]` tensors of rank `D`.
pub trait GenesisModel<const D: usize> {
    /// The restoration output (sigmoid, same spatial size as the input) and the bottleneck
    /// feature map, from one pass.
    fn forward_features(&self, x: Tensor<D>) -> (Tensor<D>, Tensor<D>);

    /// The bottleneck feature map (encoder only).
    fn features(&self, x: Tensor<D>) -> Tensor<D>;

    /// Input channels.
    fn in_channels(&self) -> usize;

    /// Number of 2× poolings (inputs must be divisible by 2 to this power).
    fn poolings(&self) -> usize;

    /// The batch-norm mode in use.
    fn bn_mode(&self) -> BnMode;

    /// Switches the batch-norm mode.
    fn set_bn_mode(&mut self, mode: BnMode);

    /// The restoration output.
    fn forward(&self, x: Tensor<D>) -> Tensor<D> {
        self.forward_features(x).0
    }

    /// The bottleneck, globally average-pooled: `[N, C_bottleneck]`.
    fn embed(&self, x: Tensor<D>) -> Tensor<2> {
        global_avg_pool(self.features(x))
    }

    /// Class logits `[N, classes]`, for models with a classification head; `None` otherwise.
    fn classify(&self, _x: Tensor<D>) -> Option<Tensor<2>> {
        None
    }

    /// The restoration and, for models with a head, the class logits, from one pass.
    fn outputs(&self, x: Tensor<D>) -> (Tensor<D>, Option<Tensor<2>>) {
        (self.forward(x), None)
    }

    /// Checks an input's dims before a pass.
    fn check_input(&self, dims: &[usize]) -> Result<(), InputError> {
        if dims.len() != D {
            return Err(InputError::Rank { expected: D, found: dims.len() });
        }
        check_input(dims, self.in_channels(), self.poolings())
    }
}

/// A Genesis network as the training engine handles it: a burn module with the uniform
/// interface, whose encoder can be frozen and whose output layer can be swapped (fine-tuning
/// starts pretrained weights with a fresh output layer).
pub trait Network<const D: usize>: Module + ModuleDisplay + GenesisModel<D> {
    /// Stops gradients into the encoder levels (their weights stay as they are).
    fn freeze_encoder(self) -> Self;
    /// This network with the output layer of `other`.
    fn with_output_of(self, other: Self) -> Self;
    /// The parameters of the output layer (the one fine-tuning starts afresh).
    fn output_layer(&self) -> Vec<ParamId>;
}

/// The ids of every parameter of `module` (e.g. for a parameter group of the optimiser).
pub fn param_ids<M: Module>(module: &M) -> Vec<ParamId> {
    struct Ids(Vec<ParamId>);
    impl ModuleVisitor for Ids {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.push(param.id);
        }
    }
    let mut ids = Ids(Vec::new());
    module.visit(&mut ids);
    ids.0
}

/// Initialises every parameter of `model` now, in declaration order. burn initialises
/// parameters lazily on first use, so without this the order of the random draws — hence the
/// initial weights of a seeded run — would depend on what touches the model first (a forward
/// pass visits the decoder levels in reverse; a validation copy visits them in order).
pub fn materialize<M: Module>(model: &M) {
    struct Touch;
    impl ModuleVisitor for Touch {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let _ = param.val();
        }
    }
    model.visit(&mut Touch);
}

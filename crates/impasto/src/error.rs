//! The engine's one error type, in the engine's own terms: which setting, the value, what is
//! allowed. Front ends word these for their users (flags for the command line, control names
//! for the studio); the engine never names a flag.

/// A setting of a run, as the engine names it. Front ends map each to their own words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Setting {
    /// Longer side of the result.
    Size,
    /// Coarse-to-fine sizes.
    Scales,
    /// Optimiser iterations over all scales.
    Iters,
    /// α, the content weight.
    ContentWeight,
    /// β, the style weight.
    StyleWeight,
    /// γ, the total-variation weight.
    TvWeight,
    /// Content layers and their weights.
    ContentLayers,
    /// Style layers and their weights.
    StyleLayers,
    /// Adam's learning rate.
    LearningRate,
    /// Size of the painting relative to the result.
    StyleScale,
    /// The style-match target.
    StyleTarget,
    /// The style images and their blend weights.
    Styles,
    /// Strength of the temporal loss (video).
    TemporalWeight,
    /// Iterations of each later video frame.
    LaterIters,
    /// Precision of the convolution products.
    Precision,
    /// Channels (and kernel size) of a feed-forward network.
    Channels,
    /// Residual blocks of a feed-forward network.
    Blocks,
    /// Side of the training crops.
    Crop,
    /// Crops per training step.
    Batch,
    /// Training steps.
    Steps,
    /// The training photos.
    Photos,
    /// The blend of a model's styles.
    StyleMix,
    /// Size the paintings are scaled to for training.
    StyleSize,
    /// Memory a run may use.
    MaxMemory,
    /// Where the styles go: masks and label maps.
    Masks,
    /// Regions kept photographic.
    Keep,
}

impl Setting {
    /// The engine's name for the setting, for logs and messages without a front end.
    pub fn name(self) -> &'static str {
        match self {
            Setting::Size => "size",
            Setting::Scales => "scales",
            Setting::Iters => "iterations",
            Setting::ContentWeight => "content weight (α)",
            Setting::StyleWeight => "style weight (β)",
            Setting::TvWeight => "total-variation weight (γ)",
            Setting::ContentLayers => "content layers",
            Setting::StyleLayers => "style layers",
            Setting::LearningRate => "learning rate",
            Setting::StyleScale => "style scale",
            Setting::StyleTarget => "style target",
            Setting::Styles => "styles",
            Setting::TemporalWeight => "temporal weight",
            Setting::LaterIters => "iterations per later frame",
            Setting::Precision => "precision",
            Setting::Channels => "network channels",
            Setting::Blocks => "residual blocks",
            Setting::Crop => "training crop",
            Setting::Batch => "batch size",
            Setting::Steps => "training steps",
            Setting::Photos => "training photos",
            Setting::StyleMix => "style mix",
            Setting::StyleSize => "painting size",
            Setting::MaxMemory => "memory limit",
            Setting::Masks => "style mask",
            Setting::Keep => "kept region",
        }
    }
}

impl std::fmt::Display for Setting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything that can go wrong in the engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting has a value the engine cannot use.
    #[error("{setting} {value} is invalid: {allowed}")]
    Setting {
        /// Which setting.
        setting: Setting,
        /// The value given, as text.
        value: String,
        /// What would be right.
        allowed: String,
    },
    /// The result would not fit in this machine's memory.
    #[error(
        "a {width}×{height} result needs about {:.1} GB of memory but {:.1} GB is available: \
         a longer side of {fits} pixels or less fits",
        *needed as f64 / 1e9,
        *available as f64 / 1e9
    )]
    TooLarge {
        /// Width of the result asked for.
        width: usize,
        /// Height of the result asked for.
        height: usize,
        /// Bytes the run would need.
        needed: u64,
        /// Bytes available now.
        available: u64,
        /// The largest longer side that fits.
        fits: usize,
    },
    /// The loss terms asked for do not depend on the image (every weight is 0, say).
    #[error("the losses do not depend on the image: give the content, style or total-variation loss a weight above 0")]
    NoGradient,
    /// Inputs that do not fit together (frames of a video that change size, say).
    #[error("{0}")]
    Mismatch(String),
    /// The network's weights do not have VGG19's layers.
    #[error("the weights do not fit VGG19: {0}")]
    Network(String),
    /// A feed-forward model whose parameters do not fit its architecture.
    #[error("the model does not fit its architecture: {0}")]
    Model(String),
    /// A broken internal invariant: a bug in Impasto or in a front end's use of the engine.
    #[error("internal error (please report it): {0}")]
    Internal(String),
    /// An error from the tensor backend (a bug or a device problem, not bad input).
    #[error("tensor backend: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    /// True when the error comes from what the user gave (settings, images, weights), so a
    /// front end should report it as the user's mistake (exit code 2) rather than a failure.
    pub fn is_user_error(&self) -> bool {
        match self {
            Error::Setting { .. }
            | Error::TooLarge { .. }
            | Error::NoGradient
            | Error::Mismatch(_)
            | Error::Network(_)
            | Error::Model(_) => true,
            Error::Internal(_) | Error::Backend(_) => false,
        }
    }

    /// An [`Error::Setting`]: `setting` has `value`, and `allowed` says what would be right.
    pub fn setting(setting: Setting, value: impl ToString, allowed: impl Into<String>) -> Self {
        Error::Setting {
            setting,
            value: value.to_string(),
            allowed: allowed.into(),
        }
    }
}

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Error::Backend(Box::new(e))
    }
}

/// The engine's result type.
pub type Result<T> = std::result::Result<T, Error>;

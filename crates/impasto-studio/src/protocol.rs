//! The messages the page and the server exchange over the WebSocket, as JSON text frames.

use std::collections::BTreeMap;

use impasto::{LossWeights, Losses, PreserveColor, Settings};
use serde::{Deserialize, Serialize};

/// Largest preview size (longer side, pixels) a page may ask for.
pub const MAX_PREVIEW_SIZE: usize = 512;
/// Most optimiser iterations a preview run or a final render may ask for.
pub const MAX_ITERS: usize = 1000;

/// Everything a user steers; each preview frame carries the controls that produced it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Controls {
    /// α: content weight.
    pub content_weight: f32,
    /// β: style weight.
    pub style_weight: f32,
    /// γ: total-variation weight.
    pub tv_weight: f32,
    /// Style image size relative to the output.
    pub style_scale: f32,
    /// Colour preservation mode.
    pub preserve_color: PreserveColor,
    /// Preview size (longer side, pixels).
    pub size: usize,
    /// Iterations of one preview run (coarse to fine); steering after the end adds the last
    /// scale's share again.
    pub iters: usize,
    /// Blend weight of each style image, in upload order.
    pub style_weights: Vec<f32>,
}

/// The preview size a session starts with: small, so that steps stay short on a small machine.
pub const DEFAULT_PREVIEW_SIZE: usize = 256;
/// Iterations of a preview run by default.
pub const DEFAULT_PREVIEW_ITERS: usize = 90;

impl Default for Controls {
    fn default() -> Self {
        let s = Settings::default();
        Self {
            content_weight: s.weights.content,
            style_weight: s.weights.style,
            tv_weight: s.weights.tv,
            style_scale: s.style_scale,
            preserve_color: PreserveColor::Off,
            size: DEFAULT_PREVIEW_SIZE,
            iters: DEFAULT_PREVIEW_ITERS,
            style_weights: Vec::new(),
        }
    }
}

impl Controls {
    /// The engine settings for a run of longer side `size` with `iters` iterations.
    pub fn settings(&self, size: usize, iters: usize) -> Settings {
        Settings {
            size,
            iters,
            weights: LossWeights {
                content: self.content_weight,
                style: self.style_weight,
                tv: self.tv_weight,
            },
            style_scale: self.style_scale,
            preserve_color: self.preserve_color,
            ..Settings::default()
        }
    }

    /// The engine settings of the preview run: β stays where the slider puts it (no style
    /// target raising it) and every iteration runs.
    pub fn preview_settings(&self) -> Settings {
        Settings {
            style_target: None,
            ..self.settings(self.size, self.iters)
        }
    }

    /// Checks every value for `styles` uploaded styles; the message says what is wrong.
    pub fn validate(&self, styles: usize) -> Result<(), String> {
        if !(16..=MAX_PREVIEW_SIZE).contains(&self.size) {
            return Err(format!(
                "preview size {} px is out of range: use 16 to {MAX_PREVIEW_SIZE} px",
                self.size
            ));
        }
        if !(1..=MAX_ITERS).contains(&self.iters) {
            return Err(format!(
                "{} preview iterations is out of range: use 1 to {MAX_ITERS}",
                self.iters
            ));
        }
        if self.style_weights.len() != styles {
            return Err(format!(
                "{} style weights given for {styles} style images",
                self.style_weights.len()
            ));
        }
        if self
            .style_weights
            .iter()
            .any(|w| !(w.is_finite() && *w >= 0.0))
        {
            return Err("style blend weights must be finite numbers ≥ 0".into());
        }
        if styles > 0 && self.style_weights.iter().all(|&w| w == 0.0) {
            return Err("at least one style blend weight must be above 0".into());
        }
        self.preview_settings()
            .validate()
            .map_err(|e| crate::words::describe(&e))
    }
}

/// What the page sends.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMsg {
    /// New controls for the running preview; `rev` comes back on the frames they produce.
    Steer {
        /// The page's revision number for these controls.
        rev: u64,
        /// The controls.
        controls: Controls,
    },
    /// Render the result at `size` px (longer side) with the current controls.
    RenderFinal {
        /// Longer side of the final image.
        size: usize,
        /// Iterations over all scales (default: the engine's).
        iters: Option<usize>,
    },
    /// Stop the final render in progress.
    CancelFinal,
    /// Pick a trained model by its listed name (`None`: none), with a blend of its styles by
    /// name (`None`: its first style); its one-pass result of the photo follows, and again
    /// whenever the photo changes.
    PickModel {
        /// The page's revision number for this pick; the result carries it.
        rev: u64,
        /// The model's name as listed in `hello`.
        model: Option<String>,
        /// Weight of each style, by name.
        #[serde(default)]
        blend: Option<BTreeMap<String, f32>>,
    },
    /// Restart the optimisation from the latest one-pass result.
    Refine,
}

/// The loss terms, unweighted, and their weighted total.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LossValues {
    /// Content loss.
    pub content: f64,
    /// Style loss.
    pub style: f64,
    /// Total variation.
    pub tv: f64,
    /// α·content + β·style + γ·tv.
    pub total: f64,
}

impl From<Losses> for LossValues {
    fn from(l: Losses) -> Self {
        Self {
            content: l.content,
            style: l.style,
            tv: l.tv,
            total: l.total,
        }
    }
}

/// A bundled example image the page offers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Example {
    /// File name.
    pub name: String,
    /// `content` or `style`.
    pub role: String,
    /// Where the page fetches it.
    pub url: String,
}

/// A trained model the page may pick.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Its name (the file stem; nothing else about the file is told).
    pub name: String,
    /// Its styles, in order.
    pub styles: Vec<String>,
}

/// A trained model's one-pass result of the photo.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Stylized {
    /// Revision of the pick that produced it.
    pub rev: u64,
    /// The model's name.
    pub model: String,
    /// The blend used: one weight per style of the model, summing to 1.
    pub mix: Vec<f32>,
    /// Width of the image (the photo's).
    pub width: usize,
    /// Height of the image.
    pub height: usize,
    /// Milliseconds the pass took.
    pub ms: f64,
    /// The image as a `data:image/jpeg;base64,...` URL.
    pub image: String,
}

/// One uploaded image as the session holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageInfo {
    /// The file name the user gave.
    pub name: String,
    /// Width in pixels (after any downscaling on upload).
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
}

/// The style mask as the session holds it (at the photo's size).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MaskInfo {
    /// The file name the user gave (the page names a painted mask).
    pub name: String,
    /// Width in pixels (the photo's).
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Share of the photo the style goes over (the mask's mean, 0 to 1).
    pub coverage: f32,
}

/// The answer to an upload: the session's inputs and controls after it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InputsReply {
    /// The content photo, once given.
    pub content: Option<ImageInfo>,
    /// The style images in order.
    pub styles: Vec<ImageInfo>,
    /// Where the styles go, if a mask is set (a new photo drops it).
    #[serde(default)]
    pub mask: Option<MaskInfo>,
    /// The controls now in force (one blend weight per style).
    pub controls: Controls,
}

/// One preview image with what produced it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Frame {
    /// Revision of the controls that produced it.
    pub rev: u64,
    /// Those controls.
    pub controls: Controls,
    /// Steps taken by this session's preview so far.
    pub step: u64,
    /// Current scale (0-based).
    pub stage: usize,
    /// Number of scales.
    pub stages: usize,
    /// Width of the image.
    pub width: usize,
    /// Height of the image.
    pub height: usize,
    /// Loss terms after the step.
    pub losses: LossValues,
    /// SSIM between the photo and the image (content kept).
    pub ssim: Option<f32>,
    /// Share of the photo the style goes over when a mask places it.
    #[serde(default)]
    pub mask: Option<f32>,
    /// The image as a `data:image/jpeg;base64,...` URL.
    pub image: String,
}

/// What the server sends.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// The first message: this tab's session and what it may do.
    Hello {
        /// Session id (used in upload and download URLs).
        session: String,
        /// The controls a session starts with.
        defaults: Controls,
        /// Bundled examples.
        examples: Vec<Example>,
        /// Largest upload body in bytes.
        max_upload_bytes: usize,
        /// Most style images per session.
        max_styles: usize,
        /// Largest final render (longer side).
        max_final_size: usize,
        /// The trained models on offer.
        models: Vec<ModelInfo>,
    },
    /// The controls of revision `rev` were accepted; frames that carry it follow.
    Steered {
        /// The revision.
        rev: u64,
    },
    /// Waiting for a free run slot at this position (1 = next).
    Queued {
        /// Position in the queue.
        position: usize,
    },
    /// This session's run holds a slot and is computing.
    Running,
    /// Nothing left to compute until the controls or inputs change; the slot is free.
    Idle,
    /// One preview step's losses (never dropped, for the live plot).
    Step {
        /// Revision of the controls in force.
        rev: u64,
        /// Step number of the preview.
        step: u64,
        /// Loss terms after the step.
        losses: LossValues,
    },
    /// A preview image; only the latest is sent when the page falls behind.
    Frame(Box<Frame>),
    /// The Gram cosine of a preview step's image to the blended styles at the preview's current
    /// scale (style matched), sent after every frame.
    GramCosine {
        /// The preview step it belongs to.
        step: u64,
        /// The cosine.
        value: f32,
    },
    /// A trained model's one-pass result.
    Stylized(Box<Stylized>),
    /// The final render advanced.
    FinalProgress {
        /// Fraction done (by pixel-weighted iterations).
        progress: f64,
        /// Iterations done.
        done_iters: usize,
        /// Iterations planned.
        total_iters: usize,
    },
    /// The final render is ready to download.
    FinalReady {
        /// Download URL of the PNG.
        url: String,
        /// Width in pixels.
        width: usize,
        /// Height in pixels.
        height: usize,
    },
    /// The final render was stopped.
    FinalCancelled,
    /// Something the user should read.
    Error {
        /// The message.
        message: String,
    },
}

impl ServerMsg {
    /// The message as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("server messages serialise")
    }
}

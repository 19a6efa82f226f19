//! Where the styles go, from the command line: a `--mask` per `--style`, label maps
//! (`--regions` with a `--style-regions` per `--style`), and `--keep`. For a video each of
//! `--mask`, `--regions` and `--keep` is one file for every frame, or a folder of one file
//! per frame.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use impasto::guide::{label_masks, Guides, Mask};
use impasto::{Rgb, StyleTargets};
use impasto_io::codec::{self as io, Limits};
use impasto_io::{Error, Result};
use sha2::{Digest, Sha256};

use crate::args::LookArgs;

/// Image files a folder of masks may hold.
const IMAGE_EXTENSIONS: [&str; 7] = ["png", "jpg", "jpeg", "tif", "tiff", "bmp", "webp"];

/// A mask option's files: one for every image, or one per video frame.
enum Source {
    /// The same file for every frame.
    One(PathBuf),
    /// A folder's image files in name order, the n-th for the n-th frame.
    Frames { dir: PathBuf, files: Vec<PathBuf> },
}

/// Where the styles go, read for each image as it comes.
pub struct Placement {
    /// SHA-256 of the mask and label files, in order (for a checkpoint's key).
    pub digest: String,
    masks: Vec<Source>,
    keep: Option<Source>,
    /// The photo's label maps and the colour of each style entry.
    regions: Option<(Source, Vec<[u8; 3]>)>,
    /// The guides read once, when no option reads a folder.
    fixed: Option<Option<Guides>>,
}

impl Placement {
    /// Places `styles` (loaded from `--style`) as the mask options say, for an image of
    /// `size`; `video` allows a folder of one mask per frame. Returns the targets (one per
    /// style region with label maps) and the placement.
    pub fn new(
        a: &LookArgs,
        styles: Arc<StyleTargets>,
        size: (usize, usize),
        video: bool,
    ) -> Result<(Arc<StyleTargets>, Self)> {
        let mut digest = Sha256::new();
        let keep = match &a.keep {
            Some(p) => Some(Source::open(p, "--keep", video, &mut digest)?),
            None => None,
        };
        let mut masks = Vec::new();
        let (styles, regions) = if !a.masks.is_empty() {
            one_each(a.masks.len(), styles.styles().len(), "--mask")?;
            for p in &a.masks {
                masks.push(Source::open(p, "--mask", video, &mut digest)?);
            }
            (styles, None)
        } else if let Some(labels) = &a.regions {
            let labels = Source::open(labels, "--regions", video, &mut digest)?;
            let (styles, colours) = regions(a, &labels, size, &styles, &mut digest)?;
            (styles, Some((labels, colours)))
        } else {
            (styles, None)
        };
        let placement = Self {
            digest: format!("{:x}", digest.finalize()),
            masks,
            keep,
            regions,
            fixed: None,
        };
        Ok((styles, placement.checked(size, video)?))
    }

    /// Places a one-pass network's output: one `--mask` (where it goes) and `--keep`, for an
    /// image of `size`. Label maps pair paintings, which a trained network does not take.
    pub fn for_network(a: &LookArgs, size: (usize, usize), video: bool) -> Result<Self> {
        if a.regions.is_some() {
            return Err(Error::Usage(
                "--regions pairs regions of the photo with regions of paintings, which a \
                 --model network does not take: give a --mask for where its style goes, or \
                 run without --model"
                    .into(),
            ));
        }
        if a.masks.len() > 1 {
            return Err(Error::Usage(format!(
                "{} --mask given: a --model network takes one, for where its style goes",
                a.masks.len()
            )));
        }
        let mut digest = Sha256::new();
        let keep = match &a.keep {
            Some(p) => Some(Source::open(p, "--keep", video, &mut digest)?),
            None => None,
        };
        let masks = match a.masks.first() {
            Some(p) => vec![Source::open(p, "--mask", video, &mut digest)?],
            None => Vec::new(),
        };
        let placement = Self {
            digest: format!("{:x}", digest.finalize()),
            masks,
            keep,
            regions: None,
            fixed: None,
        };
        placement.checked(size, video)
    }

    /// Reads and checks the fixed files now, before any work, and keeps what they say.
    fn checked(mut self, size: (usize, usize), video: bool) -> Result<Self> {
        if !video || self.all_fixed() {
            self.fixed = Some(self.read(0, size)?);
        }
        Ok(self)
    }

    /// Where the styles go on an image of `size` (the shape of the one given when placed),
    /// the `frame`-th of a video (0 for a photo); `None` when no option places them.
    pub fn guides(&self, frame: usize, size: (usize, usize)) -> Result<Option<Guides>> {
        match &self.fixed {
            Some(g) => Ok(g.clone()),
            None => self.read(frame, size),
        }
    }

    /// Reads the guides of `frame` from the files.
    fn read(&self, frame: usize, size: (usize, usize)) -> Result<Option<Guides>> {
        let keep = match &self.keep {
            Some(s) => Some(s.mask(frame, size, "--keep")?),
            None => None,
        };
        let masks = match &self.regions {
            Some((labels, colours)) => {
                let (path, map) = labels.read(frame)?;
                check_shape(path, &map, size, "--regions")?;
                let found = label_masks(&map);
                let masks: Vec<Mask> = colours
                    .iter()
                    .map(|c| match found.iter().find(|l| l.colour == *c) {
                        Some(l) => l.mask.clone(),
                        None => Mask::hard(map.width, map.height, vec![0.0; map.pixel_count()])
                            .expect("zeros are a mask"),
                    })
                    .collect();
                if masks.iter().all(|m| m.coverage() == 0.0) && !labels.per_frame() {
                    return Err(no_common_colour(path));
                }
                masks
            }
            None => self
                .masks
                .iter()
                .map(|s| s.mask(frame, size, "--mask"))
                .collect::<Result<_>>()?,
        };
        Ok(match (masks.is_empty(), keep) {
            (true, None) => None,
            (_, keep) => Some(Guides { masks, keep }),
        })
    }

    /// Checks before any work that every folder has a mask for each of `frames` frames.
    pub fn check_frames(&self, frames: usize) -> Result<()> {
        let sources = self.masks.iter().chain(&self.keep);
        for s in sources.chain(self.regions.as_ref().map(|(s, _)| s)) {
            if let Source::Frames { dir, files } = s {
                if files.len() < frames {
                    return Err(too_few(dir, files.len(), frames));
                }
            }
        }
        Ok(())
    }

    /// True when no option reads a folder: every frame has the same guides.
    pub fn all_fixed(&self) -> bool {
        let sources = self.masks.iter().chain(&self.keep);
        let mut sources = sources.chain(self.regions.as_ref().map(|(s, _)| s));
        sources.all(|s| !s.per_frame())
    }
}

impl Source {
    /// `path` for `flag`: a file, or (for a video) a folder of one image per frame, hashed
    /// into `digest`.
    fn open(path: &Path, flag: &str, video: bool, digest: &mut Sha256) -> Result<Self> {
        if !path.is_dir() {
            digest.update(io::read_input(path)?);
            return Ok(Self::One(path.to_path_buf()));
        }
        if !video {
            return Err(Error::input(
                path,
                format!("{flag} takes an image file here; a folder of masks is for a video"),
            ));
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| Error::input(path, format!("cannot list the folder: {e}")))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file() && is_image(p))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(Error::input(
                path,
                format!(
                    "the {flag} folder holds no image files: one mask per frame, in name order"
                ),
            ));
        }
        for f in &files {
            digest.update(
                f.file_name()
                    .map(|n| n.as_encoded_bytes())
                    .unwrap_or_default(),
            );
            digest.update(io::read_input(f)?);
        }
        Ok(Self::Frames {
            dir: path.to_path_buf(),
            files,
        })
    }

    /// True for a folder of one file per frame.
    fn per_frame(&self) -> bool {
        matches!(self, Self::Frames { .. })
    }

    /// The file for `frame` and its image.
    fn read(&self, frame: usize) -> Result<(&Path, Rgb)> {
        let path = match self {
            Self::One(p) => p,
            Self::Frames { dir, files } => files
                .get(frame)
                .ok_or_else(|| too_few(dir, files.len(), frame + 1))?,
        };
        Ok((path, load(path)?))
    }

    /// The grey mask for `frame` over an image of `size` (white applies, black leaves out):
    /// its shape, and for a fixed file not all black (a frame's own mask may be: its subject
    /// left).
    fn mask(&self, frame: usize, size: (usize, usize), flag: &str) -> Result<Mask> {
        let (path, m) = self.read(frame)?;
        check_shape(path, &m, size, flag)?;
        let plane = m.width * m.height;
        let values = (0..plane)
            .map(|i| (m.data[i] + m.data[plane + i] + m.data[2 * plane + i]) / (3.0 * 255.0))
            .map(|v| v.clamp(0.0, 1.0))
            .collect();
        let mask = Mask::soft(m.width, m.height, values)?;
        if mask.coverage() == 0.0 && !self.per_frame() {
            return Err(Error::input(
                path,
                format!("the {flag} image is all black: paint white where it applies"),
            ));
        }
        Ok(mask)
    }
}

/// A folder with fewer masks than the video's frames.
fn too_few(dir: &Path, masks: usize, frames: usize) -> Error {
    Error::input(
        dir,
        format!(
            "the folder has {masks} masks for {frames} frames: give one per frame, in name \
             order (the n-th for the n-th frame of the video)"
        ),
    )
}

/// True for a file name with an image extension.
fn is_image(p: &Path) -> bool {
    let ext = p
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    ext.is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.as_str()))
}

/// One file per style.
fn one_each(files: usize, styles: usize, flag: &str) -> Result<()> {
    if files != styles {
        return Err(Error::Usage(format!(
            "{files} {flag} given for {styles} --style: give one {flag} per --style, in the \
             same order"
        )));
    }
    Ok(())
}

/// An image file.
fn load(path: &Path) -> Result<Rgb> {
    decode(path, &io::read_input(path)?)
}

/// The image in `bytes`, read from `path`.
fn decode(path: &Path, bytes: &[u8]) -> Result<Rgb> {
    Ok(io::decode(bytes, &Limits::default())
        .map_err(|e| e.named(path))?
        .image)
}

/// A mask or label map must have the shape of its image, `w × h`.
fn check_shape(path: &Path, m: &Rgb, (w, h): (usize, usize), flag: &str) -> Result<()> {
    let (mw, mh) = (m.width, m.height);
    if (mw * h).abs_diff(mh * w) > mw.max(w).max(mh).max(h) {
        return Err(Error::input(
            path,
            format!(
                "the {flag} image is {mw}×{mh} but its image is {w}×{h}: draw it at that \
                 size (or the same shape)"
            ),
        ));
    }
    Ok(())
}

/// No colour of a photo's label map is in a painting's.
fn no_common_colour(labels: &Path) -> Error {
    Error::input(
        labels,
        "no colour of the --regions map is in any --style-regions map: paint the regions \
         that go together in the same colour",
    )
}

/// Label maps: every colour of a painting's map that the photo's maps have too becomes a
/// style region, that painting's part of that colour; returns the regions' targets and each
/// one's colour. Colours only the photo has keep the photo.
fn regions(
    a: &LookArgs,
    labels: &Source,
    size: (usize, usize),
    styles: &StyleTargets,
    digest: &mut Sha256,
) -> Result<(Arc<StyleTargets>, Vec<[u8; 3]>)> {
    one_each(
        a.style_regions.len(),
        styles.styles().len(),
        "--style-regions",
    )?;
    let mut on_photo = Vec::new();
    let count = match labels {
        Source::One(_) => 1,
        Source::Frames { files, .. } => files.len(),
    };
    for frame in 0..count {
        let (path, map) = labels.read(frame)?;
        check_shape(path, &map, size, "--regions")?;
        on_photo.extend(label_masks(&map).into_iter().map(|l| l.colour));
    }
    let (mut paintings, mut painting_masks, mut colours) = (Vec::new(), Vec::new(), Vec::new());
    for (style, path) in styles.styles().iter().zip(&a.style_regions) {
        let bytes = io::read_input(path)?;
        digest.update(&bytes);
        let map = decode(path, &bytes)?;
        let painting = (style.image.width, style.image.height);
        check_shape(path, &map, painting, "--style-regions")?;
        for painted in label_masks(&map) {
            if on_photo.contains(&painted.colour) {
                paintings.push(style.clone());
                painting_masks.push(Some(painted.mask));
                colours.push(painted.colour);
            }
        }
    }
    if colours.is_empty() {
        let path = match labels {
            Source::One(p) => p,
            Source::Frames { dir, .. } => dir,
        };
        return Err(no_common_colour(path));
    }
    Ok((
        StyleTargets::with_masks(paintings, painting_masks)?,
        colours,
    ))
}

//! The warping error of a joined video, pair by pair, sorted into the pairs across each seam
//! (the last kept frame of a chunk and the first of the next), those touching a cross-faded
//! frame, and those inside a chunk.

use serde::Serialize;

/// Where a pair of consecutive frames of the joined video lies.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Place {
    /// Across the seam after chunk `k`.
    Seam(usize),
    /// Touching the cross-faded frames before the seam after chunk `k`.
    Fade(usize),
    /// Inside chunk `k`.
    Inside(usize),
}

/// The measured pairs, by place.
pub struct Pairs {
    /// Where each chunk's kept frames start in the joined video.
    starts: Vec<usize>,
    /// Frames cross-faded before each seam.
    fades: Vec<usize>,
    values: Vec<(Place, f64)>,
}

/// One seam's figures.
#[derive(Serialize, Debug)]
pub struct Seam {
    /// The chunk the seam follows.
    pub after_chunk: usize,
    /// Warping error of the pair across the seam (`None`: nothing trackable).
    pub seam_error: Option<f64>,
    /// Mean warping error inside the chunks on either side (cross-faded frames left out).
    pub inside_error: Option<f64>,
    /// `seam_error / inside_error`.
    pub ratio: Option<f64>,
    /// Frames cross-faded before the seam.
    pub cross_fade: usize,
    /// Mean warping error of the pairs touching the cross-faded frames.
    pub fade_error: Option<f64>,
}

/// Every seam, and the inside error over all chunks.
#[derive(Serialize, Debug)]
pub struct SeamReport {
    /// The seams in order.
    pub seams: Vec<Seam>,
    /// Mean warping error of the pairs inside the chunks.
    pub mean_inside: Option<f64>,
    /// The largest of the seams' ratios.
    pub worst_ratio: Option<f64>,
}

impl Pairs {
    /// Pairs of a video of chunks of `frames` kept frames each, with `fades[k]` frames
    /// cross-faded before the seam after chunk `k`.
    pub fn new(frames: &[usize], fades: &[usize]) -> Self {
        let starts = frames
            .iter()
            .scan(0, |at, &n| {
                let s = *at;
                *at += n;
                Some(s)
            })
            .collect();
        Self {
            starts,
            fades: fades.to_vec(),
            values: Vec::new(),
        }
    }

    /// Records the warping error of the pair (frame `t - 1`, frame `t`).
    pub fn record(&mut self, t: usize, value: f64) {
        let place = self.place(t);
        self.values.push((place, value));
    }

    fn place(&self, t: usize) -> Place {
        let chunk = self.starts.iter().rposition(|&s| s <= t).unwrap_or(0);
        if chunk > 0 && self.starts[chunk] == t {
            return Place::Seam(chunk - 1);
        }
        // The frames cross-faded before the seam after `chunk` end at the next chunk's start.
        if let Some(&next) = self.starts.get(chunk + 1) {
            if t + 1 + self.fades[chunk] > next {
                return Place::Fade(chunk);
            }
        }
        Place::Inside(chunk)
    }

    /// The seams' figures, `fades` frames cross-faded before each.
    pub fn report(&self, fades: &[usize]) -> SeamReport {
        let mean_of = |keep: &dyn Fn(Place) -> bool| {
            let v: Vec<f64> = self
                .values
                .iter()
                .filter(|(p, _)| keep(*p))
                .map(|&(_, v)| v)
                .collect();
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        };
        let seams: Vec<Seam> = fades
            .iter()
            .enumerate()
            .map(|(k, &cross_fade)| {
                let seam_error = mean_of(&|p| p == Place::Seam(k));
                let inside_error = mean_of(&|p| p == Place::Inside(k) || p == Place::Inside(k + 1));
                Seam {
                    after_chunk: k,
                    seam_error,
                    inside_error,
                    ratio: seam_error.zip(inside_error).map(|(s, i)| s / i),
                    cross_fade,
                    fade_error: mean_of(&|p| p == Place::Fade(k)),
                }
            })
            .collect();
        let worst_ratio = seams.iter().filter_map(|s| s.ratio).reduce(f64::max);
        SeamReport {
            seams,
            mean_inside: mean_of(&|p| matches!(p, Place::Inside(_))),
            worst_ratio,
        }
    }
}

impl SeamReport {
    /// A table for the terminal, one line a seam, then the means.
    pub fn table(&self) -> String {
        let f = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.5}"));
        let mut out = String::from(
            "seam after chunk   seam error   inside error   ratio   cross-faded   their error\n",
        );
        for s in &self.seams {
            out += &format!(
                "{:>16}   {:>10}   {:>12}   {:>5}   {:>11}   {:>11}\n",
                s.after_chunk,
                f(s.seam_error),
                f(s.inside_error),
                s.ratio.map_or("–".into(), |r| format!("{r:.2}")),
                s.cross_fade,
                f(s.fade_error)
            );
        }
        out += &format!(
            "mean warping error inside the chunks {}; worst seam {} × the inside error\n",
            f(self.mean_inside),
            self.worst_ratio.map_or("–".into(), |r| format!("{r:.2}"))
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_fall_into_seams_fades_and_insides() {
        // Chunks of 4, 3 and 3 frames; 2 frames cross-faded before the first seam, none before
        // the second.
        let p = Pairs::new(&[4, 3, 3], &[2, 0]);
        let places: Vec<Place> = (1..10).map(|t| p.place(t)).collect();
        use Place::*;
        assert_eq!(
            places,
            [
                Inside(0),
                Fade(0),
                Fade(0),
                Seam(0),
                Inside(1),
                Inside(1),
                Seam(1),
                Inside(2),
                Inside(2)
            ]
        );
    }

    #[test]
    fn the_ratio_compares_a_seam_with_the_chunks_beside_it() {
        let mut p = Pairs::new(&[3, 3], &[0]);
        for (t, v) in [(1, 1.0), (2, 3.0), (3, 4.0), (4, 2.0), (5, 2.0)] {
            p.record(t, v);
        }
        let r = p.report(&[0]);
        assert_eq!(r.seams[0].seam_error, Some(4.0));
        assert_eq!(r.seams[0].inside_error, Some(2.0));
        assert_eq!(r.worst_ratio, Some(2.0));
    }
}

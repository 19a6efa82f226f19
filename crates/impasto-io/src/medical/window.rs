//! Display windows: which band of physical values (Hounsfield units for CT) spans black to
//! white, by the linear VOI function of DICOM PS3.3 C.11.2.1.2.1.

use crate::error::{Error, Result};

/// A display window: values below `level - width/2` are black, above `level + width/2` white.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    /// Width of the band (> 0), in the slice's units.
    pub width: f32,
    /// Centre of the band (DICOM's Window Center), in the slice's units.
    pub level: f32,
}

/// The named windows `--window` accepts, as (name, width, level).
pub const PRESETS: [(&str, f32, f32); 4] = [
    ("soft-tissue", 350.0, 50.0),
    ("lung", 1500.0, -600.0),
    ("bone", 2000.0, 500.0),
    ("brain", 80.0, 40.0),
];

impl Window {
    /// A preset name (`soft-tissue`, `lung`, `bone`, `brain`) or `W/L` such as `400/40` or
    /// `1500/-600` (width > 0; the level may be negative).
    pub fn parse(spec: &str) -> Result<Window> {
        let s = spec.trim();
        if let Some(&(_, width, level)) = PRESETS.iter().find(|(n, _, _)| *n == s) {
            return Ok(Window { width, level });
        }
        let bad = |why: &str| {
            let names: Vec<&str> = PRESETS.iter().map(|p| p.0).collect();
            Error::Usage(format!(
                "--window {spec} is invalid: {why}; give a preset ({}) or WIDTH/LEVEL such as \
                 400/40",
                names.join(", ")
            ))
        };
        let (w, l) = s.split_once('/').ok_or_else(|| bad("not a preset name"))?;
        let (width, level) = match (w.trim().parse::<f32>(), l.trim().parse::<f32>()) {
            (Ok(w), Ok(l)) if w.is_finite() && l.is_finite() => (w, l),
            _ => return Err(bad("WIDTH and LEVEL must be numbers")),
        };
        if width <= 0.0 {
            return Err(bad("the width must be above 0"));
        }
        Ok(Window { width, level })
    }

    /// The window spanning `min..=max` exactly (black at `min`, white at `max`): the default of
    /// a slice without a window of its own.
    pub fn full_range(min: f32, max: f32) -> Window {
        // The linear function maps c - 0.5 ± (w - 1)/2 to the ends.
        let width = (max - min + 1.0).max(1.0);
        Window {
            width,
            level: min + 0.5 + (width - 1.0) / 2.0,
        }
    }

    /// The display value of `x` in `0..=1`, by DICOM's linear function with c = level,
    /// w = width: 0 for x ≤ c − 0.5 − (w−1)/2, 1 for x > c − 0.5 + (w−1)/2, else
    /// ((x − (c − 0.5)) / (w − 1) + 0.5). A width of 1 or less is a threshold at c − 0.5.
    pub fn apply(&self, x: f32) -> f32 {
        let (c, w) = (self.level - 0.5, self.width - 1.0);
        if w <= 0.0 {
            return if x > c { 1.0 } else { 0.0 };
        }
        if x <= c - w / 2.0 {
            0.0
        } else if x > c + w / 2.0 {
            1.0
        } else {
            (x - c) / w + 0.5
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_and_width_level() {
        assert_eq!(
            Window::parse("lung").unwrap(),
            Window {
                width: 1500.0,
                level: -600.0
            }
        );
        assert_eq!(Window::parse("soft-tissue").unwrap().width, 350.0);
        assert_eq!(
            Window::parse("400/40").unwrap(),
            Window {
                width: 400.0,
                level: 40.0
            }
        );
        assert_eq!(Window::parse(" 1500/-600 ").unwrap().level, -600.0);
        for bad in ["0/40", "-5/40", "abc", "400", "400/x", "inf/0", "liver"] {
            let msg = Window::parse(bad).unwrap_err().to_string();
            assert!(msg.contains(&format!("--window {bad}")), "{msg}");
            assert!(msg.contains("soft-tissue, lung, bone, brain"), "{msg}");
        }
    }

    /// Values worked by hand from PS3.3 C.11.2.1.2.1 (ymin 0, ymax 1).
    #[test]
    fn the_linear_voi_function() {
        // c = 40, w = 400: c - 0.5 = 39.5, (w - 1)/2 = 199.5, so the ramp runs over
        // (-160, 239] and y = (x - 39.5)/399 + 0.5.
        let w = Window {
            width: 400.0,
            level: 40.0,
        };
        assert_eq!(w.apply(-160.0), 0.0);
        assert_eq!(w.apply(-1000.0), 0.0);
        assert!((w.apply(-159.0) - 1.0 / 399.0).abs() < 1e-6);
        assert!((w.apply(39.5) - 0.5).abs() < 1e-6);
        assert!((w.apply(40.0) - 0.501253).abs() < 1e-6);
        assert!((w.apply(239.0) - 1.0).abs() < 1e-6);
        assert_eq!(w.apply(239.5), 1.0);
        // c = 600, w = 1600 (MR_small's own window): 0 at ≤ -200, 1 above 1399.
        let mr = Window {
            width: 1600.0,
            level: 600.0,
        };
        assert_eq!(mr.apply(-200.0), 0.0);
        assert!((mr.apply(1000.0) - ((1000.0 - 599.5) / 1599.0 + 0.5)).abs() < 1e-6);
        assert!((mr.apply(1000.0) - 0.750469).abs() < 1e-5);
        // w = 1 is a threshold at c - 0.5.
        let t = Window {
            width: 1.0,
            level: 10.0,
        };
        assert_eq!((t.apply(9.5), t.apply(9.6)), (0.0, 1.0));
    }

    #[test]
    fn full_range_spans_min_to_max() {
        let w = Window::full_range(-896.0, 1167.0);
        assert_eq!(w.apply(-896.0), 0.0);
        assert!((w.apply(1167.0) - 1.0).abs() < 1e-6);
        assert!(w.apply(-895.0) > 0.0 && w.apply(1166.0) < 1.0);
        let flat = Window::full_range(7.0, 7.0);
        assert_eq!(flat.apply(7.0), 0.0);
    }
}

//! Engine errors worded for the studio's users: settings named as the page's controls name
//! them, never as command-line flags.

use impasto::{Error, Setting};

/// The control on the page that sets `setting`.
pub fn control(setting: Setting) -> &'static str {
    match setting {
        Setting::Size | Setting::Scales => "the size",
        Setting::Iters => "the iterations",
        Setting::ContentWeight => "α (content weight)",
        Setting::StyleWeight => "β (style weight)",
        Setting::TvWeight => "γ (TV weight)",
        Setting::StyleScale => "the style scale",
        Setting::Styles => "the styles",
        Setting::StyleMix => "the model's style blend",
        Setting::Masks => "the style mask",
        Setting::Keep => "the kept region",
        Setting::ContentLayers
        | Setting::StyleLayers
        | Setting::LearningRate
        | Setting::StyleTarget
        | Setting::TemporalWeight
        | Setting::LaterIters
        | Setting::Precision
        | Setting::Channels
        | Setting::Blocks
        | Setting::Crop
        | Setting::Batch
        | Setting::Steps
        | Setting::Photos
        | Setting::StyleSize
        | Setting::MaxMemory => "a built-in setting",
    }
}

/// `e` in the page's terms.
pub fn describe(e: &Error) -> String {
    match e {
        Error::Setting {
            setting: Setting::Styles,
            value,
            allowed,
        } => format!("the style blend weights {value} are invalid: {allowed}"),
        Error::Setting {
            setting,
            value,
            allowed,
        } => format!("{} {value} is invalid: {allowed}", control(*setting)),
        Error::TooLarge {
            width,
            height,
            fits,
            ..
        } => format!(
            "a {width}×{height} image does not fit in this machine's memory: choose a size of \
             {fits} px or less"
        ),
        Error::NoGradient => {
            "the losses do not depend on the image: raise α, β or γ above 0".into()
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_named_as_controls() {
        let e = Error::setting(Setting::StyleWeight, -1.0, "use a finite number ≥ 0");
        assert_eq!(
            describe(&e),
            "β (style weight) -1 is invalid: use a finite number ≥ 0"
        );
        let big = Error::TooLarge {
            width: 9000,
            height: 6000,
            needed: 1,
            available: 0,
            fits: 4000,
        };
        let m = describe(&big);
        assert!(m.contains("4000 px or less") && !m.contains("--"), "{m}");
    }
}

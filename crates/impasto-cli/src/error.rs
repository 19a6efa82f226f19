//! A command's failure as the user reads it: engine and adapter errors worded in the command
//! line's terms, and whether the user caused it (exit code 2).

/// A command's failure: the message, and whether the user's input caused it (exit code 2).
pub struct Failure {
    /// What went wrong and how to fix it, in the command line's terms.
    pub message: String,
    /// True when the user's files or options caused it.
    pub user: bool,
}

impl Failure {
    /// A mistake in the options that the engine does not see (exit code 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            user: true,
        }
    }
}

impl From<impasto::Error> for Failure {
    fn from(e: impasto::Error) -> Self {
        use impasto::Error as E;
        let message = match &e {
            E::Setting {
                setting: impasto::Setting::Styles,
                value,
                allowed,
            } => format!("the style weights {value} (--style PATH:WEIGHT) are invalid: {allowed}"),
            E::Setting {
                setting,
                value,
                allowed,
            } => format!("{} {value} is invalid: {allowed}", flag(*setting)),
            E::TooLarge {
                width,
                height,
                needed,
                available,
                fits,
            } => format!(
                "a {width}×{height} result needs about {:.1} GB of memory but {:.1} GB is \
                 available: use --size {fits} or less",
                *needed as f64 / 1e9,
                *available as f64 / 1e9
            ),
            E::NoGradient => "the losses do not depend on the image: give --content-weight, \
                              --style-weight or --tv-weight a value above 0"
                .into(),
            _ => e.to_string(),
        };
        Self {
            message,
            user: e.is_user_error(),
        }
    }
}

/// The command-line flag that sets `setting`.
pub fn flag(setting: impasto::Setting) -> &'static str {
    use impasto::Setting as S;
    match setting {
        S::Size => "--size",
        S::Scales => "--scales",
        S::Iters => "--iters",
        S::ContentWeight => "--content-weight",
        S::StyleWeight => "--style-weight",
        S::TvWeight => "--tv-weight",
        S::ContentLayers => "--content-layers",
        S::StyleLayers => "--style-layers",
        S::LearningRate => "--lr",
        S::StyleScale => "--style-scale",
        S::StyleTarget => "--style-target",
        S::Styles => "--style",
        S::TemporalWeight => "--temporal-weight",
        S::LaterIters => "--later-iters",
        S::Precision => "--precision",
        S::Channels => "--channels/--outer-kernel",
        S::Blocks => "--blocks",
        S::Crop => "--crop",
        S::Batch => "--batch",
        S::Steps => "--steps",
        S::Photos => "--photos",
        S::StyleMix => "--style-mix",
        S::StyleSize => "--style-size",
        S::MaxMemory => "--max-memory",
        S::Masks => "--mask/--regions",
        S::Keep => "--keep",
    }
}

impl From<impasto_io::Error> for Failure {
    fn from(e: impasto_io::Error) -> Self {
        match e {
            impasto_io::Error::Engine(e) => e.into(),
            e => Self {
                message: e.to_string(),
                user: e.is_user_error(),
            },
        }
    }
}

impl From<impasto_studio::Error> for Failure {
    fn from(e: impasto_studio::Error) -> Self {
        Self {
            message: e.to_string(),
            user: e.is_user_error(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_errors_name_the_flags() {
        let e = impasto::Error::setting(impasto::Setting::StyleWeight, -1.0, "use a number ≥ 0");
        let f = Failure::from(e);
        assert_eq!(f.message, "--style-weight -1 is invalid: use a number ≥ 0");
        assert!(f.user);
        let big = impasto::Error::TooLarge {
            width: 9000,
            height: 6000,
            needed: 30_000_000_000,
            available: 20_000_000_000,
            fits: 7000,
        };
        assert!(Failure::from(big)
            .message
            .ends_with("use --size 7000 or less"));
        let bug = Failure::from(impasto::Error::Internal("x".into()));
        assert!(!bug.user);
    }
}

//! A command's failure as the user reads it: engine and adapter errors worded in the command
//! line's terms, and whether the user caused it (exit code 2).

/// A command's failure: the message, and whether the user's input caused it (exit code 2).
pub struct Failure {
    /// What went wrong and how to fix it, in the command line's terms.
    pub message: String,
    /// True when the user's files or options caused it.
    pub user: bool,
}

impl From<impasto::Error> for Failure {
    fn from(e: impasto::Error) -> Self {
        Self {
            message: e.to_string(),
            user: e.is_user_error(),
        }
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
            user: matches!(e, impasto_studio::Error::Bind { .. }),
        }
    }
}

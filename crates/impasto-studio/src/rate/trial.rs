//! What a rater's browser is told of a trial: image URLs and nothing else, so gold trials and
//! repeats look like any other and no method, item or file name is given away.

use impasto::rating::{Mode, Shown, Trial};
use impasto_io::study::Study;
use serde::Serialize;

use crate::error::Error;

/// One trial as the page shows it; `left`/`right` for pairs, `image` for ratings.
#[derive(Serialize)]
pub struct TrialReply {
    index: usize,
    of: usize,
    mode: Mode,
    photo: Option<String>,
    painting: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    left: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    right: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<String>,
}

/// The URL of a study image.
fn url(name: &str) -> String {
    format!("/rate/img/{name}")
}

/// Trial `index` of `of` in a rater's plan, as the page shows it.
pub fn reply(study: &Study, index: usize, of: usize, t: &Trial) -> Result<TrialReply, Error> {
    let changed = || {
        Error::Internal(
            "the study's file no longer matches its database; restore study.json".into(),
        )
    };
    let item = study.items.get(t.item).ok_or_else(changed)?;
    let result = |m: usize| item.results.get(m).map(|r| url(r)).ok_or_else(changed);
    let (mut left, mut right, mut image) = (None, None, None);
    match t.shown {
        Shown::Pair { left: l, right: r } => {
            left = Some(result(l)?);
            right = Some(result(r)?);
        }
        Shown::GoldPair { method, good_left } => {
            let (good, bad) = (result(method)?, url(&item.gold));
            (left, right) = if good_left {
                (Some(good), Some(bad))
            } else {
                (Some(bad), Some(good))
            };
        }
        Shown::Single { method } => image = Some(result(method)?),
        Shown::GoldSingle => image = Some(url(&item.gold)),
    }
    Ok(TrialReply {
        index,
        of,
        mode: study.mode,
        photo: item.photo.as_deref().map(url),
        painting: item.painting.as_deref().map(url),
        left,
        right,
        image,
    })
}

//! Typed reads of single DICOM attributes. Values read here stay inside the readers: only the
//! whitelisted ones reach [`Info`](super::Info) and [`Slice`](super::Slice).

use dicom_core::Tag;
use dicom_object::InMemDicomObject;

/// The first value of `tag` as text, trimmed, if present and non-empty.
pub(crate) fn text(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let s = obj.get(tag)?.to_str().ok()?;
    let s = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!s.is_empty()).then(|| s.to_string())
}

/// The first value of `tag` as an integer.
pub(crate) fn int(obj: &InMemDicomObject, tag: Tag) -> Option<i64> {
    obj.get(tag)?.to_int::<i64>().ok()
}

/// All values of `tag` as numbers (for DS and FD attributes such as positions).
pub(crate) fn floats(obj: &InMemDicomObject, tag: Tag) -> Option<Vec<f64>> {
    let v = obj.get(tag)?.to_multi_float64().ok()?;
    (!v.is_empty() && v.iter().all(|x| x.is_finite())).then_some(v)
}

/// `tag`'s values if there are exactly `N` of them.
pub(crate) fn vector<const N: usize>(obj: &InMemDicomObject, tag: Tag) -> Option<[f64; N]> {
    floats(obj, tag)?.try_into().ok()
}

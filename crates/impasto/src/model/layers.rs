//! VGG19 layer names: `relu4_2`, `conv4_2` and Keras' `block4_conv2` all name the same
//! (post-ReLU) output, since the convolution and its ReLU are one fused op here.

use crate::{Error, Result, Setting};

/// The (block, index) of each 3×3 convolution, in network order.
pub const CONVS: [(u8, u8); 16] = [
    (1, 1),
    (1, 2),
    (2, 1),
    (2, 2),
    (3, 1),
    (3, 2),
    (3, 3),
    (3, 4),
    (4, 1),
    (4, 2),
    (4, 3),
    (4, 4),
    (5, 1),
    (5, 2),
    (5, 3),
    (5, 4),
];

/// One VGG19 layer output (after its ReLU), by position among the 16 convolutions
/// (`relu1_1` is 0, `relu5_1` is 12).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LayerId(pub usize);

impl<'de> serde::Deserialize<'de> for LayerId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        LayerId::parse(&name).ok_or_else(|| {
            serde::de::Error::custom(format!("unknown layer '{name}': {LAYER_NAMES}"))
        })
    }
}

impl serde::Serialize for LayerId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

/// What a layer name may be, for messages.
const LAYER_NAMES: &str = "use relu1_1, relu1_2, relu2_1, relu2_2, relu3_1..relu3_4, relu4_1..relu4_4 or relu5_1..relu5_4";

impl LayerId {
    /// Parses `relu4_2`, `conv4_2` or `block4_conv2`; `None` for anything else.
    pub fn parse(name: &str) -> Option<Self> {
        let s = name.trim();
        let rest = s
            .strip_prefix("relu")
            .or_else(|| s.strip_prefix("conv"))
            .map(|r| r.replacen('_', " ", 1))
            .or_else(|| s.strip_prefix("block").map(|r| r.replacen("_conv", " ", 1)));
        let parsed = rest.and_then(|r| {
            let (b, i) = r.split_once(' ')?;
            Some((b.parse::<u8>().ok()?, i.parse::<u8>().ok()?))
        });
        parsed
            .and_then(|bi| CONVS.iter().position(|&c| c == bi))
            .map(LayerId)
    }

    /// The canonical name, e.g. `relu4_2`.
    pub fn name(self) -> String {
        let (b, i) = CONVS[self.0];
        format!("relu{b}_{i}")
    }

    /// The block (1..=5) the layer belongs to: its features are 2^(block-1) times smaller.
    pub fn block(self) -> u8 {
        CONVS[self.0].0
    }
}

/// Parses `relu1_1:1,relu2_1:0.5` (weights default to 1) into layers with weights; errors
/// name `setting`, the list being parsed.
pub fn parse_weighted_layers(spec: &str, setting: Setting) -> Result<Vec<(LayerId, f32)>> {
    let bad = |allowed: String| Error::setting(setting, spec, allowed);
    let mut out = Vec::new();
    for part in spec.split(',').filter(|p| !p.trim().is_empty()) {
        let (name, weight) = match part.split_once(':') {
            Some((n, w)) => {
                let w: f32 = w.trim().parse().map_err(|_| {
                    bad(format!(
                        "the weight '{w}' in '{part}' is not a number: give e.g. relu2_1:0.5"
                    ))
                })?;
                if !w.is_finite() || w < 0.0 {
                    return Err(bad(format!(
                        "the weight in '{part}' must be a finite number ≥ 0"
                    )));
                }
                (n, w)
            }
            None => (part, 1.0),
        };
        let id = LayerId::parse(name).ok_or_else(|| {
            bad(format!(
                "'{}' is not a VGG19 layer: {LAYER_NAMES}",
                name.trim()
            ))
        })?;
        if out.iter().any(|&(l, _)| l == id) {
            return Err(bad(format!("layer {} is listed twice", id.name())));
        }
        out.push((id, weight));
    }
    if out.is_empty() {
        return Err(bad("no layers: give e.g. relu4_2".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_in_all_spellings() {
        for s in ["relu4_2", "conv4_2", "block4_conv2"] {
            assert_eq!(LayerId::parse(s), Some(LayerId(9)));
        }
        assert_eq!(LayerId(12).name(), "relu5_1");
        assert_eq!(LayerId::parse("relu6_1"), None);
        assert_eq!(LayerId::parse("pool1"), None);
    }

    #[test]
    fn weighted_lists() {
        let parse = |s| parse_weighted_layers(s, Setting::StyleLayers);
        let l = parse("relu1_1:1,relu2_1:0.5").unwrap();
        assert_eq!(l, vec![(LayerId(0), 1.0), (LayerId(2), 0.5)]);
        for bad in ["relu1_1:x", "relu1_1,relu1_1", "", "relu1_1:-1", "relu9_1"] {
            match parse(bad) {
                Err(Error::Setting { setting, value, .. }) => {
                    assert_eq!((setting, value.as_str()), (Setting::StyleLayers, bad))
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}

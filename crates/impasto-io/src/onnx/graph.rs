//! A network's layers as ONNX nodes, with its weights (and the blended norm parameters) as
//! initializers.

use std::collections::BTreeSet;

use impasto::fast::{Layer, Params};
use impasto::FastNet;

use super::proto::{AttributeProto, DimValue, GraphProto, NodeProto, TensorProto, ValueInfoProto};
use super::{INPUT, OUTPUT};

/// The ε of every instance norm (Impasto's, PyTorch's and ONNX's default).
const EPS: f32 = 1e-5;

/// The graph of `net` for the style blend `mix` (one weight per style, summing to 1).
pub(super) fn build(net: &FastNet, mix: &[f32]) -> GraphProto {
    let mut g = Builder::default();
    let params = net.params();
    let mut x = INPUT.to_string();
    let mut saved = Vec::new();
    for layer in net.layers() {
        x = match layer {
            Layer::Pad(p) => {
                let pads = g.pads(p);
                let mode = AttributeProto::string("mode", "reflect");
                g.node("Pad", &[&x, &pads], vec![mode])
            }
            Layer::Conv { index, shape, bias } => {
                let mut inputs = vec![x.clone(), g.param(params, &format!("conv{index}.weight"))];
                if bias {
                    inputs.push(g.param(params, &format!("conv{index}.bias")));
                }
                let (k, s) = (shape.k as i64, shape.stride as i64);
                let attrs = vec![
                    AttributeProto::ints("kernel_shape", &[k, k]),
                    AttributeProto::ints("strides", &[s, s]),
                ];
                let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
                g.node("Conv", &inputs, attrs)
            }
            Layer::Norm {
                index,
                channels,
                relu,
            } => {
                let [scale, shift] = ["scale", "shift"].map(|what| {
                    let name = format!("norm{index}.{what}");
                    let row = blended(params, &name, mix);
                    g.constant(TensorProto::float(&name, &[channels], &row))
                });
                let eps = AttributeProto::float("epsilon", EPS);
                let y = g.node("InstanceNormalization", &[&x, &scale, &shift], vec![eps]);
                match relu {
                    true => g.node("Relu", &[&y], vec![]),
                    false => y,
                }
            }
            Layer::Upsample => {
                let scales = g.constant(TensorProto::float(
                    "upsample.scales",
                    &[4],
                    &[1., 1., 2., 2.],
                ));
                // Output pixel i reads input pixel floor(i / 2): plain repetition.
                let attrs = vec![
                    AttributeProto::string("mode", "nearest"),
                    AttributeProto::string("coordinate_transformation_mode", "asymmetric"),
                    AttributeProto::string("nearest_mode", "floor"),
                ];
                // The empty name skips the optional `roi` input.
                g.node("Resize", &[&x, "", &scales], attrs)
            }
            Layer::Save => {
                saved.push(x.clone());
                x
            }
            Layer::AddSaved => {
                let skip = saved.pop().expect("a residual block starts before it ends");
                g.node("Add", &[&skip, &x], vec![])
            }
        };
    }
    let lo = g.constant(TensorProto::float("clip.min", &[], &[0.0]));
    let hi = g.constant(TensorProto::float("clip.max", &[], &[1.0]));
    g.emit("Clip", &[&x, &lo, &hi], vec![], OUTPUT.into());
    let image = |name: &str, doc: &str| {
        let dims = vec![
            DimValue::DimValue(1),
            DimValue::DimValue(3),
            DimValue::DimParam("height".into()),
            DimValue::DimParam("width".into()),
        ];
        ValueInfoProto::float(name, dims, doc)
    };
    GraphProto {
        node: g.nodes,
        name: "impasto".into(),
        initializer: g.initializers,
        input: vec![image(
            INPUT,
            "RGB in 0..1, planar (NCHW); height and width must be multiples of 4",
        )],
        output: vec![image(OUTPUT, "RGB in 0..1, the size of the input")],
    }
}

/// Row `s` of the `[styles, channels]` parameter `name` weighted by `mix[s]`, summed (in the
/// engine's order, so the sums agree to the last bit).
fn blended(params: &Params, name: &str, mix: &[f32]) -> Vec<f32> {
    let p = &params[name];
    let c = p.shape[1];
    let mut out = vec![0.0; c];
    for (row, &m) in p.data.chunks(c).zip(mix) {
        if m != 0.0 {
            out.iter_mut().zip(row).for_each(|(o, v)| *o += m * v);
        }
    }
    out
}

/// Nodes and initializers, added in order.
#[derive(Default)]
struct Builder {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    names: BTreeSet<String>,
}

impl Builder {
    /// Adds an `op` node reading `inputs`; returns the name of its output.
    fn node(&mut self, op: &str, inputs: &[&str], attribute: Vec<AttributeProto>) -> String {
        let output = format!("{}{}", op.to_lowercase(), self.nodes.len());
        self.emit(op, inputs, attribute, output)
    }

    /// Adds an `op` node reading `inputs` and writing `output`; returns `output`.
    fn emit(
        &mut self,
        op: &str,
        inputs: &[&str],
        attribute: Vec<AttributeProto>,
        output: String,
    ) -> String {
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.clone()],
            name: format!("{}{}", op.to_lowercase(), self.nodes.len()),
            op_type: op.into(),
            attribute,
        });
        output
    }

    /// Adds `t` as an initializer unless one of its name is there already; returns its name.
    fn constant(&mut self, t: TensorProto) -> String {
        let name = t.name.clone();
        if self.names.insert(name.clone()) {
            self.initializers.push(t);
        }
        name
    }

    /// The network's parameter `name`, as it is.
    fn param(&mut self, params: &Params, name: &str) -> String {
        let p = &params[name];
        self.constant(TensorProto::float(name, &p.shape, &p.data))
    }

    /// The `pads` input of a Pad by `p` on each side of height and width.
    fn pads(&mut self, p: usize) -> String {
        let p = p as i64;
        // Begins of N, C, H, W, then their ends.
        self.constant(TensorProto::int64(
            &format!("pads{p}"),
            &[0, 0, p, p, 0, 0, p, p],
        ))
    }
}

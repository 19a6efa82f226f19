//! The few ONNX protobuf messages an exported network needs, hand-written for `prost`.
//!
//! Field numbers and types follow `onnx/onnx.proto` of the ONNX repository (the proto2 schema
//! of IR version 7, ONNX 1.7; these fields are unchanged in later versions). Fields Impasto does
//! not write are left out, which protobuf allows. Repeated scalars that the schema does not mark
//! `packed` are written unpacked, as a proto2 encoder would.

use prost::Message;

/// `TensorProto.DataType.FLOAT`.
pub const FLOAT: i32 = 1;
/// `TensorProto.DataType.INT64`.
pub const INT64: i32 = 7;

/// `ModelProto`: the file's top-level message.
#[derive(Clone, PartialEq, Message)]
pub struct ModelProto {
    #[prost(int64, tag = "1")]
    pub ir_version: i64,
    #[prost(string, tag = "2")]
    pub producer_name: String,
    #[prost(string, tag = "3")]
    pub producer_version: String,
    #[prost(string, tag = "6")]
    pub doc_string: String,
    #[prost(message, optional, tag = "7")]
    pub graph: Option<GraphProto>,
    #[prost(message, repeated, tag = "8")]
    pub opset_import: Vec<OperatorSetIdProto>,
    #[prost(message, repeated, tag = "14")]
    pub metadata_props: Vec<StringStringEntryProto>,
}

/// `OperatorSetIdProto`: an operator set the model uses (empty domain: the ONNX one).
#[derive(Clone, PartialEq, Message)]
pub struct OperatorSetIdProto {
    #[prost(string, tag = "1")]
    pub domain: String,
    #[prost(int64, tag = "2")]
    pub version: i64,
}

/// `StringStringEntryProto`: one metadata entry.
#[derive(Clone, PartialEq, Message)]
pub struct StringStringEntryProto {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `GraphProto`: nodes in topological order, the weights, inputs and outputs.
#[derive(Clone, PartialEq, Message)]
pub struct GraphProto {
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeProto>,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(message, repeated, tag = "5")]
    pub initializer: Vec<TensorProto>,
    #[prost(message, repeated, tag = "11")]
    pub input: Vec<ValueInfoProto>,
    #[prost(message, repeated, tag = "12")]
    pub output: Vec<ValueInfoProto>,
}

/// `NodeProto`: one operator applied to named values.
#[derive(Clone, PartialEq, Message)]
pub struct NodeProto {
    #[prost(string, repeated, tag = "1")]
    pub input: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    pub output: Vec<String>,
    #[prost(string, tag = "3")]
    pub name: String,
    #[prost(string, tag = "4")]
    pub op_type: String,
    #[prost(message, repeated, tag = "5")]
    pub attribute: Vec<AttributeProto>,
}

/// `AttributeProto`: a named operator setting; `type` says which value field is set.
#[derive(Clone, PartialEq, Message)]
pub struct AttributeProto {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(float, optional, tag = "2")]
    pub f: Option<f32>,
    #[prost(bytes = "vec", optional, tag = "4")]
    pub s: Option<Vec<u8>>,
    #[prost(int64, repeated, packed = "false", tag = "8")]
    pub ints: Vec<i64>,
    /// `AttributeType`: FLOAT 1, STRING 3, INTS 7.
    #[prost(int32, tag = "20")]
    pub r#type: i32,
}

/// `TensorProto`: a named constant (the weights), its values in `raw_data` (little-endian).
#[derive(Clone, PartialEq, Message)]
pub struct TensorProto {
    #[prost(int64, repeated, packed = "false", tag = "1")]
    pub dims: Vec<i64>,
    #[prost(int32, tag = "2")]
    pub data_type: i32,
    #[prost(string, tag = "8")]
    pub name: String,
    #[prost(bytes = "vec", tag = "9")]
    pub raw_data: Vec<u8>,
}

/// `ValueInfoProto`: a graph input's or output's name and type.
#[derive(Clone, PartialEq, Message)]
pub struct ValueInfoProto {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(message, optional, tag = "2")]
    pub r#type: Option<TypeProto>,
    #[prost(string, tag = "3")]
    pub doc_string: String,
}

/// `TypeProto`, of which only the `tensor_type` member of its `value` oneof is written.
#[derive(Clone, PartialEq, Message)]
pub struct TypeProto {
    #[prost(message, optional, tag = "1")]
    pub tensor_type: Option<TypeTensor>,
}

/// `TypeProto.Tensor`: element type and shape.
#[derive(Clone, PartialEq, Message)]
pub struct TypeTensor {
    #[prost(int32, tag = "1")]
    pub elem_type: i32,
    #[prost(message, optional, tag = "2")]
    pub shape: Option<TensorShapeProto>,
}

/// `TensorShapeProto`: one entry per axis.
#[derive(Clone, PartialEq, Message)]
pub struct TensorShapeProto {
    #[prost(message, repeated, tag = "1")]
    pub dim: Vec<Dimension>,
}

/// `TensorShapeProto.Dimension`: a fixed size or a named, symbolic one.
#[derive(Clone, PartialEq, Message)]
pub struct Dimension {
    #[prost(oneof = "DimValue", tags = "1, 2")]
    pub value: Option<DimValue>,
}

/// The `value` oneof of `TensorShapeProto.Dimension`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum DimValue {
    /// A fixed size.
    #[prost(int64, tag = "1")]
    DimValue(i64),
    /// A symbolic size, the same wherever the name appears.
    #[prost(string, tag = "2")]
    DimParam(String),
}

impl AttributeProto {
    /// A FLOAT attribute.
    pub fn float(name: &str, f: f32) -> Self {
        Self {
            name: name.into(),
            f: Some(f),
            r#type: 1,
            ..Self::default()
        }
    }

    /// A STRING attribute.
    pub fn string(name: &str, s: &str) -> Self {
        Self {
            name: name.into(),
            s: Some(s.as_bytes().to_vec()),
            r#type: 3,
            ..Self::default()
        }
    }

    /// An INTS attribute.
    pub fn ints(name: &str, ints: &[i64]) -> Self {
        Self {
            name: name.into(),
            ints: ints.to_vec(),
            r#type: 7,
            ..Self::default()
        }
    }
}

impl TensorProto {
    /// A float tensor of shape `dims`.
    pub fn float(name: &str, dims: &[usize], data: &[f32]) -> Self {
        debug_assert_eq!(dims.iter().product::<usize>(), data.len());
        Self {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: FLOAT,
            name: name.into(),
            raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }

    /// A one-dimensional int64 tensor.
    pub fn int64(name: &str, data: &[i64]) -> Self {
        Self {
            dims: vec![data.len() as i64],
            data_type: INT64,
            name: name.into(),
            raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }
}

impl ValueInfoProto {
    /// A float tensor value with these axes.
    pub fn float(name: &str, dims: Vec<DimValue>, doc: &str) -> Self {
        let dim = dims
            .into_iter()
            .map(|d| Dimension { value: Some(d) })
            .collect();
        Self {
            name: name.into(),
            r#type: Some(TypeProto {
                tensor_type: Some(TypeTensor {
                    elem_type: FLOAT,
                    shape: Some(TensorShapeProto { dim }),
                }),
            }),
            doc_string: doc.into(),
        }
    }
}

//! A pure-Rust reader for the legacy (pre-1.6, non-zip) `torch.save` format.
//!
//! Layout of such a file: five pickles back to back (the magic number, the protocol version,
//! a `sys_info` dict, the saved object, the list of storage keys), then for each storage key in
//! that list's order a little-endian `u64` element count followed by the raw little-endian data.
//! Tensors inside the object are `torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
//! ...)` calls whose storage is a persistent id `('storage', torch.XStorage, key, location,
//! numel, view_metadata)`. Only the pickle opcodes that `torch.save` emits are supported.

use std::collections::HashMap;
use std::path::Path;

use super::FIX;
use crate::error::{Error, Result};

/// The number every legacy `torch.save` file starts with.
const MAGIC: u128 = 0x1950a86a20f9469cfc6c;
/// The only legacy protocol version torch ever wrote.
const PROTOCOL_VERSION: i64 = 1001;
/// Guards against absurd nesting or stack growth in a corrupt pickle.
const MAX_STACK: usize = 1 << 20;

/// Element type of a tensor read from a legacy torch file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawDType {
    /// `torch.ByteStorage`.
    U8,
    /// `torch.CharStorage`.
    I8,
    /// `torch.ShortStorage`.
    I16,
    /// `torch.IntStorage`.
    I32,
    /// `torch.LongStorage`.
    I64,
    /// `torch.HalfStorage`.
    F16,
    /// `torch.BFloat16Storage`.
    BF16,
    /// `torch.FloatStorage`.
    F32,
    /// `torch.DoubleStorage`.
    F64,
    /// `torch.BoolStorage` (one byte per element).
    Bool,
}

impl RawDType {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            RawDType::U8 | RawDType::I8 | RawDType::Bool => 1,
            RawDType::I16 | RawDType::F16 | RawDType::BF16 => 2,
            RawDType::I32 | RawDType::F32 => 4,
            RawDType::I64 | RawDType::F64 => 8,
        }
    }

    fn from_storage_name(name: &str) -> Option<RawDType> {
        Some(match name {
            "ByteStorage" => RawDType::U8,
            "CharStorage" => RawDType::I8,
            "ShortStorage" => RawDType::I16,
            "IntStorage" => RawDType::I32,
            "LongStorage" => RawDType::I64,
            "HalfStorage" => RawDType::F16,
            "BFloat16Storage" => RawDType::BF16,
            "FloatStorage" => RawDType::F32,
            "DoubleStorage" => RawDType::F64,
            "BoolStorage" => RawDType::Bool,
            _ => return None,
        })
    }
}

/// A tensor read from a legacy torch file: contiguous, row-major, little-endian bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct RawTensor {
    /// Element type.
    pub dtype: RawDType,
    /// Dimensions, outermost first (empty for a scalar).
    pub shape: Vec<usize>,
    /// `shape.iter().product() * dtype.size()` bytes, row-major, little-endian.
    pub data: Vec<u8>,
}

/// Parses a legacy `torch.save` file (a dict of tensors) already in memory; `path` is only
/// used in error messages. Entries whose value is not a tensor are skipped.
pub fn parse_legacy(data: &[u8], path: &Path) -> Result<HashMap<String, RawTensor>> {
    let err = |msg: String| Error::Weights {
        path: path.to_path_buf(),
        msg: format!("{msg}; {FIX}"),
    };
    let not_legacy = |what: &str| {
        if data.starts_with(b"PK\x03\x04") {
            err(
                "this is a zip-format torch.save file (torch >= 1.6); only the legacy format is \
                 supported"
                    .into(),
            )
        } else {
            err(format!("not a legacy torch.save file ({what})"))
        }
    };
    let mut r = Reader { data, pos: 0 };

    let magic = load_pickle(&mut r).map_err(|e| not_legacy(&e))?;
    if !matches!(magic, Value::Int(m) if m == MAGIC as i128) {
        return Err(not_legacy("wrong magic number"));
    }
    match load_pickle(&mut r).map_err(|e| err(e.to_string()))? {
        Value::Int(v) if v == PROTOCOL_VERSION as i128 => {}
        other => {
            return Err(err(format!(
                "unsupported torch protocol version {other:?}, expected {PROTOCOL_VERSION}"
            )))
        }
    }
    let sys_info = load_pickle(&mut r).map_err(|e| err(e.to_string()))?;
    if let Value::Dict(items) = &sys_info {
        let little = items.iter().find_map(|(k, v)| match (k, v) {
            (Value::Str(k), Value::Bool(b)) if k == "little_endian" => Some(*b),
            _ => None,
        });
        if little == Some(false) {
            return Err(err("the file was written on a big-endian machine".into()));
        }
    }
    let object = load_pickle(&mut r).map_err(|e| err(e.to_string()))?;
    let keys = match load_pickle(&mut r).map_err(|e| err(e.to_string()))? {
        Value::List(items) => items
            .into_iter()
            .map(|v| match v {
                Value::Str(s) => Ok(s),
                other => Err(err(format!("storage key {other:?} is not a string"))),
            })
            .collect::<Result<Vec<_>>>()?,
        other => return Err(err(format!("storage key list is a {}", other.kind()))),
    };

    let entries = match object {
        Value::Dict(items) => items,
        other => {
            return Err(err(format!(
                "the saved object is a {}, expected a dict of tensors",
                other.kind()
            )))
        }
    };
    let mut tensors = Vec::new();
    let mut kinds: HashMap<&str, (RawDType, usize)> = HashMap::new();
    for (k, v) in &entries {
        if let (Value::Str(name), Value::Tensor(t)) = (k, v) {
            let kind = (t.storage.dtype, t.storage.numel);
            if let Some(prev) = kinds.insert(&t.storage.key, kind) {
                if prev != kind {
                    return Err(err(format!(
                        "storage {} is described in two different ways",
                        t.storage.key
                    )));
                }
            }
            tensors.push((name.clone(), t));
        }
    }

    // The raw storages follow the pickles, in the order of the key list.
    let mut storages: HashMap<&str, (RawDType, &[u8])> = HashMap::new();
    for key in &keys {
        let count = r
            .take(8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
            .map_err(|e| err(format!("{e} in the header of storage {key}")))?;
        let (dtype, numel) = *kinds.get(key.as_str()).ok_or_else(|| {
            err(format!(
                "storage {key} is listed but no tensor uses it, so its element size is unknown"
            ))
        })?;
        if count != numel as u64 {
            return Err(err(format!(
                "storage {key} holds {count} elements but the pickle says {numel}"
            )));
        }
        let len = usize::try_from(count)
            .ok()
            .and_then(|c| c.checked_mul(dtype.size()))
            .ok_or_else(|| err(format!("storage {key} has an absurd size {count}")))?;
        let bytes = r
            .take(len)
            .map_err(|e| err(format!("{e} in the data of storage {key}")))?;
        storages.insert(key, (dtype, bytes));
    }

    let mut out = HashMap::new();
    for (name, t) in tensors {
        let (dtype, bytes) = *storages.get(t.storage.key.as_str()).ok_or_else(|| {
            err(format!(
                "tensor {name} uses storage {} which is missing from the file",
                t.storage.key
            ))
        })?;
        let tensor =
            materialise(t, dtype, bytes).map_err(|e| err(format!("tensor {name}: {e}")))?;
        out.insert(name, tensor);
    }
    Ok(out)
}

/// Copies a (possibly strided) view of a storage into a contiguous tensor.
fn materialise(
    t: &TensorRef,
    dtype: RawDType,
    storage: &[u8],
) -> std::result::Result<RawTensor, String> {
    let es = dtype.size();
    let numel = storage.len() / es;
    if t.shape.len() != t.stride.len() {
        return Err(format!(
            "shape {:?} and stride {:?} differ in length",
            t.shape, t.stride
        ));
    }
    let count = t
        .shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or("shape overflows")?;
    let base = t
        .storage
        .offset
        .checked_add(t.offset)
        .ok_or("offset overflows")?;
    if count > 0 {
        let last = t
            .shape
            .iter()
            .zip(&t.stride)
            .try_fold(base, |a, (&d, &s)| a.checked_add((d - 1).checked_mul(s)?))
            .ok_or("strides overflow")?;
        if last >= numel {
            return Err(format!(
                "view (offset {base}, shape {:?}, stride {:?}) reaches past the end of its \
                 storage of {numel} elements",
                t.shape, t.stride
            ));
        }
    }
    let mut data = Vec::with_capacity(count * es);
    if is_contiguous(&t.shape, &t.stride) {
        data.extend_from_slice(&storage[base * es..(base + count) * es]);
    } else {
        let mut index = vec![0usize; t.shape.len()];
        for _ in 0..count {
            let e: usize = base
                + index
                    .iter()
                    .zip(&t.stride)
                    .map(|(i, s)| i * s)
                    .sum::<usize>();
            data.extend_from_slice(&storage[e * es..(e + 1) * es]);
            for d in (0..index.len()).rev() {
                index[d] += 1;
                if index[d] < t.shape[d] {
                    break;
                }
                index[d] = 0;
            }
        }
    }
    Ok(RawTensor {
        dtype,
        shape: t.shape.clone(),
        data,
    })
}

fn is_contiguous(shape: &[usize], stride: &[usize]) -> bool {
    let mut expected = 1;
    for (&d, &s) in shape.iter().zip(stride).rev() {
        if d != 1 && s != expected {
            return false;
        }
        expected *= d;
    }
    true
}

/// A storage as named by a persistent id: the root storage's key plus an element offset (non-zero
/// only for legacy storage views).
#[derive(Debug, Clone, PartialEq)]
struct StorageRef {
    key: String,
    dtype: RawDType,
    /// Element count of the root storage, as the pickle claims it.
    numel: usize,
    offset: usize,
}

/// A tensor as described by `_rebuild_tensor_v2`.
#[derive(Debug, Clone, PartialEq)]
struct TensorRef {
    storage: StorageRef,
    offset: usize,
    shape: Vec<usize>,
    stride: Vec<usize>,
}

/// The values a `torch.save` pickle can build.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    None,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    Global(String, String),
    Storage(StorageRef),
    Tensor(Box<TensorRef>),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::Tuple(_) => "tuple",
            Value::List(_) => "list",
            Value::Dict(_) => "dict",
            Value::Global(..) => "global",
            Value::Storage(_) => "storage",
            Value::Tensor(_) => "tensor",
        }
    }

    fn as_usize(&self, what: &str) -> std::result::Result<usize, String> {
        match self {
            Value::Int(i) => usize::try_from(*i).map_err(|_| format!("{what} {i} is out of range")),
            other => Err(format!("{what} is a {}, expected an int", other.kind())),
        }
    }

    fn as_usizes(&self, what: &str) -> std::result::Result<Vec<usize>, String> {
        match self {
            Value::Tuple(items) | Value::List(items) => {
                items.iter().map(|v| v.as_usize(what)).collect()
            }
            other => Err(format!("{what} is a {}, expected a tuple", other.kind())),
        }
    }
}

/// A cursor over the file's bytes.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        match end {
            Some(end) => {
                let s = &self.data[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(format!(
                "the file is truncated (needed {n} bytes at offset {}, file has {})",
                self.pos,
                self.data.len()
            )),
        }
    }

    fn byte(&mut self) -> std::result::Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> std::result::Result<u16, String> {
        Ok(u16::from_le_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }

    fn u32(&mut self) -> std::result::Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn line(&mut self) -> std::result::Result<&'a str, String> {
        let rest = &self.data[self.pos..];
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("the file is truncated (unterminated line in a pickle)")?;
        let s = std::str::from_utf8(&rest[..n]).map_err(|_| "invalid text in a pickle")?;
        self.pos += n + 1;
        Ok(s)
    }

    fn string(&mut self, n: usize) -> std::result::Result<String, String> {
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| "invalid UTF-8 in a pickle".into())
    }
}

/// Runs the pickle VM over one pickle (up to and including its STOP opcode).
fn load_pickle(r: &mut Reader) -> std::result::Result<Value, String> {
    let mut stack: Vec<Value> = Vec::new();
    let mut marks: Vec<usize> = Vec::new();
    // The memo holds copies, not shared references: a container memoised and then filled is
    // fetched back as it was when memoised. torch.save only re-fetches immutable values (globals,
    // strings, tuples, tensors), so this is enough.
    let mut memo: HashMap<u32, Value> = HashMap::new();

    fn pop(stack: &mut Vec<Value>) -> std::result::Result<Value, String> {
        stack
            .pop()
            .ok_or_else(|| "corrupt pickle (stack underflow)".into())
    }
    fn top(stack: &mut [Value]) -> std::result::Result<&mut Value, String> {
        stack
            .last_mut()
            .ok_or_else(|| "corrupt pickle (stack underflow)".into())
    }
    fn pop_mark(
        stack: &mut Vec<Value>,
        marks: &mut Vec<usize>,
    ) -> std::result::Result<Vec<Value>, String> {
        let m = marks.pop().ok_or("corrupt pickle (no mark)")?;
        if m > stack.len() {
            return Err("corrupt pickle (mark beyond stack)".into());
        }
        Ok(stack.split_off(m))
    }
    fn set_items(dict: &mut Value, items: Vec<Value>) -> std::result::Result<(), String> {
        let Value::Dict(d) = dict else {
            return Err(format!("corrupt pickle (SETITEM on a {})", dict.kind()));
        };
        if !items.len().is_multiple_of(2) {
            return Err("corrupt pickle (odd SETITEMS)".into());
        }
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            match d.iter_mut().find(|(dk, _)| *dk == k) {
                Some(slot) => slot.1 = v,
                None => d.push((k, v)),
            }
        }
        Ok(())
    }
    fn append(list: &mut Value, items: Vec<Value>) -> std::result::Result<(), String> {
        match list {
            Value::List(l) => {
                l.extend(items);
                Ok(())
            }
            other => Err(format!("corrupt pickle (APPEND on a {})", other.kind())),
        }
    }

    loop {
        if stack.len() > MAX_STACK {
            return Err("corrupt pickle (stack too deep)".into());
        }
        let op = r.byte()?;
        match op {
            0x80 => {
                // PROTO
                let v = r.byte()?;
                if v > 5 {
                    return Err(format!("unsupported pickle protocol {v}"));
                }
            }
            0x95 => {
                // FRAME: framing is only a hint, the data follows inline.
                r.take(8)?;
            }
            b'.' => return pop(&mut stack),
            b'(' => marks.push(stack.len()),
            b'N' => stack.push(Value::None),
            0x88 => stack.push(Value::Bool(true)),
            0x89 => stack.push(Value::Bool(false)),
            b'J' => stack.push(Value::Int(r.u32()? as i32 as i128)),
            b'K' => stack.push(Value::Int(r.byte()? as i128)),
            b'M' => stack.push(Value::Int(r.u16()? as i128)),
            0x8a => {
                // LONG1: little-endian two's complement of n bytes.
                let n = r.byte()? as usize;
                let bytes = r.take(n)?;
                if n > 16 {
                    return Err("integer too large in pickle".into());
                }
                let mut buf = if bytes.last().is_some_and(|&b| b & 0x80 != 0) {
                    [0xffu8; 16]
                } else {
                    [0u8; 16]
                };
                buf[..n].copy_from_slice(bytes);
                stack.push(Value::Int(i128::from_le_bytes(buf)));
            }
            b'G' => {
                let b = r.take(8)?;
                stack.push(Value::Float(f64::from_be_bytes(
                    b.try_into().expect("8 bytes"),
                )));
            }
            b'X' => {
                let n = r.u32()? as usize;
                stack.push(Value::Str(r.string(n)?));
            }
            0x8c => {
                // SHORT_BINUNICODE
                let n = r.byte()? as usize;
                stack.push(Value::Str(r.string(n)?));
            }
            b'T' => {
                // BINSTRING (py2 str)
                let n = r.u32()? as usize;
                stack.push(Value::Bytes(r.take(n)?.to_vec()));
            }
            b'U' => {
                // SHORT_BINSTRING
                let n = r.byte()? as usize;
                stack.push(Value::Bytes(r.take(n)?.to_vec()));
            }
            b'B' => {
                let n = r.u32()? as usize;
                stack.push(Value::Bytes(r.take(n)?.to_vec()));
            }
            b'C' => {
                let n = r.byte()? as usize;
                stack.push(Value::Bytes(r.take(n)?.to_vec()));
            }
            b')' => stack.push(Value::Tuple(Vec::new())),
            b't' => {
                let items = pop_mark(&mut stack, &mut marks)?;
                stack.push(Value::Tuple(items));
            }
            0x85..=0x87 => {
                // TUPLE1, TUPLE2, TUPLE3
                let n = (op - 0x84) as usize;
                if stack.len() < n {
                    return Err("corrupt pickle (stack underflow)".into());
                }
                let items = stack.split_off(stack.len() - n);
                stack.push(Value::Tuple(items));
            }
            b']' => stack.push(Value::List(Vec::new())),
            b'l' => {
                let items = pop_mark(&mut stack, &mut marks)?;
                stack.push(Value::List(items));
            }
            b'a' => {
                let v = pop(&mut stack)?;
                append(top(&mut stack)?, vec![v])?;
            }
            b'e' => {
                let items = pop_mark(&mut stack, &mut marks)?;
                append(top(&mut stack)?, items)?;
            }
            b'}' => stack.push(Value::Dict(Vec::new())),
            b'd' => {
                let items = pop_mark(&mut stack, &mut marks)?;
                let mut d = Value::Dict(Vec::new());
                set_items(&mut d, items)?;
                stack.push(d);
            }
            b's' => {
                let v = pop(&mut stack)?;
                let k = pop(&mut stack)?;
                set_items(top(&mut stack)?, vec![k, v])?;
            }
            b'u' => {
                let items = pop_mark(&mut stack, &mut marks)?;
                set_items(top(&mut stack)?, items)?;
            }
            b'q' => {
                let i = r.byte()? as u32;
                memo.insert(i, top(&mut stack)?.clone());
            }
            b'r' => {
                let i = r.u32()?;
                memo.insert(i, top(&mut stack)?.clone());
            }
            0x94 => {
                // MEMOIZE
                let i = memo.len() as u32;
                memo.insert(i, top(&mut stack)?.clone());
            }
            b'h' | b'j' => {
                let i = if op == b'h' {
                    r.byte()? as u32
                } else {
                    r.u32()?
                };
                let v = memo
                    .get(&i)
                    .ok_or_else(|| format!("corrupt pickle (memo {i} unset)"))?;
                stack.push(v.clone());
            }
            b'c' => {
                let module = r.line()?.to_string();
                let name = r.line()?.to_string();
                stack.push(Value::Global(module, name));
            }
            0x93 => {
                // STACK_GLOBAL
                let name = pop(&mut stack)?;
                let module = pop(&mut stack)?;
                match (module, name) {
                    (Value::Str(m), Value::Str(n)) => stack.push(Value::Global(m, n)),
                    _ => return Err("corrupt pickle (STACK_GLOBAL needs two strings)".into()),
                }
            }
            b'Q' => {
                let pid = pop(&mut stack)?;
                stack.push(persistent_load(pid)?);
            }
            b'R' => {
                let args = pop(&mut stack)?;
                let func = pop(&mut stack)?;
                stack.push(reduce(func, args)?);
            }
            b'b' => {
                // BUILD: only the empty state of an OrderedDict or a tensor's (empty) hooks.
                let state = pop(&mut stack)?;
                let target = top(&mut stack)?;
                match (&*target, &state) {
                    (_, Value::None) => {}
                    (Value::Dict(_), Value::Dict(d)) if d.is_empty() => {}
                    (Value::Tensor(_), _) => {}
                    (t, s) => {
                        return Err(format!(
                            "unsupported pickle BUILD of a {} with a {}",
                            t.kind(),
                            s.kind()
                        ))
                    }
                }
            }
            other => {
                return Err(format!(
                    "unsupported pickle opcode 0x{other:02x} at offset {}",
                    r.pos - 1
                ))
            }
        }
    }
}

/// Resolves `('storage', torch.XStorage, key, location, numel, view_metadata)`.
fn persistent_load(pid: Value) -> std::result::Result<Value, String> {
    let Value::Tuple(items) = pid else {
        return Err(format!(
            "persistent id is a {}, expected a tuple",
            pid.kind()
        ));
    };
    match items.as_slice() {
        [Value::Str(tag), Value::Global(_, type_name), Value::Str(key), _location, numel, rest @ ..]
            if tag == "storage" && rest.len() <= 1 =>
        {
            let dtype = RawDType::from_storage_name(type_name)
                .ok_or_else(|| format!("unsupported storage type torch.{type_name}"))?;
            let numel = numel.as_usize("storage size")?;
            match rest.first() {
                None | Some(Value::None) => Ok(Value::Storage(StorageRef {
                    key: key.clone(),
                    dtype,
                    numel,
                    offset: 0,
                })),
                // A view into the storage `key`: (view_key, offset, size), in elements.
                Some(Value::Tuple(view)) if view.len() == 3 => Ok(Value::Storage(StorageRef {
                    key: key.clone(),
                    dtype,
                    numel,
                    offset: view[1].as_usize("storage view offset")?,
                })),
                Some(other) => Err(format!("unsupported storage view metadata {other:?}")),
            }
        }
        _ => Err(format!("unsupported persistent id {items:?}")),
    }
}

/// Applies the few callables `torch.save` pickles reference.
fn reduce(func: Value, args: Value) -> std::result::Result<Value, String> {
    let Value::Global(module, name) = &func else {
        return Err(format!("corrupt pickle (REDUCE on a {})", func.kind()));
    };
    let Value::Tuple(args) = args else {
        return Err(format!(
            "corrupt pickle (REDUCE arguments are a {})",
            args.kind()
        ));
    };
    match (module.as_str(), name.as_str()) {
        ("collections", "OrderedDict") if args.is_empty() => Ok(Value::Dict(Vec::new())),
        ("torch._utils", "_rebuild_tensor_v2" | "_rebuild_tensor") if args.len() >= 4 => {
            let Value::Storage(storage) = &args[0] else {
                return Err(format!("tensor storage is a {}", args[0].kind()));
            };
            Ok(Value::Tensor(Box::new(TensorRef {
                storage: storage.clone(),
                offset: args[1].as_usize("storage offset")?,
                shape: args[2].as_usizes("tensor size")?,
                stride: args[3].as_usizes("tensor stride")?,
            })))
        }
        ("torch._utils", "_rebuild_parameter") if !args.is_empty() => match &args[0] {
            t @ Value::Tensor(_) => Ok(t.clone()),
            other => Err(format!("parameter data is a {}", other.kind())),
        },
        _ => Err(format!("unsupported object {module}.{name} in the pickle")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads a legacy `torch.save` file holding a dict of tensors (a state dict). Entries whose
    /// value is not a tensor are skipped.
    pub fn read_legacy(path: &Path) -> Result<HashMap<String, RawTensor>> {
        let data = std::fs::read(path).map_err(|e| Error::Weights {
            path: path.to_path_buf(),
            msg: format!("cannot read the file: {e}; {FIX}"),
        })?;
        parse_legacy(&data, path)
    }

    fn real_bytes() -> Vec<u8> {
        std::fs::read(crate::testutil::real_weights()).unwrap()
    }

    fn f32s(t: &RawTensor) -> Vec<f32> {
        assert_eq!(t.dtype, RawDType::F32);
        t.data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect()
    }

    #[test]
    fn reads_real_file_with_known_values() {
        let m = read_legacy(&crate::testutil::real_weights()).unwrap();
        assert_eq!(m.len(), 48);

        let q = &m["block1_conv1_W_q"];
        assert_eq!(q.dtype, RawDType::U8);
        assert_eq!(q.shape, vec![64, 3, 3, 3]);
        assert_eq!(&q.data[..8], &[229, 229, 110, 204, 156, 35, 102, 48]);
        assert_eq!(&q.data[1725..], &[159, 152, 43]);
        assert_eq!(q.data[1000], 46);
        assert_eq!(q.data.iter().map(|&b| b as u64).sum::<u64>(), 217593);

        let t = &m["block1_conv1_W_table"];
        assert_eq!(t.shape, vec![256]);
        let t = f32s(t);
        assert_eq!(t[0].to_bits(), 0xbf26a79f);
        assert_eq!(t[1].to_bits(), 0xbf16fcb5);
        assert_eq!(t[255].to_bits(), 0x3f0d096e);

        let b = &m["block1_conv1_b"];
        assert_eq!(b.shape, vec![64]);
        let b = f32s(b);
        assert_eq!(b[0].to_bits(), 0x3f3aecebu32);
        assert_eq!(b[63].to_bits(), 0x3ed07e1e);

        let q = &m["block5_conv1_W_q"];
        assert_eq!(q.shape, vec![512, 512, 3, 3]);
        assert_eq!(&q.data[..8], &[138, 94, 111, 142, 82, 101, 115, 58]);
        assert_eq!(q.data.iter().map(|&b| b as u64).sum::<u64>(), 275031675);
        let t = f32s(&m["block5_conv1_W_table"]);
        assert_eq!(t[0].to_bits(), 0xbdf4ac39);
        let b = f32s(&m["block5_conv1_b"]);
        assert_eq!(b[0].to_bits(), 0xbd6729f3);
        assert_eq!(b[511].to_bits(), 0x3cbcffbd);

        let q = &m["block5_conv4_W_q"];
        assert_eq!(&q.data[..4], &[94, 86, 86, 103]);
        assert_eq!(q.data.iter().map(|&b| b as u64).sum::<u64>(), 271862151);
    }

    fn weights_err(data: &[u8]) -> String {
        match parse_legacy(data, Path::new("x.bin")) {
            Err(e @ Error::Weights { .. }) => {
                let s = e.to_string();
                assert!(s.contains("x.bin") && s.contains("impasto fetch"), "{s}");
                s
            }
            other => panic!("expected Error::Weights, got {other:?}"),
        }
    }

    #[test]
    fn truncated_file_is_refused() {
        let data = real_bytes();
        for len in [
            0,
            1,
            10,
            100,
            4000,
            5737,
            5740,
            6000,
            data.len() / 2,
            data.len() - 1,
        ] {
            let s = weights_err(&data[..len]);
            assert!(
                s.contains("truncated") || s.contains("not a legacy"),
                "len {len}: {s}"
            );
        }
    }

    #[test]
    fn corrupt_pickle_is_refused() {
        let mut data = real_bytes();
        data[300] = 0xff; // an opcode inside the main pickle
        weights_err(&data);
    }

    #[test]
    fn non_pickle_files_are_refused() {
        let s = weights_err(b"hello, this is not a torch file\n");
        assert!(s.contains("not a legacy"), "{s}");
        let s = weights_err(b"PK\x03\x04 zip stuff");
        assert!(s.contains("zip-format"), "{s}");
        let s = weights_err(b"\x80\x02K\x05.");
        assert!(s.contains("wrong magic"), "{s}");
        // And through the file API.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("junk.bin");
        std::fs::write(&p, [0u8; 64]).unwrap();
        assert!(matches!(read_legacy(&p), Err(Error::Weights { .. })));
        assert!(matches!(
            read_legacy(&dir.path().join("missing.bin")),
            Err(Error::Weights { .. })
        ));
    }

    #[test]
    fn strided_views_are_gathered() {
        // A 2x3 storage viewed transposed: shape [3,2], stride [1,3].
        let storage: Vec<u8> = (0u8..6).collect();
        let t = TensorRef {
            storage: StorageRef {
                key: "k".into(),
                dtype: RawDType::U8,
                numel: 6,
                offset: 0,
            },
            offset: 0,
            shape: vec![3, 2],
            stride: vec![1, 3],
        };
        let r = materialise(&t, RawDType::U8, &storage).unwrap();
        assert_eq!(r.data, vec![0, 3, 1, 4, 2, 5]);
        let out_of_bounds = TensorRef {
            offset: 1,
            ..t.clone()
        };
        assert!(materialise(&out_of_bounds, RawDType::U8, &storage).is_err());
    }
}

//! A small pickle interpreter for the configuration inside a fairseq checkpoint.
//!
//! It runs the opcodes `torch.save` emits (protocol 2, plus the protocol 3–5 opcodes for byte
//! strings, frames and memoisation) and builds a generic [`Value`] tree, following CPython's
//! `pickle._Unpickler` (`Lib/pickle.py`). Nothing is imported or executed:
//! - `GLOBAL` pushes the class's dotted name; `REDUCE` / `NEWOBJ` on it build an [`Object`]
//!   holding the arguments, and `BUILD` stores the object's state (its `__dict__`, or whatever
//!   `__getstate__` returned: omegaconf's `DictConfig` state, argparse's `Namespace`
//!   attributes). `collections.OrderedDict` / `defaultdict` become plain dicts;
//! - persistent ids (torch's tensor storages) become [`Value::Persistent`]: tensors are never
//!   materialised (the weights are read by burn's PyTorch reader).
//!
//! Hostile input gives an error, never a panic or an unbounded allocation: nesting is limited
//! to [`MAX_DEPTH`], and the values copied out of the memo (the only way a pickle can grow
//! faster than its length) to [`MAX_COPIED`] nodes.

use std::collections::HashMap;
use std::io::Read;

mod ops;

/// Deepest nesting of containers accepted (omegaconf configs nest about ten deep).
pub const MAX_DEPTH: u16 = 256;
/// Most nodes (a string counts one per 64 bytes) that `GET` may copy out of the memo in total.
pub const MAX_COPIED: usize = 1 << 22;

/// A pickled value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An `int` that fits 64 bits.
    Int(i64),
    /// An `int` wider than 64 bits (its little-endian two's-complement bytes).
    BigInt(Vec<u8>),
    /// A `float`.
    Float(f64),
    /// A `str` (or a Python 2 `str`, decoded lossily).
    Str(String),
    /// `bytes` / `bytearray`.
    Bytes(Vec<u8>),
    /// A `list` (also a `set` / `frozenset`).
    List(Vec<Value>),
    /// A `tuple`.
    Tuple(Vec<Value>),
    /// A `dict` (also `OrderedDict`, `defaultdict`), in insertion order.
    Dict(Vec<(Value, Value)>),
    /// A class or function, by its dotted name (`omegaconf.dictconfig.DictConfig`).
    Global(String),
    /// An instance of a class this reader does not interpret.
    Object(Box<Object>),
    /// A persistent id: a tensor storage in torch files, never resolved.
    Persistent,
}

/// An instance built by `REDUCE` / `NEWOBJ`, with what `BUILD`, `SETITEMS` and `APPENDS` gave it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Object {
    /// The dotted name of the callable that built it (`argparse.Namespace`), or `?` when the
    /// callable was not a global.
    pub class: String,
    /// The arguments of the call.
    pub args: Vec<Value>,
    /// The `BUILD` state.
    pub state: Option<Value>,
    /// Items set on it (a dict subclass).
    pub items: Vec<(Value, Value)>,
}

impl Value {
    /// The value under a string key of a dict.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(items) => items
                .iter()
                .find(|(k, _)| matches!(k, Value::Str(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Where and why a pickle could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct PickleError {
    /// Byte offset of the opcode.
    pub offset: u64,
    /// What went wrong.
    pub message: String,
}

impl std::fmt::Display for PickleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pickle byte {}: {}", self.offset, self.message)
    }
}

type Result<T> = std::result::Result<T, PickleError>;

/// A value on the stack with the depth of its nesting.
type Slot = (Value, u16);

/// Reads one pickle (up to its `STOP`) from `input`; the bytes after it are left unread.
///
/// # Errors
/// [`PickleError`] for truncated input, unknown opcodes, stack misuse, or limits exceeded.
pub fn read_pickle(input: &mut impl Read) -> Result<Value> {
    let mut m = Machine {
        input,
        offset: 0,
        op_offset: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        copied: 0,
    };
    m.run()
}

struct Machine<'a, R: Read> {
    input: &'a mut R,
    offset: u64,
    op_offset: u64,
    stack: Vec<Slot>,
    marks: Vec<Vec<Slot>>,
    memo: HashMap<u64, Slot>,
    copied: usize,
}

impl<R: Read> Machine<'_, R> {
    fn err<T>(&self, message: impl Into<String>) -> Result<T> {
        Err(PickleError {
            offset: self.op_offset,
            message: message.into(),
        })
    }

    fn bytes(&mut self, n: u64) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        // `take` bounds the allocation by what the input really holds.
        let got = (&mut *self.input)
            .take(n)
            .read_to_end(&mut out)
            .map_err(|e| PickleError {
                offset: self.offset,
                message: e.to_string(),
            })?;
        self.offset += got as u64;
        if (got as u64) < n {
            return self.err(format!("truncated: wanted {n} bytes, found {got}"));
        }
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let v = self.bytes(N as u64)?;
        v.try_into().or_else(|_| self.err("short read"))
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// A newline-terminated text argument (`GLOBAL`, `PUT`...), at most 4 KiB.
    fn line(&mut self) -> Result<String> {
        let mut out = Vec::new();
        loop {
            let b = self.u8()?;
            if b == b'\n' {
                return Ok(String::from_utf8_lossy(&out).into_owned());
            }
            if out.len() >= 4096 {
                return self.err("text argument longer than 4 KiB");
            }
            out.push(b);
        }
    }

    fn string(&mut self, n: u64) -> Result<Value> {
        let b = self.bytes(n)?;
        match String::from_utf8(b) {
            Ok(s) => Ok(Value::Str(s)),
            Err(_) => self.err("string is not UTF-8"),
        }
    }

    fn push(&mut self, v: Value) {
        self.stack.push((v, 0));
    }

    fn pop(&mut self) -> Result<Slot> {
        match self.stack.pop() {
            Some(s) => Ok(s),
            None => self.err("stack underflow"),
        }
    }

    fn top(&mut self) -> Result<&mut Slot> {
        let offset = self.op_offset;
        self.stack.last_mut().ok_or(PickleError {
            offset,
            message: "stack underflow".into(),
        })
    }

    fn pop_mark(&mut self) -> Result<Vec<Slot>> {
        match self.marks.pop() {
            Some(prev) => Ok(std::mem::replace(&mut self.stack, prev)),
            None => self.err("no MARK on the stack"),
        }
    }

    /// The depth of a container holding `children`.
    fn depth(&self, children: &[Slot]) -> Result<u16> {
        let d = children.iter().map(|s| s.1).max().unwrap_or(0) + 1;
        if d > MAX_DEPTH {
            return self.err(format!("nested deeper than {MAX_DEPTH}"));
        }
        Ok(d)
    }

    fn push_container(&mut self, children: Vec<Slot>, make: fn(Vec<Value>) -> Value) -> Result<()> {
        let d = self.depth(&children)?;
        let v = make(children.into_iter().map(|s| s.0).collect());
        self.stack.push((v, d));
        Ok(())
    }

    /// Adds `items` (flattened key, value pairs) to the dict or object on top of the stack.
    fn set_items(&mut self, items: Vec<Slot>) -> Result<()> {
        if !items.len().is_multiple_of(2) {
            return self.err("SETITEMS with an odd number of items");
        }
        let d = self.depth(&items)?;
        let mut pairs = Vec::with_capacity(items.len() / 2);
        let mut it = items.into_iter().map(|s| s.0);
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            pairs.push((k, v));
        }
        let (top, depth) = self.top()?;
        *depth = (*depth).max(d);
        match top {
            Value::Dict(items) => items.extend(pairs),
            Value::Object(o) => o.items.extend(pairs),
            _ => return self.err("SETITEM on a value that is not a dict"),
        }
        Ok(())
    }

    /// Adds `items` to the list (or set) on top of the stack.
    fn append(&mut self, items: Vec<Slot>) -> Result<()> {
        let d = self.depth(&items)?;
        let (top, depth) = self.top()?;
        *depth = (*depth).max(d);
        match top {
            Value::List(list) => list.extend(items.into_iter().map(|s| s.0)),
            // A list subclass: keep the items as its arguments.
            Value::Object(o) => o.args.extend(items.into_iter().map(|s| s.0)),
            _ => return self.err("APPEND on a value that is not a list"),
        }
        Ok(())
    }

    /// `callable(*args)`, for `REDUCE` and `NEWOBJ`.
    fn call(&mut self, callable: Slot, args: Slot) -> Result<()> {
        let d = callable.1.max(args.1) + 1;
        if d > MAX_DEPTH {
            return self.err(format!("nested deeper than {MAX_DEPTH}"));
        }
        let args = match args.0 {
            Value::Tuple(a) | Value::List(a) => a,
            other => vec![other],
        };
        let class = match callable.0 {
            Value::Global(name) => name,
            _ => "?".to_string(),
        };
        let value = match class.as_str() {
            "collections.OrderedDict" | "collections.defaultdict" => Value::Dict(Vec::new()),
            "builtins.set" | "builtins.frozenset" | "__builtin__.set" | "__builtin__.frozenset" => {
                match args.into_iter().next() {
                    Some(Value::List(l) | Value::Tuple(l)) => Value::List(l),
                    _ => Value::List(Vec::new()),
                }
            }
            // Protocol 0/1 objects: `copyreg._reconstructor(cls, base, state)`.
            "copyreg._reconstructor" | "copy_reg._reconstructor" => match args.first() {
                Some(Value::Global(cls)) => Value::Object(Box::new(Object {
                    class: cls.clone(),
                    ..Object::default()
                })),
                _ => Value::Object(Box::default()),
            },
            _ => Value::Object(Box::new(Object {
                class,
                args,
                ..Object::default()
            })),
        };
        self.stack.push((value, d));
        Ok(())
    }

    fn build(&mut self) -> Result<()> {
        let state = self.pop()?;
        let d = self.depth(std::slice::from_ref(&state))?;
        let (top, depth) = self.top()?;
        if let Value::Object(o) = top {
            o.state = Some(state.0);
            *depth = (*depth).max(d);
        }
        // BUILD on a dict (an OrderedDict's `_metadata`) or anything else: the state is dropped.
        Ok(())
    }

    /// A copy of memo entry `key`, charged against [`MAX_COPIED`].
    fn get(&mut self, key: u64) -> Result<()> {
        let Some(slot) = self.memo.get(&key) else {
            return self.err(format!("memo key {key} was never stored"));
        };
        let cost = size(&slot.0);
        self.copied = self.copied.saturating_add(cost);
        if self.copied > MAX_COPIED {
            return self.err(format!(
                "copies more than {MAX_COPIED} values out of its memo"
            ));
        }
        let slot = slot.clone();
        self.stack.push(slot);
        Ok(())
    }

    fn put(&mut self, key: u64) -> Result<()> {
        let slot = self.top()?.clone();
        let cost = size(&slot.0);
        self.copied = self.copied.saturating_add(cost);
        if self.copied > MAX_COPIED {
            return self.err(format!("stores more than {MAX_COPIED} values in its memo"));
        }
        self.memo.insert(key, slot);
        Ok(())
    }
}

/// `module.name`, with Python 2's `__builtin__` spelled `builtins`.
fn global_name(module: &str, name: &str) -> String {
    let module = if module == "__builtin__" {
        "builtins"
    } else {
        module
    };
    format!("{module}.{name}")
}

/// A `LONG1` / `LONG4` payload: little-endian two's complement.
fn long(bytes: Vec<u8>) -> Value {
    if bytes.len() > 8 {
        return Value::BigInt(bytes);
    }
    let negative = bytes.last().is_some_and(|b| b & 0x80 != 0);
    let mut buf = [if negative { 0xff } else { 0 }; 8];
    buf[..bytes.len()].copy_from_slice(&bytes);
    Value::Int(i64::from_le_bytes(buf))
}

/// Nodes in a value (a string or byte string counts one per 64 bytes).
fn size(v: &Value) -> usize {
    match v {
        Value::Str(s) => 1 + s.len() / 64,
        Value::Bytes(b) | Value::BigInt(b) => 1 + b.len() / 64,
        Value::List(l) | Value::Tuple(l) => 1 + l.iter().map(size).sum::<usize>(),
        Value::Dict(d) => 1 + d.iter().map(|(k, v)| size(k) + size(v)).sum::<usize>(),
        Value::Object(o) => {
            1 + o.args.iter().map(size).sum::<usize>()
                + o.state.as_ref().map_or(0, size)
                + o.items
                    .iter()
                    .map(|(k, v)| size(k) + size(v))
                    .sum::<usize>()
        }
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Result<Value> {
        read_pickle(&mut &bytes[..])
    }

    #[test]
    fn reads_dicts_lists_and_scalars() {
        // pickle.dumps({"a": [1, -2, 3.5, None, True], "b": "x"}, protocol=2)
        let bytes = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01]q\x02(K\x01J\xfe\xff\xff\xffG@\x0c\x00\x00\x00\x00\x00\x00N\x88eX\x01\x00\x00\x00bq\x03X\x01\x00\x00\x00xq\x04u.";
        let v = read(bytes).unwrap();
        assert_eq!(
            v.get("a"),
            Some(&Value::List(vec![
                Value::Int(1),
                Value::Int(-2),
                Value::Float(3.5),
                Value::None,
                Value::Bool(true)
            ]))
        );
        assert_eq!(v.get("b"), Some(&Value::Str("x".into())));
    }

    #[test]
    fn unknown_classes_keep_their_state() {
        // pickle.dumps(argparse.Namespace(heads=4), protocol=2)
        let bytes = b"\x80\x02cargparse\nNamespace\nq\x00)\x81q\x01}q\x02X\x05\x00\x00\x00headsq\x03K\x04sb.";
        let Value::Object(o) = read(bytes).unwrap() else {
            panic!("not an object")
        };
        assert_eq!(o.class, "argparse.Namespace");
        assert_eq!(
            o.state.as_ref().and_then(|s| s.get("heads")),
            Some(&Value::Int(4))
        );
    }

    #[test]
    fn longs_are_twos_complement() {
        assert_eq!(long(vec![0xff]), Value::Int(-1));
        assert_eq!(long(vec![0x00, 0x80]), Value::Int(-32768));
        assert_eq!(long(vec![0x01, 0x01]), Value::Int(257));
        assert!(matches!(long(vec![1; 9]), Value::BigInt(_)));
    }

    #[test]
    fn bad_pickles_are_errors() {
        for (bytes, want) in [
            (&b"\x80\x02}q\x00(X\x05\x00\x00\x00ab"[..], "truncated"),
            (b"\x80\x02h\x07.", "memo key 7"),
            (b"\x80\x02u.", "no MARK"),
            (b"\x80\x02\xff", "unsupported opcode 0xff"),
            (b"\x80\x02K\x01K\x02a.", "not a list"),
            (b"\x80\x02a.", "stack underflow"),
            (b".", "empty stack"),
            (b"", "truncated"),
        ] {
            let err = read(bytes).unwrap_err();
            assert!(err.message.contains(want), "{bytes:?}: {err}");
        }
    }

    #[test]
    fn deep_nesting_and_memo_bombs_are_refused() {
        let mut deep = b"\x80\x02".to_vec();
        for _ in 0..300 {
            deep.extend_from_slice(b"]");
        }
        for _ in 0..299 {
            deep.extend_from_slice(b"a");
        }
        deep.push(b'.');
        assert!(read(&deep).unwrap_err().message.contains("nested deeper"));
        // A list holding two copies of itself, doubled 40 times.
        let mut bomb = b"\x80\x02]q\x00".to_vec();
        for _ in 0..40 {
            bomb.extend_from_slice(b"h\x00h\x00\x86q\x00");
        }
        bomb.push(b'.');
        assert!(read(&bomb).unwrap_err().message.contains("memo"));
    }
}

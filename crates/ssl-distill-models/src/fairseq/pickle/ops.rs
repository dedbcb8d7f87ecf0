//! The opcodes of the pickle `Machine`: every opcode of pickle protocols 0–5 that `torch.save`
//! and plain `pickle.dump` write for data (CPython's `Lib/pickle.py` names), in one `match` per
//! kind (scalars, containers, memo, the rest).

use std::io::Read;

use super::{Machine, Result, Value, global_name, long};

impl<R: Read> Machine<'_, R> {
    pub(super) fn run(&mut self) -> Result<Value> {
        loop {
            self.op_offset = self.offset;
            let op = self.u8()?;
            if op == b'.' {
                return match self.stack.pop() {
                    Some((v, _)) => Ok(v),
                    None => self.err("STOP on an empty stack"),
                };
            }
            self.step(op)?;
        }
    }

    /// Runs `op` if it pushes a scalar (or is `PROTO` / `FRAME`); false for other opcodes.
    fn scalar(&mut self, op: u8) -> Result<bool> {
        match op {
            // PROTO, FRAME: nothing to do.
            0x80 => {
                self.u8()?;
            }
            0x95 => {
                self.u64()?;
            }
            b'N' => self.push(Value::None),
            0x88 => self.push(Value::Bool(true)),
            0x89 => self.push(Value::Bool(false)),
            b'J' => {
                let v = i32::from_le_bytes(self.array()?);
                self.push(Value::Int(v.into()));
            }
            b'K' => {
                let v = self.u8()?;
                self.push(Value::Int(v.into()));
            }
            b'M' => {
                let v = u16::from_le_bytes(self.array()?);
                self.push(Value::Int(v.into()));
            }
            0x8a => {
                let n = self.u8()?;
                let b = self.bytes(n.into())?;
                self.push(long(b));
            }
            0x8b => {
                let n = i32::from_le_bytes(self.array()?);
                let Ok(n) = u64::try_from(n) else {
                    return self.err("LONG4 with a negative length");
                };
                let b = self.bytes(n)?;
                self.push(long(b));
            }
            b'G' => {
                let v = f64::from_be_bytes(self.array()?);
                self.push(Value::Float(v));
            }
            b'X' => {
                let n = self.u32()?;
                let v = self.string(n.into())?;
                self.push(v);
            }
            0x8c => {
                let n = self.u8()?;
                let v = self.string(n.into())?;
                self.push(v);
            }
            0x8d => {
                let n = self.u64()?;
                let v = self.string(n)?;
                self.push(v);
            }
            b'T' | b'B' | b'U' | b'C' | 0x8e | 0x96 => self.byte_string(op)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn step(&mut self, op: u8) -> Result<()> {
        if self.scalar(op)? || self.container(op)? || self.memo(op)? {
            return Ok(());
        }
        match op {
            b'0' => {
                self.pop()?;
            }
            b'1' => {
                self.pop_mark()?;
            }
            b'2' => {
                let top = self.top()?.clone();
                self.stack.push(top);
            }
            b'c' => {
                let module = self.line()?;
                let name = self.line()?;
                self.push(Value::Global(global_name(&module, &name)));
            }
            0x93 => {
                let name = self.pop()?.0;
                let module = self.pop()?.0;
                let (Value::Str(module), Value::Str(name)) = (module, name) else {
                    return self.err("STACK_GLOBAL of a non-string");
                };
                self.push(Value::Global(global_name(&module, &name)));
            }
            b'R' | 0x81 => {
                let args = self.pop()?;
                let callable = self.pop()?;
                self.call(callable, args)?;
            }
            0x92 => {
                self.pop()?; // kwargs
                let args = self.pop()?;
                let callable = self.pop()?;
                self.call(callable, args)?;
            }
            b'b' => self.build()?,
            b'Q' => {
                self.pop()?;
                self.push(Value::Persistent);
            }
            b'P' => {
                self.line()?;
                self.push(Value::Persistent);
            }
            b'I' | b'L' => {
                let text = self.line()?;
                let v = match text.trim_end_matches('L') {
                    "01" => Value::Bool(true),
                    "00" => Value::Bool(false),
                    t => t
                        .parse()
                        .map(Value::Int)
                        .unwrap_or(Value::BigInt(Vec::new())),
                };
                self.push(v);
            }
            other => return self.err(format!("unsupported opcode 0x{other:02x}")),
        }
        Ok(())
    }

    /// Opcodes that build lists, tuples and dicts, and marks; false for any other.
    fn container(&mut self, op: u8) -> Result<bool> {
        match op {
            b']' => self.push(Value::List(Vec::new())),
            b')' => self.push(Value::Tuple(Vec::new())),
            b'}' => self.push(Value::Dict(Vec::new())),
            0x8f => self.push(Value::List(Vec::new())),
            b'(' => {
                let stack = std::mem::take(&mut self.stack);
                self.marks.push(stack);
            }
            b'l' => {
                let items = self.pop_mark()?;
                self.push_container(items, Value::List)?;
            }
            b't' | 0x91 => {
                let items = self.pop_mark()?;
                let make = if op == b't' {
                    Value::Tuple
                } else {
                    Value::List
                };
                self.push_container(items, make)?;
            }
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                if self.stack.len() < n {
                    return self.err("stack underflow");
                }
                let items = self.stack.split_off(self.stack.len() - n);
                self.push_container(items, Value::Tuple)?;
            }
            b'd' => {
                let items = self.pop_mark()?;
                self.push(Value::Dict(Vec::new()));
                self.set_items(items)?;
            }
            b'a' => {
                let item = self.pop()?;
                self.append(vec![item])?;
            }
            b'e' | 0x90 => {
                let items = self.pop_mark()?;
                self.append(items)?;
            }
            b's' => {
                let v = self.pop()?;
                let k = self.pop()?;
                self.set_items(vec![k, v])?;
            }
            b'u' => {
                let items = self.pop_mark()?;
                self.set_items(items)?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The memo's opcodes (`PUT`, `GET` and their forms, `MEMOIZE`); false for any other.
    fn memo(&mut self, op: u8) -> Result<bool> {
        match op {
            b'q' => {
                let k = self.u8()?;
                self.put(k.into())?;
            }
            b'r' => {
                let k = self.u32()?;
                self.put(k.into())?;
            }
            0x94 => {
                let k = self.memo.len() as u64;
                self.put(k)?;
            }
            b'p' => {
                let k = self.line_number()?;
                self.put(k)?;
            }
            b'h' => {
                let k = self.u8()?;
                self.get(k.into())?;
            }
            b'j' => {
                let k = self.u32()?;
                self.get(k.into())?;
            }
            b'g' => {
                let k = self.line_number()?;
                self.get(k)?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// `BINSTRING`, `BINBYTES` and their short / 8-byte forms, and `BYTEARRAY8`.
    fn byte_string(&mut self, op: u8) -> Result<()> {
        let n: u64 = match op {
            b'U' | b'C' => self.u8()?.into(),
            b'T' | b'B' => self.u32()?.into(),
            _ => self.u64()?,
        };
        let b = self.bytes(n)?;
        let v = if matches!(op, b'T' | b'U') {
            Value::Str(String::from_utf8_lossy(&b).into_owned())
        } else {
            Value::Bytes(b)
        };
        self.push(v);
        Ok(())
    }

    fn line_number(&mut self) -> Result<u64> {
        let text = self.line()?;
        match text.trim().parse() {
            Ok(n) => Ok(n),
            Err(_) => self.err(format!("bad memo key {text:?}")),
        }
    }
}

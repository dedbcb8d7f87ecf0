//! fairseq's `conv_feature_layers`: the Python expression (`"[(512,10,5)] + [(512,3,2)] * 4"`)
//! that fairseq `eval`s into the conv extractor's `(dim, kernel, stride)` list
//! (`fairseq/models/wav2vec/wav2vec2.py`, `Wav2Vec2Model.__init__`), evaluated here by a small
//! parser of list literals of integer triples, `+` and `*`.

/// One `(dim, kernel, stride)` entry of fairseq's `conv_feature_layers`.
pub type ConvLayer = (usize, usize, usize);

/// Evaluates fairseq's `conv_feature_layers`, a Python expression over lists of
/// `(dim, kernel, stride)` tuples with `+` and `*` (`"[(512,10,5)] + [(512,3,2)] * 4"`).
///
/// # Errors
/// A sentence naming what could not be parsed.
pub fn parse_conv_layers(text: &str) -> Result<Vec<ConvLayer>, String> {
    let mut p = ExprParser {
        s: text.as_bytes(),
        i: 0,
    };
    let layers = p.sum()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("cannot parse {text:?} after byte {}", p.i));
    }
    if layers.is_empty() || layers.len() > 64 {
        return Err(format!("{text:?} gives {} conv layers", layers.len()));
    }
    Ok(layers)
}

struct ExprParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl ExprParser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected `{}` at byte {}", c as char, self.i))
        }
    }

    fn int(&mut self) -> Result<usize, String> {
        self.ws();
        let start = self.i;
        while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i])
            .ok()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| format!("expected a number at byte {start}"))
    }

    /// `product ('+' product)*`
    fn sum(&mut self) -> Result<Vec<ConvLayer>, String> {
        let mut out = self.product()?;
        while self.eat(b'+') {
            out.extend(self.product()?);
        }
        Ok(out)
    }

    /// `atom ('*' int)*` or `int '*' atom`.
    fn product(&mut self) -> Result<Vec<ConvLayer>, String> {
        self.ws();
        let mut out = if self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
            let n = self.int()?;
            self.expect(b'*')?;
            repeat(self.atom()?, n)?
        } else {
            self.atom()?
        };
        while self.eat(b'*') {
            let n = self.int()?;
            out = repeat(out, n)?;
        }
        Ok(out)
    }

    /// `'[' tuple (',' tuple)* ','? ']'` or `'(' sum ')'`.
    fn atom(&mut self) -> Result<Vec<ConvLayer>, String> {
        if self.eat(b'(') {
            let inner = self.sum()?;
            self.expect(b')')?;
            return Ok(inner);
        }
        self.expect(b'[')?;
        let mut out = Vec::new();
        while !self.eat(b']') {
            self.expect(b'(')?;
            let dim = self.int()?;
            self.expect(b',')?;
            let kernel = self.int()?;
            self.expect(b',')?;
            let stride = self.int()?;
            self.eat(b',');
            self.expect(b')')?;
            out.push((dim, kernel, stride));
            if !self.eat(b',') {
                self.expect(b']')?;
                break;
            }
        }
        Ok(out)
    }
}

fn repeat(items: Vec<ConvLayer>, n: usize) -> Result<Vec<ConvLayer>, String> {
    if items.len().saturating_mul(n) > 64 {
        return Err(format!("more than 64 conv layers ({} x {n})", items.len()));
    }
    Ok(items.repeat(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conv_layers_evaluate_like_python() {
        let base = parse_conv_layers("[(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512,2,2)] * 2");
        assert_eq!(
            base.unwrap(),
            [
                vec![(512, 10, 5)],
                vec![(512, 3, 2); 4],
                vec![(512, 2, 2); 2]
            ]
            .concat()
        );
        assert_eq!(
            parse_conv_layers("2 * [(8, 3, 2),] + ([(4, 2, 1)])").unwrap(),
            vec![(8, 3, 2), (8, 3, 2), (4, 2, 1)]
        );
        for bad in [
            "",
            "[(1, 2)]",
            "[(1,2,3)] * ",
            "[(1,2,3)] - [(1,2,3)]",
            "[]",
            "[(1,2,3)]*99",
        ] {
            assert!(parse_conv_layers(bad).is_err(), "{bad:?}");
        }
    }
}

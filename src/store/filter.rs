//! CREST query filters (`_queryFilter`) as the `/sts-tokengen` pages use them:
//! `/sts_id eq 'x'`, `/token_principal eq "y" and !(/token_type eq 'SAML2')`, `true`.
//!
//! Grammar (precedence low to high): `or`, `and`, `!` / parentheses / comparisons.
//! Comparisons: `/field (eq|co|sw|gt|ge|lt|le) value` and `/field pr`; values are single- or
//! double-quoted strings (backslash escapes the next character), numbers, `true`, `false`.

/// A token field that filters may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    TokenId,
    StsId,
    Principal,
    TokenType,
    ExpirationTime,
}

impl Field {
    fn parse(name: &str) -> Option<Field> {
        Some(match name {
            "_id" | "token_id" => Field::TokenId,
            "sts_id" => Field::StsId,
            "token_principal" | "principal_name" => Field::Principal,
            "token_type" => Field::TokenType,
            "expiration_time" => Field::ExpirationTime,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Co,
    Sw,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Num(i64),
    Bool(bool),
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    True,
    False,
    Cmp(Field, Op, Value),
    Present(Field),
    Not(Box<Filter>),
    And(Vec<Filter>),
    Or(Vec<Filter>),
}

/// A syntax error at a position of the filter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid _queryFilter at position {pos}: {message}")]
pub struct FilterError {
    /// Characters (not bytes) before the error.
    pub pos: usize,
    pub message: String,
}

/// The parser keeps `pos` as a byte offset that only ever moves over whole characters; it
/// slices with `get`, so that even a wrong offset is an error, never a panic.
struct Parser<'a> {
    s: &'a str,
    pos: usize,
    depth: usize,
}

const MAX_DEPTH: usize = 32;

pub fn parse(s: &str) -> Result<Filter, FilterError> {
    let mut p = Parser {
        s,
        pos: 0,
        depth: 0,
    };
    let f = p.or()?;
    p.ws();
    if p.pos < s.len() {
        return Err(p.err("unexpected input after the filter"));
    }
    Ok(f)
}

impl<'a> Parser<'a> {
    fn err(&self, message: &str) -> FilterError {
        self.err_at(self.pos, message.to_owned())
    }

    /// An error at byte offset `at`, reported in characters.
    fn err_at(&self, at: usize, message: String) -> FilterError {
        FilterError {
            pos: self.s.get(..at).map_or(at, |before| before.chars().count()),
            message,
        }
    }

    fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or_default()
    }

    fn ws(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.s.len() - trimmed.len();
    }

    /// Consumes keyword `kw` when followed by a non-word character.
    fn keyword(&mut self, kw: &str) -> bool {
        self.ws();
        let r = self.rest();
        // Compared as bytes: `kw` is ASCII, so a match ends on a character boundary.
        let matches = r
            .as_bytes()
            .get(..kw.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(kw.as_bytes()));
        if matches
            && !r
                .get(kw.len()..)
                .and_then(|after| after.chars().next())
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            self.pos += kw.len();
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Filter, FilterError> {
        let mut parts = vec![self.and()?];
        while self.keyword("or") {
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Filter::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Filter, FilterError> {
        let mut parts = vec![self.unary()?];
        while self.keyword("and") {
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Filter::And(parts)
        })
    }

    fn unary(&mut self) -> Result<Filter, FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err("the filter nests too deeply"));
        }
        self.ws();
        let out = if self.rest().starts_with('!') {
            self.pos += 1;
            Filter::Not(Box::new(self.unary()?))
        } else if self.rest().starts_with('(') {
            self.pos += 1;
            let inner = self.or()?;
            self.ws();
            if !self.rest().starts_with(')') {
                return Err(self.err("expected `)`"));
            }
            self.pos += 1;
            inner
        } else if self.keyword("true") {
            Filter::True
        } else if self.keyword("false") {
            Filter::False
        } else if self.rest().starts_with('/') {
            self.comparison()?
        } else {
            return Err(self.err("expected `/field`, `!`, `(`, `true` or `false`"));
        };
        self.depth -= 1;
        Ok(out)
    }

    fn comparison(&mut self) -> Result<Filter, FilterError> {
        let start = self.pos;
        self.pos += 1;
        let len = self
            .rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(self.rest().len());
        let name = self.rest().get(..len).unwrap_or_default();
        let field = Field::parse(&name.replace('-', "_")).ok_or_else(|| {
            self.err_at(
                start,
                format!(
                    "unsupported field `/{name}` (use sts_id, token_principal, token_type, token_id or expiration_time)"
                ),
            )
        })?;
        self.pos += len;
        if self.keyword("pr") {
            return Ok(Filter::Present(field));
        }
        let op = [
            ("eq", Op::Eq),
            ("co", Op::Co),
            ("sw", Op::Sw),
            ("gt", Op::Gt),
            ("ge", Op::Ge),
            ("lt", Op::Lt),
            ("le", Op::Le),
        ]
        .into_iter()
        .find(|(kw, _)| self.keyword(kw))
        .map(|(_, op)| op)
        .ok_or_else(|| self.err("expected an operator (eq, co, sw, gt, ge, lt, le, pr)"))?;
        self.ws();
        let value = self.value()?;
        Ok(Filter::Cmp(field, op, value))
    }

    fn value(&mut self) -> Result<Value, FilterError> {
        let r = self.rest();
        if let Some(q) = r.chars().next().filter(|c| *c == '\'' || *c == '"') {
            let mut out = String::new();
            let mut chars = r.char_indices().skip(1);
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some((_, e)) => out.push(e),
                        None => break,
                    },
                    c if c == q => {
                        self.pos += i + 1;
                        return Ok(Value::Str(out));
                    }
                    c => out.push(c),
                }
            }
            return Err(self.err("unterminated string"));
        }
        if self.keyword("true") {
            return Ok(Value::Bool(true));
        }
        if self.keyword("false") {
            return Ok(Value::Bool(false));
        }
        let len = r
            .find(|c: char| !(c.is_ascii_digit() || c == '-'))
            .unwrap_or(r.len());
        let n = r
            .get(..len)
            .unwrap_or_default()
            .parse::<i64>()
            .map_err(|_| self.err("expected a quoted string, a number, true or false"))?;
        self.pos += len;
        Ok(Value::Num(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_reference_filters_and_the_grammar() {
        assert_eq!(
            parse("/sts_id eq 'username-transformer'").unwrap(),
            Filter::Cmp(
                Field::StsId,
                Op::Eq,
                Value::Str("username-transformer".into())
            )
        );
        assert_eq!(
            parse(r#"/token_principal eq "o\'brien\\x""#).unwrap(),
            Filter::Cmp(Field::Principal, Op::Eq, Value::Str("o'brien\\x".into()))
        );
        assert_eq!(parse(" true ").unwrap(), Filter::True);
        let f = parse("/sts_id eq 'a' and !(/token_type eq 'SAML2' or /expiration_time lt 5) and /token_id pr").unwrap();
        let Filter::And(parts) = f else { panic!() };
        assert_eq!(parts.len(), 3);
        assert!(matches!(&parts[1], Filter::Not(inner) if matches!(**inner, Filter::Or(_))));
    }

    #[test]
    fn errors_carry_their_position() {
        assert_eq!(parse("/sts_id eq 'a").unwrap_err().pos, 11);
        assert_eq!(parse("/nope eq 'a'").unwrap_err().pos, 0);
        assert_eq!(parse("/sts_id xx 'a'").unwrap_err().pos, 8);
        assert_eq!(parse("/sts_id eq 'a' junk").unwrap_err().pos, 15);
        assert_eq!(parse("(/sts_id eq 'a'").unwrap_err().pos, 15);
        assert!(parse(&"!".repeat(100)).is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn multibyte_input_is_an_error_or_a_value_never_a_panic() {
        // Each of these once sliced a string inside a character.
        for (input, pos) in [
            ("aaaé", 0),
            ("tru€", 0),
            ("fals€", 0),
            ("/sts_id eq 'a' an€", 15),
            ("/sts_id eq 'a' o€", 15),
            ("/sts_id éq 'a'", 8),
            ("/sts_id e€ 'a'", 8),
            ("/sts_id eq tru€", 11),
            ("/sts_id eq €", 11),
            ("/stsé eq 'a'", 0),
            ("é", 0),
            ("(/sts_id eq 'a'€", 15),
        ] {
            let e = parse(input).expect_err(input);
            assert_eq!(e.pos, pos, "{input}: {e}");
        }
        // Positions count characters, not bytes.
        assert_eq!(parse("/sts_id eq 'é' junk").unwrap_err().pos, 15);
        assert_eq!(
            parse("/token_principal eq 'José' and /sts_id sw \"日本\"").unwrap(),
            Filter::And(vec![
                Filter::Cmp(Field::Principal, Op::Eq, Value::Str("José".into())),
                Filter::Cmp(Field::StsId, Op::Sw, Value::Str("日本".into())),
            ])
        );
        // Every cut of inputs with 2-, 3- and 4-byte characters at every place.
        let words = [
            "/sts_id", " eq ", "'x'", "true", "false", "and", "or", "!", "(", ")", " pr", "5",
        ];
        for c in ["é", "€", "😀", "\u{a0}"] {
            for w in words {
                for at in 0..=w.len() {
                    let mut input = w.to_owned();
                    input.insert_str(at, c);
                    let _ = parse(&input);
                    let _ = parse(&format!("/sts_id eq 'a' and {input}"));
                    let _ = parse(&format!("/sts_id {input}"));
                }
            }
        }
    }
}

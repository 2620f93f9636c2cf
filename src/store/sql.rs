//! The one translation of a token query (`_queryFilter` plus paging) to SQL, for every SQL
//! backend: values are always bound parameters, never text in the statement, and a value whose
//! type differs from its field's compares the same way on every backend.

use std::fmt::Write as _;

use super::filter::{Field, Filter, Op, Value};

/// A bound value of a generated query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SqlArg {
    Text(String),
    Int(i64),
}

/// What differs between SQL dialects in a token query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// `?N` placeholders, `instr`/`substr`.
    Sqlite,
    /// `$N` placeholders, `strpos`/`starts_with`, casts for text operators on numbers.
    Postgres,
}

impl Dialect {
    fn placeholder(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => format!("${n}"),
        }
    }
}

/// The columns of a token's metadata, in the order the backends read them.
pub(crate) const INFO_COLUMNS: &str =
    "token_id, sts_id, realm, principal, token_type, issued_ms, expires_ms";

/// One page of tokens matching `filter`, in token id order, after `after`: `page_size + 1`
/// rows at most, so that the caller knows whether another page follows.
pub(crate) fn page_query(
    dialect: Dialect,
    filter: &Filter,
    page_size: usize,
    after: Option<&str>,
) -> (String, Vec<SqlArg>) {
    let mut args = Vec::new();
    let mut sql = format!(
        "SELECT {INFO_COLUMNS} FROM tokens WHERE ({})",
        condition(dialect, filter, &mut args)
    );
    if let Some(a) = after {
        args.push(SqlArg::Text(a.to_owned()));
        let _ = write!(sql, " AND token_id > {}", dialect.placeholder(args.len()));
    }
    let limit = i64::try_from(page_size.saturating_add(1)).unwrap_or(i64::MAX);
    args.push(SqlArg::Int(limit));
    let _ = write!(
        sql,
        " ORDER BY token_id LIMIT {}",
        dialect.placeholder(args.len())
    );
    (sql, args)
}

fn condition(d: Dialect, f: &Filter, args: &mut Vec<SqlArg>) -> String {
    match f {
        Filter::True | Filter::Present(_) => "1 = 1".into(),
        Filter::False => "1 = 0".into(),
        Filter::Not(inner) => format!("NOT ({})", condition(d, inner, args)),
        Filter::And(parts) | Filter::Or(parts) => {
            let and = matches!(f, Filter::And(_));
            if parts.is_empty() {
                return if and { "1 = 1" } else { "1 = 0" }.into();
            }
            let sql: Vec<String> = parts
                .iter()
                .map(|p| format!("({})", condition(d, p, args)))
                .collect();
            sql.join(if and { " AND " } else { " OR " })
        }
        Filter::Cmp(field, op, value) => compare(d, *field, *op, value, args),
    }
}

fn compare(d: Dialect, field: Field, op: Op, value: &Value, args: &mut Vec<SqlArg>) -> String {
    let text_col = match field {
        Field::TokenId => Some("token_id"),
        Field::StsId => Some("sts_id"),
        Field::Principal => Some("principal"),
        Field::TokenType => Some("token_type"),
        Field::ExpirationTime => None,
    };
    let as_text = |v: &Value| match v {
        Value::Str(s) => s.clone(),
        Value::Num(n) => n.to_string(),
        Value::Bool(b) => u8::from(*b).to_string(),
    };
    let (col, arg) = match (text_col, op) {
        (Some(c), _) => (c, SqlArg::Text(as_text(value))),
        // `co` and `sw` on the expiration time look at its decimal digits.
        (None, Op::Co | Op::Sw) => (
            match d {
                Dialect::Sqlite => "CAST(expires_ms / 1000 AS TEXT)",
                Dialect::Postgres => "((expires_ms / 1000)::text)",
            },
            SqlArg::Text(as_text(value)),
        ),
        (None, _) => {
            let n = match value {
                Value::Num(n) => Some(*n),
                Value::Bool(b) => Some(i64::from(*b)),
                Value::Str(s) => s.trim().parse().ok(),
            };
            match n {
                Some(n) => ("(expires_ms / 1000)", SqlArg::Int(n)),
                // A text that is no number sorts after every number (as SQLite orders values).
                None => return if matches!(op, Op::Lt | Op::Le) { "1 = 1" } else { "1 = 0" }.into(),
            }
        }
    };
    args.push(arg);
    let p = d.placeholder(args.len());
    match (op, d) {
        (Op::Eq, _) => format!("{col} = {p}"),
        (Op::Co, Dialect::Sqlite) => format!("instr({col}, {p}) > 0"),
        (Op::Co, Dialect::Postgres) => format!("strpos({col}, {p}) > 0"),
        (Op::Sw, Dialect::Sqlite) => format!("substr({col}, 1, length({p})) = {p}"),
        (Op::Sw, Dialect::Postgres) => format!("starts_with({col}, {p})"),
        (Op::Gt, _) => format!("{col} > {p}"),
        (Op::Ge, _) => format!("{col} >= {p}"),
        (Op::Lt, _) => format!("{col} < {p}"),
        (Op::Le, _) => format!("{col} <= {p}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::filter::parse;

    #[test]
    fn values_are_bound_never_inlined() {
        let f = parse("/token_principal eq \"x') OR 1=1 --\" and /expiration_time gt 5").unwrap();
        let (sql, args) = page_query(Dialect::Postgres, &f, 10, Some("_a"));
        assert_eq!(
            sql,
            "SELECT token_id, sts_id, realm, principal, token_type, issued_ms, expires_ms FROM \
             tokens WHERE ((principal = $1) AND ((expires_ms / 1000) > $2)) AND token_id > $3 \
             ORDER BY token_id LIMIT $4"
        );
        assert_eq!(
            args,
            vec![
                SqlArg::Text("x') OR 1=1 --".into()),
                SqlArg::Int(5),
                SqlArg::Text("_a".into()),
                SqlArg::Int(11)
            ]
        );
        let (sql, _) = page_query(Dialect::Sqlite, &f, 10, None);
        assert!(sql.contains("(principal = ?1) AND ((expires_ms / 1000) > ?2)"), "{sql}");
        assert!(sql.ends_with("LIMIT ?3"), "{sql}");
    }

    #[test]
    fn a_text_that_is_no_number_sorts_after_every_expiration_time() {
        let lt = parse("/expiration_time lt 'abc'").unwrap();
        let gt = parse("/expiration_time gt 'abc'").unwrap();
        for d in [Dialect::Sqlite, Dialect::Postgres] {
            assert!(page_query(d, &lt, 1, None).0.contains("WHERE (1 = 1)"));
            assert!(page_query(d, &gt, 1, None).0.contains("WHERE (1 = 0)"));
        }
    }
}

//! Issued tokens on PostgreSQL. Inserts go through one writer thread with group commit: every
//! insert waiting when a transaction starts joins it as one multi-row insert (arrays through
//! `unnest`, a statement prepared once), so a group costs one round trip and one synchronous
//! commit however many tokens it holds. Each job still succeeds or fails on its own (a repeated token id fails its
//! job only).

use std::collections::HashSet;
use std::sync::mpsc;

use postgres::types::ToSql;

use super::connect::Connector;
use super::PgStore;
use super::pool::{PgConn, describe, is_connection_error, unavailable};
use crate::store::filter::Filter;
use crate::store::group::Grouper;
use crate::store::sql::{Dialect, SqlArg, page_query};
use crate::store::{Durable, Page, StoreError, TokenInfo, TokenRecord, TokenStore};

/// How long a group stays open for more inserts while issuers are concurrent. Measured with
/// pgbench on 2 cores: PostgreSQL CPU per token 0.34 ms in groups of 1, 0.21 ms in groups of
/// 2, 0.09 ms in groups of 8 (a synchronous commit costs ~0.25 ms of server CPU).
const LINGER: std::time::Duration = std::time::Duration::from_millis(2);

type Ack = tokio::sync::oneshot::Sender<Result<(), StoreError>>;
pub(super) type Job = (Vec<TokenRecord>, Ack);

/// The columns of a group insert, and the group's rows as arrays (one per column).
macro_rules! group_rows {
    () => {
        "(token_id, sts_id, realm, principal, token_type, issued_ms, expires_ms, token) \
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
     $6::int8[], $7::int8[], $8::text[])"
    };
}
/// The common case: a group of new ids in one plain insert, one round trip and one (implicit)
/// transaction. A plain insert checks each id once, in the primary key as it adds the entry;
/// `ON CONFLICT` would probe the index first and insert speculatively.
const INSERT_ALL: &str = concat!("INSERT INTO tokens ", group_rows!());
/// After a taken id refused the whole group: the new ones, in a transaction with the undo of
/// jobs that were only partly new.
const INSERT_NEW: &str = concat!(
    "INSERT INTO tokens ",
    group_rows!(),
    " ON CONFLICT (token_id) DO NOTHING RETURNING token_id"
);
const DELETE_IDS: &str = "DELETE FROM tokens WHERE token_id = ANY($1)";

pub(super) fn writer_loop(connector: Connector, rx: mpsc::Receiver<Job>) {
    let mut conn: Option<PgConn> = None;
    let mut grouper = Grouper::new(LINGER);
    while let Some(group) = grouper.next(&rx) {
        let results = commit_with_retry(&connector, &mut conn, &group);
        for ((_, ack), r) in group.into_iter().zip(results) {
            let _ = ack.send(r);
        }
    }
}

/// Commits on the writer's connection; a connection that broke since its last use (a
/// restarted server) is replaced once. Retrying after an unknown commit outcome is safe: a
/// group that did commit fails the second time on its own ids, and is only reported failed.
fn commit_with_retry(
    connector: &Connector,
    conn: &mut Option<PgConn>,
    group: &[Job],
) -> Vec<Result<(), StoreError>> {
    let fail_all = |e: StoreError| -> Vec<Result<(), StoreError>> {
        group.iter().map(|_| Err(copy(&e))).collect()
    };
    for _ in 0..2 {
        let reused = conn.as_ref().is_some_and(|c| !c.client.is_closed());
        let c = match conn {
            Some(c) if reused => c,
            _ => match connector.connect() {
                Ok(client) => conn.insert(PgConn::new(client)),
                Err(e) => {
                    *conn = None;
                    return fail_all(unavailable(&e));
                }
            },
        };
        match commit_group(c, group) {
            Ok(results) => return results,
            Err(e) if is_connection_error(&e) => {
                *conn = None;
                if !reused {
                    return fail_all(unavailable(&e));
                }
            }
            Err(e) => return fail_all(StoreError::Db(describe(&e))),
        }
    }
    fail_all(StoreError::Unavailable("database connection lost".into()))
}

fn copy(e: &StoreError) -> StoreError {
    match e {
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        other => StoreError::Db(other.to_string()),
    }
}

fn commit_group(
    c: &mut PgConn,
    group: &[Job],
) -> Result<Vec<Result<(), StoreError>>, postgres::Error> {
    // A job that repeats an id (its own, or an earlier job's in this group) fails up front:
    // the database cannot tell which of two equal rows in one insert was refused.
    let mut seen = HashSet::new();
    let mut candidate = Vec::with_capacity(group.len());
    for (tokens, _) in group {
        let ok = tokens.iter().all(|t| seen.insert(t.token_id.as_str()));
        candidate.push(ok);
    }
    let n = seen.len();
    let mut cols: [Vec<&str>; 6] = std::array::from_fn(|_| Vec::with_capacity(n));
    let mut issued = Vec::with_capacity(n);
    let mut expires = Vec::with_capacity(n);
    for ((tokens, _), _) in group.iter().zip(&candidate).filter(|(_, ok)| **ok) {
        for t in tokens {
            let [id, sts, realm, who, ty, text] = &mut cols;
            id.push(&t.token_id);
            sts.push(&t.sts_id);
            realm.push(&t.realm);
            who.push(&t.principal);
            ty.push(&t.token_type);
            text.push(&t.token);
            issued.push(t.issued_ms);
            expires.push(t.expires_ms);
        }
    }
    let [ids, sts, realm, who, ty, text] = &cols;
    let params: [&(dyn ToSql + Sync); 8] = [ids, sts, realm, who, ty, &issued, &expires, text];
    if candidate.iter().all(|ok| *ok) && !ids.is_empty() {
        let all = c.stmt(INSERT_ALL)?;
        match c.client.execute(&all, &params) {
            Ok(_) => return Ok(group.iter().map(|_| Ok(())).collect()),
            // An id is taken (another node's, or a retried group's): nothing was stored.
            Err(e) if e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION) => {}
            Err(e) => return Err(e),
        }
    }
    let ins = c.stmt(INSERT_NEW)?;
    let del = c.stmt(DELETE_IDS)?;
    let mut tx = c.client.transaction()?;
    let rows = tx.query(&ins, &params)?;
    let mut inserted = HashSet::with_capacity(rows.len());
    for r in &rows {
        inserted.insert(r.try_get::<_, String>(0)?);
    }
    let mut results = Vec::with_capacity(group.len());
    let mut undo: Vec<&str> = Vec::new();
    for ((tokens, _), ok) in group.iter().zip(&candidate) {
        if *ok && tokens.iter().all(|t| inserted.contains(&t.token_id)) {
            results.push(Ok(()));
        } else {
            if *ok {
                undo.extend(
                    tokens
                        .iter()
                        .filter(|t| inserted.contains(&t.token_id))
                        .map(|t| t.token_id.as_str()),
                );
            }
            results.push(Err(StoreError::Db("token id already stored".into())));
        }
    }
    if !undo.is_empty() {
        tx.execute(&del, &[&undo])?;
    }
    tx.commit()?;
    Ok(results)
}

fn info_row(r: &postgres::Row) -> Result<TokenInfo, postgres::Error> {
    Ok(TokenInfo {
        token_id: r.try_get(0)?,
        sts_id: r.try_get(1)?,
        realm: r.try_get(2)?,
        principal: r.try_get(3)?,
        token_type: r.try_get(4)?,
        issued_ms: r.try_get(5)?,
        expires_ms: r.try_get(6)?,
    })
}

impl TokenStore for PgStore {
    fn insert_tokens_deferred(&self, tokens: &[TokenRecord]) -> Result<Durable, StoreError> {
        let (ack, durable) = Durable::channel();
        self.writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .send((tokens.to_vec(), ack))
            .map_err(|_| StoreError::Db("the token writer has stopped".into()))?;
        Ok(durable)
    }

    fn get_token(&self, token_id: &str) -> Result<Option<TokenRecord>, StoreError> {
        // The text is in the token's row, or, for a token stored before migration 011 or by a
        // node of the previous version, in token_bodies.
        const SQL: &str = "SELECT t.token_id, t.sts_id, t.realm, t.principal, t.token_type, \
             t.issued_ms, t.expires_ms, COALESCE(t.token, b.token) FROM tokens t \
             LEFT JOIN token_bodies b ON b.token_id = t.token_id WHERE t.token_id = $1";
        self.pool.run(|c| {
            let st = c.stmt(SQL)?;
            let Some(r) = c.client.query_opt(&st, &[&token_id])? else {
                return Ok(None);
            };
            let Some(token) = r.try_get::<_, Option<String>>(7)? else {
                return Ok(None);
            };
            let i = info_row(&r)?;
            Ok(Some(TokenRecord {
                token_id: i.token_id,
                sts_id: i.sts_id,
                realm: i.realm,
                principal: i.principal,
                token_type: i.token_type,
                issued_ms: i.issued_ms,
                expires_ms: i.expires_ms,
                token,
            }))
        })
    }

    fn delete_token(&self, token_id: &str) -> Result<bool, StoreError> {
        const SQL: &str = "WITH b AS (DELETE FROM token_bodies WHERE token_id = $1) \
             DELETE FROM tokens WHERE token_id = $1";
        self.pool.run(|c| {
            let st = c.stmt(SQL)?;
            Ok(c.client.execute(&st, &[&token_id])? > 0)
        })
    }

    fn query_tokens(
        &self,
        filter: &Filter,
        page_size: usize,
        after: Option<&str>,
    ) -> Result<Page, StoreError> {
        let (sql, args) = page_query(Dialect::Postgres, filter, page_size, after);
        let params: Vec<&(dyn ToSql + Sync)> = args
            .iter()
            .map(|a| match a {
                SqlArg::Text(s) => s as &(dyn ToSql + Sync),
                SqlArg::Int(n) => n as &(dyn ToSql + Sync),
            })
            .collect();
        let mut items = self.pool.run(|c| {
            let st = c.generated_stmt(&sql)?;
            c.client
                .query(&st, &params)?
                .iter()
                .map(info_row)
                .collect::<Result<Vec<_>, _>>()
        })?;
        let next = if items.len() > page_size {
            items.truncate(page_size);
            items.last().map(|t| t.token_id.clone())
        } else {
            None
        };
        Ok(Page { items, next })
    }

    fn delete_expired_tokens(&self, now_ms: i64, batch: usize) -> Result<usize, StoreError> {
        let batch = i64::try_from(batch).unwrap_or(i64::MAX);
        // One statement: the victims are chosen once; texts stored before migration 011 (in
        // token_bodies) go with them.
        const SQL: &str = "WITH victims AS (DELETE FROM tokens WHERE token_id IN \
             (SELECT token_id FROM tokens WHERE expires_ms <= $1 \
              ORDER BY expires_ms, token_id LIMIT $2) RETURNING token_id), \
             bodies AS (DELETE FROM token_bodies WHERE token_id IN \
             (SELECT token_id FROM victims)) SELECT count(*) FROM victims";
        let n: i64 = self.pool.run(|c| {
            let st = c.stmt(SQL)?;
            c.client.query_one(&st, &[&now_ms, &batch])?.try_get(0)
        })?;
        Ok(usize::try_from(n).unwrap_or(0))
    }
}

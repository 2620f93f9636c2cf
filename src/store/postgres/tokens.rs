//! Issued tokens on PostgreSQL. Inserts go through one writer thread with group commit: every
//! insert waiting when a transaction starts joins it as one multi-row insert (arrays through
//! `unnest`), so a batch costs a few round trips and one synchronous commit however many
//! tokens it holds. Each job still succeeds or fails on its own (a repeated token id fails its
//! job only).

use std::collections::HashSet;
use std::sync::mpsc;

use postgres::types::ToSql;

use super::connect::Connector;
use super::PgStore;
use super::pool::{PgConn, describe, is_connection_error, unavailable};
use crate::store::filter::Filter;
use crate::store::sql::{Dialect, SqlArg, page_query};
use crate::store::{Durable, Page, StoreError, TokenInfo, TokenRecord, TokenStore};

/// Inserts joining one commit, at most.
const MAX_GROUP: usize = 1024;
/// How long a group stays open for more inserts while issuers are concurrent. Measured with
/// pgbench on 2 cores: PostgreSQL CPU per token 0.34 ms in groups of 1, 0.21 ms in groups of
/// 2, 0.09 ms in groups of 8 (a synchronous commit costs ~0.25 ms of server CPU).
const LINGER: std::time::Duration = std::time::Duration::from_millis(2);

type Ack = tokio::sync::oneshot::Sender<Result<(), StoreError>>;
pub(super) type Job = (Vec<TokenRecord>, Ack);

const INSERT_INFO: &str = "INSERT INTO tokens \
     (token_id, sts_id, realm, principal, token_type, issued_ms, expires_ms) \
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
     $6::int8[], $7::int8[]) ON CONFLICT (token_id) DO NOTHING RETURNING token_id";
// A body left behind without its token (nothing writes one, but a hand-edited database might
// hold one) is replaced: the token row just inserted is this body's owner.
const INSERT_BODIES: &str = "INSERT INTO token_bodies (token_id, token) \
     SELECT * FROM unnest($1::text[], $2::text[]) \
     ON CONFLICT (token_id) DO UPDATE SET token = excluded.token";
const DELETE_IDS: &str = "DELETE FROM tokens WHERE token_id = ANY($1)";
/// The common case in one round trip and one (implicit) transaction: a group whose ids are all
/// new is stored whole, tokens and bodies; if any id is already stored nothing is inserted,
/// and the careful path below sorts the group out job by job.
const INSERT_ALL_OR_NOTHING: &str = "WITH input AS (SELECT * FROM unnest($1::text[], \
     $2::text[], $3::text[], $4::text[], $5::text[], $6::int8[], $7::int8[], $8::text[]) \
     AS i (token_id, sts_id, realm, principal, token_type, issued_ms, expires_ms, token)), \
     ins AS (INSERT INTO tokens \
     (token_id, sts_id, realm, principal, token_type, issued_ms, expires_ms) \
     SELECT token_id, sts_id, realm, principal, token_type, issued_ms, expires_ms FROM input \
     WHERE NOT EXISTS (SELECT 1 FROM tokens WHERE token_id = ANY($1)) \
     ON CONFLICT (token_id) DO NOTHING \
     RETURNING token_id), \
     bodies AS (INSERT INTO token_bodies (token_id, token) SELECT i.token_id, i.token \
     FROM input i JOIN ins ON ins.token_id = i.token_id COLLATE \"C\" \
     ON CONFLICT (token_id) DO UPDATE SET token = excluded.token) \
     SELECT token_id FROM ins";
/// Takes back what the one-round-trip insert stored of a group it could not store whole
/// (another node inserted one of its ids between the check and the insert).
const DELETE_WITH_BODIES: &str = "WITH t AS (DELETE FROM tokens WHERE token_id = ANY($1)) \
     DELETE FROM token_bodies WHERE token_id = ANY($1)";


pub(super) fn writer_loop(connector: Connector, rx: mpsc::Receiver<Job>) {
    let mut conn: Option<PgConn> = None;
    let mut concurrent = false;
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        // While issuers are concurrent (the last group held several jobs), wait a moment for
        // more: a commit costs PostgreSQL about three times the CPU of a token it stores, and
        // a reply waiting up to LINGER more is nothing next to the queueing of a loaded node. A lone
        // request (the last group was one job) commits at once.
        let linger_until = concurrent.then(|| std::time::Instant::now() + LINGER);
        while group.len() < MAX_GROUP {
            let next = match linger_until {
                None => rx.try_recv().ok(),
                Some(until) => until
                    .checked_duration_since(std::time::Instant::now())
                    .and_then(|left| rx.recv_timeout(left).ok())
                    .or_else(|| rx.try_recv().ok()),
            };
            match next {
                Some(job) => group.push(job),
                None => break,
            }
        }
        concurrent = group.len() > 1;
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
    let mut cols: [Vec<&str>; 5] = Default::default();
    let mut issued = Vec::new();
    let mut expires = Vec::new();
    for ((tokens, _), _) in group.iter().zip(&candidate).filter(|(_, ok)| **ok) {
        for t in tokens {
            let [id, sts, realm, who, ty] = &mut cols;
            id.push(&t.token_id);
            sts.push(&t.sts_id);
            realm.push(&t.realm);
            who.push(&t.principal);
            ty.push(&t.token_type);
            issued.push(t.issued_ms);
            expires.push(t.expires_ms);
        }
    }
    let [ids, sts, realm, who, ty] = &cols;
    if candidate.iter().all(|ok| *ok) && !ids.is_empty() {
        let bodies: Vec<&str> = group
            .iter()
            .flat_map(|(tokens, _)| tokens.iter().map(|t| t.token.as_str()))
            .collect();
        let all = c.stmt(INSERT_ALL_OR_NOTHING)?;
        let rows = c.client.query(
            &all,
            &[ids, sts, realm, who, ty, &issued, &expires, &bodies],
        )?;
        if rows.len() == ids.len() {
            return Ok(group.iter().map(|_| Ok(())).collect());
        }
        if !rows.is_empty() {
            let stored: Vec<String> = rows
                .iter()
                .map(|r| r.try_get::<_, String>(0))
                .collect::<Result<_, _>>()?;
            let undo = c.stmt(DELETE_WITH_BODIES)?;
            c.client.execute(&undo, &[&stored])?;
        }
    }
    let ins = c.stmt(INSERT_INFO)?;
    let bodies = c.stmt(INSERT_BODIES)?;
    let del = c.stmt(DELETE_IDS)?;
    let mut tx = c.client.transaction()?;
    let rows = tx.query(&ins, &[ids, sts, realm, who, ty, &issued, &expires])?;
    let mut inserted = HashSet::with_capacity(rows.len());
    for r in &rows {
        inserted.insert(r.try_get::<_, String>(0)?);
    }
    let mut results = Vec::with_capacity(group.len());
    let mut undo: Vec<&str> = Vec::new();
    let (mut body_ids, mut body_texts): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    for ((tokens, _), ok) in group.iter().zip(&candidate) {
        let stored = *ok && tokens.iter().all(|t| inserted.contains(&t.token_id));
        if stored {
            for t in tokens {
                body_ids.push(&t.token_id);
                body_texts.push(&t.token);
            }
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
    if !body_ids.is_empty() {
        tx.execute(&bodies, &[&body_ids, &body_texts])?;
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
        const SQL: &str = "SELECT t.token_id, t.sts_id, t.realm, t.principal, t.token_type, \
             t.issued_ms, t.expires_ms, b.token FROM tokens t \
             JOIN token_bodies b ON b.token_id = t.token_id WHERE t.token_id = $1";
        self.pool.run(|c| {
            let st = c.stmt(SQL)?;
            let Some(r) = c.client.query_opt(&st, &[&token_id])? else {
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
                token: r.try_get(7)?,
            }))
        })
    }

    fn delete_token(&self, token_id: &str) -> Result<bool, StoreError> {
        self.pool.run(|c| {
            let mut tx = c.client.transaction()?;
            tx.execute(
                "DELETE FROM token_bodies WHERE token_id = $1",
                &[&token_id],
            )?;
            let n = tx.execute("DELETE FROM tokens WHERE token_id = $1", &[&token_id])?;
            tx.commit()?;
            Ok(n > 0)
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
            c.client
                .query(sql.as_str(), &params)?
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
        // One statement: the victims are chosen once, their bodies go with them.
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

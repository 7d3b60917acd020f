//! Every sealed value we store, in one list ([`SEALED`]), and the queries `admin rotate-key`
//! re-seals them with.
//!
//! A table that stores a sealed value adds ONE entry to [`SEALED`] (the sync store's tables
//! too). The admin tests compare the list with every `*_sealed` column of the schema, so a
//! sealed column without an entry fails them.
//!
//! These are the only queries not checked at compile time: their table and column names come
//! from the entry (never from input), and the tests run every entry against the real schema.

use sqlx::{AssertSqlSafe, PgConnection, PgPool};

use super::{events, server_token, sync, users};

/// Where a sealed value lives, and how its associated data is made.
pub struct SealedColumn {
    pub table: &'static str,
    /// The table's primary key (one column); batches go in its order.
    pub id: &'static str,
    /// `id`'s SQL type.
    pub id_type: &'static str,
    pub column: &'static str,
    /// The column the associated data names besides the id (the id itself when nothing else).
    pub owner: &'static str,
    /// The associated data the value is sealed with, from the row's id and owner as text.
    pub associated: fn(id: &str, owner: &str) -> String,
}

impl SealedColumn {
    /// `app_users.email_sealed`.
    pub fn name(&self) -> String {
        format!("{}.{}", self.table, self.column)
    }
}

pub const SEALED: &[SealedColumn] = &[
    SealedColumn {
        table: "app_users",
        id: "app_user_id",
        id_type: "text",
        column: "email_sealed",
        owner: "app_user_id",
        associated: |id, _| users::sealed_column(id, "email"),
    },
    SealedColumn {
        table: "app_users",
        id: "app_user_id",
        id_type: "text",
        column: "mobile_sealed",
        owner: "app_user_id",
        associated: |id, _| users::sealed_column(id, "mobile"),
    },
    SealedColumn {
        table: "server_token",
        id: "id",
        id_type: "smallint",
        column: "token_sealed",
        owner: "id",
        associated: |_, _| server_token::TOKEN_AD.to_owned(),
    },
    SealedColumn {
        table: "events",
        id: "id",
        id_type: "bigint",
        column: "payload_sealed",
        owner: "app_user_id",
        associated: |_, user| events::payload_ad(user),
    },
    SealedColumn {
        table: "outbox",
        id: "event_id",
        id_type: "bigint",
        column: "body_sealed",
        owner: "event_id",
        associated: |id, _| events::outbox_ad(id.parse().expect("a bigint id")),
    },
    SealedColumn {
        table: "sync_changes",
        id: "id",
        id_type: "bigint",
        column: "body_sealed",
        // The associated data names the user and the change's sequence number.
        owner: "app_user_id || '/' || seq",
        associated: |_, owner| {
            let (user, seq) = owner.rsplit_once('/').expect("user/seq");
            sync::change_ad(user, seq.parse().expect("a bigint seq"))
        },
    },
];

/// One stored sealed value.
#[derive(sqlx::FromRow)]
pub struct SealedValue {
    pub id: String,
    pub owner: String,
    pub sealed: Vec<u8>,
}

/// How many values the column holds.
pub async fn count(pool: &PgPool, c: &SealedColumn) -> Result<i64, sqlx::Error> {
    let sql = format!(
        "select count(*) from {} where {} is not null",
        c.table, c.column
    );
    sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(pool).await
}

/// Up to `limit` values after the row `after` (from the first when `None`), in id order.
pub async fn batch(
    pool: &PgPool,
    c: &SealedColumn,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<SealedValue>, sqlx::Error> {
    let sql = format!(
        "select {id}::text as id, {owner}::text as owner, {column} as sealed from {table}
          where {column} is not null and ($1::text is null or {table}.{id} > cast($1 as {ty}))
          order by {table}.{id} limit $2",
        id = c.id,
        owner = c.owner,
        column = c.column,
        table = c.table,
        ty = c.id_type,
    );
    sqlx::query_as(AssertSqlSafe(sql))
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await
}

/// Replaces the row's value `old` by `new`; `false` when the row no longer holds `old` (the
/// app wrote it meanwhile, under the current key, or deleted it), which is left as it is.
pub async fn replace(
    tx: &mut PgConnection,
    c: &SealedColumn,
    id: &str,
    old: &[u8],
    new: &[u8],
) -> Result<bool, sqlx::Error> {
    let sql = format!(
        "update {table} set {column} = $3 where {id} = cast($1 as {ty}) and {column} = $2",
        table = c.table,
        column = c.column,
        id = c.id,
        ty = c.id_type,
    );
    let done = sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .bind(old)
        .bind(new)
        .execute(tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

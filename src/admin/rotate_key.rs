//! `admin rotate-key`: every sealed value re-sealed with the current data key.

use std::io::Write;

use super::{Context, Failure};
use crate::db::sealed::{self, SEALED, SealedColumn};

/// At most this many unopenable values are named; the count is always given.
const NAMED_FAILURES: usize = 50;

/// Re-seal every sealed value with the first key of DATA_ENCRYPTION_KEY.
///
/// Sealed values are personal data, the shared Basiq server token, stored events and
/// deliveries to APP_WEBHOOK_URL.
///
/// To rotate: put the new key first, `DATA_ENCRYPTION_KEY=new,old`, deploy, run this, then
/// drop the old key. It works in batches, each its own transaction, while the service runs;
/// values already under the current key are skipped, so it is safe to interrupt and run again.
/// A value no configured key opens is reported (column and row id, never the value) and makes
/// it exit non-zero.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Rows per batch (one transaction each).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(i64).range(1..=10_000))]
    pub batch_size: i64,
    /// Stops after this many batches, as an interruption would (for tests).
    #[arg(long, hide = true)]
    pub max_batches: Option<usize>,
}

/// What a run found in one column.
#[derive(Default)]
struct Tally {
    checked: i64,
    resealed: i64,
    current: i64,
    /// Rewritten by the service meanwhile (under the current key): left as they are.
    changed: i64,
}

pub async fn run(context: &Context, args: &Args, out: &mut impl Write) -> Result<(), Failure> {
    let mut batches = 0;
    let mut unopenable = Vec::new();
    for column in SEALED {
        let total = sealed::count(&context.pool, column).await?;
        let mut tally = Tally::default();
        let mut after: Option<String> = None;
        loop {
            if args.max_batches.is_some_and(|max| batches >= max) {
                writeln!(out, "stopped after {batches} batches; run again to go on")?;
                return Ok(());
            }
            let rows =
                sealed::batch(&context.pool, column, after.as_deref(), args.batch_size).await?;
            let Some(last) = rows.last() else { break };
            after = Some(last.id.clone());
            batches += 1;
            reseal_batch(context, column, &rows, &mut tally, &mut unopenable).await?;
            writeln!(
                out,
                "{}: {}/{total} checked, {} re-sealed",
                column.name(),
                tally.checked,
                tally.resealed
            )?;
        }
        writeln!(
            out,
            "{}: done, {}/{total} re-sealed, {} already under the current key{}",
            column.name(),
            tally.resealed,
            tally.current,
            match tally.changed {
                0 => String::new(),
                n => format!(", {n} rewritten meanwhile by the service"),
            }
        )?;
    }
    if !unopenable.is_empty() {
        let count = unopenable.len();
        unopenable.truncate(NAMED_FAILURES);
        return Err(Failure::Failed(anyhow::anyhow!(
            "{count} sealed values cannot be opened with any key of DATA_ENCRYPTION_KEY (they \
             are left as they are; add the key they were sealed with and run again):\n  {}",
            unopenable.join("\n  ")
        )));
    }
    writeln!(
        out,
        "every sealed value is under the current key: the older keys can be removed from \
         DATA_ENCRYPTION_KEY"
    )?;
    Ok(())
}

/// Re-seals the batch's values that are not under the current key, in one transaction.
async fn reseal_batch(
    context: &Context,
    column: &SealedColumn,
    rows: &[sealed::SealedValue],
    tally: &mut Tally,
    unopenable: &mut Vec<String>,
) -> Result<(), Failure> {
    let sealer = &context.sealer;
    let mut tx = context.pool.begin().await?;
    for row in rows {
        tally.checked += 1;
        if sealer.is_current(&row.sealed) {
            tally.current += 1;
            continue;
        }
        let associated = (column.associated)(&row.id, &row.owner);
        match sealer.open(&row.sealed, &associated) {
            Ok(plain) => {
                let resealed = sealer.seal(&plain, &associated);
                if sealed::replace(&mut tx, column, &row.id, &row.sealed, &resealed).await? {
                    tally.resealed += 1;
                } else {
                    tally.changed += 1;
                }
            }
            Err(e) => unopenable.push(format!("{} row {}: {e}", column.name(), row.id)),
        }
    }
    tx.commit().await?;
    Ok(())
}

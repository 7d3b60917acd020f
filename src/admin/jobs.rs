//! `admin jobs --stuck`: jobs that should have finished by now.

use std::{io::Write, time::Duration};

use chrono::Utc;

use super::{Context, Failure, age};
use crate::db;

/// List jobs that have not settled though they are older than --older-than.
///
/// A job is stuck when the job watcher still checks it (with back-off) or gave up on it while
/// pending or in progress (past Basiq's 7-day window). Shows ids, the app user (the JWT's
/// `sub`), origin, status, checks made and age; never personal data.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only jobs that have not settled (the only listing there is, for now).
    #[arg(long, required = true)]
    pub stuck: bool,
    /// How old an unsettled job must be to be listed (`15m`, `2h`, `1d`). A consent or
    /// refresh job usually settles within a few minutes.
    #[arg(long, default_value = "15m", value_parser = humantime::parse_duration)]
    pub older_than: Duration,
}

pub async fn run(context: &Context, args: &Args, out: &mut impl Write) -> Result<(), Failure> {
    let jobs = db::jobs::stuck(&context.pool, args.older_than).await?;
    let threshold = humantime::format_duration(args.older_than);
    if jobs.is_empty() {
        writeln!(out, "no stuck jobs (unsettled and older than {threshold})")?;
        return Ok(());
    }
    writeln!(
        out,
        "stuck jobs (unsettled and older than {threshold}): {}, oldest first",
        jobs.len()
    )?;
    let now = Utc::now();
    for job in &jobs {
        let watched = match job.next_check_at {
            Some(at) if at > now => format!("next check in {}", age(at - now)),
            Some(_) => "check due".to_owned(),
            None => "no longer watched".to_owned(),
        };
        writeln!(
            out,
            "{}  user={}  origin={}  status={}  connection={}  checks={}  age={}  {watched}",
            job.job_id,
            job.app_user_id,
            job.origin,
            job.status,
            job.connection_id.as_deref().unwrap_or("-"),
            job.checks,
            age(now - job.created_at),
        )?;
    }
    Ok(())
}

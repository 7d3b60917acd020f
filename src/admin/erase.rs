//! `admin erase <sub>`: what `DELETE /v1/me` does, for a user who cannot call it.

use std::io::Write;

use super::{Context, Failure};
use crate::db;

/// Erase an app user (needs --yes): what DELETE /v1/me does.
///
/// Deletes their Basiq user (its connections and data go with it), then
/// every row stored about them, and tells their streams and the company's backend
/// (`user.erased`). The same erasure as `DELETE /v1/me`. It cannot be undone, so it asks for
/// --yes.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The app user: their JWT's `sub`.
    pub sub: String,
    /// Erase without asking (the command never asks interactively).
    #[arg(long)]
    pub yes: bool,
}

impl Args {
    pub(super) fn check(&self) -> Result<(), Failure> {
        if self.yes {
            return Ok(());
        }
        Err(Failure::Usage(format!(
            "erasing user {} deletes their Basiq user and everything stored about them, and \
             cannot be undone; run again with --yes to erase",
            self.sub
        )))
    }
}

pub async fn run(context: &Context, args: &Args, out: &mut impl Write) -> Result<(), Failure> {
    let Some(user) = db::users::find(&context.pool, &args.sub).await? else {
        return Err(Failure::Failed(anyhow::anyhow!(
            "no user {} is stored (nothing erased; check the sub)",
            args.sub
        )));
    };
    context
        .eraser()
        .erase(&args.sub, user.basiq_user_id.as_deref())
        .await
        .map_err(anyhow::Error::new)?;
    match &user.basiq_user_id {
        Some(id) => writeln!(
            out,
            "erased user {}: Basiq user {id} deleted, stored rows deleted",
            args.sub
        )?,
        None => writeln!(
            out,
            "erased user {}: no Basiq user had been created; stored rows deleted",
            args.sub
        )?,
    }
    Ok(())
}

//! Erasing an app user: `DELETE /v1/me` and `basiq-bff admin erase` both come here, so the two
//! can never drift apart.

use sqlx::PgPool;

use crate::{
    basiq::{BasiqClient, BasiqError},
    db,
    events::{Change, Events, UserErased},
    user_cache::UserCache,
};

/// What erasure needs.
pub struct Eraser<'a> {
    pub pool: &'a PgPool,
    pub basiq: &'a BasiqClient,
    pub users: &'a UserCache,
    pub events: &'a Events,
}

#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    /// Basiq could not delete its user; nothing local was deleted, so erasure can be retried.
    #[error("deleting the Basiq user: {0}")]
    Basiq(#[from] BasiqError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

impl Eraser<'_> {
    /// Deletes the Basiq user `basiq_user_id` (its connections and data go with it; one
    /// already gone is fine), then every local row of `app_user_id`, then publishes
    /// `user.erased` (its streams, and the company's backend, learn it last). Safe to repeat.
    #[tracing::instrument(skip_all, fields(user_id = app_user_id, basiq_user_id))]
    pub async fn erase(
        &self,
        app_user_id: &str,
        basiq_user_id: Option<&str>,
    ) -> Result<(), EraseError> {
        if let Some(basiq_user_id) = basiq_user_id {
            tracing::Span::current().record("basiq_user_id", basiq_user_id);
            match self.basiq.delete_user(basiq_user_id).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() => tracing::info!("the Basiq user was already gone"),
                Err(e) => return Err(e.into()),
            }
        }
        db::users::delete(self.pool, app_user_id).await?;
        self.users.forget(app_user_id);
        let erased = Change::Erased(UserErased {
            user_id: app_user_id.to_owned(),
        });
        self.events.publish(app_user_id, &erased).await?;
        tracing::info!("user erased");
        Ok(())
    }
}

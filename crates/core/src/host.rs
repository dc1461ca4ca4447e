//! What the core asks of the OBS layer, which implements these traits: the core never calls
//! into OBS or its windows itself.

use crate::messages::Message;

/// Where the streamer is told about a problem found while live (the OBS layer shows it inside
/// OBS). Called from background threads.
pub trait Alerts: Send + Sync + std::fmt::Debug {
    /// Shows `message` to the streamer.
    fn alert(&self, message: Message);
}

/// Alerts kept in the [status](crate::status::StatusBoard) only: for a core used without a
/// window (tests, tools).
#[derive(Debug)]
pub struct StatusOnly;

impl Alerts for StatusOnly {
    fn alert(&self, _message: Message) {}
}

/// What the core may ask of OBS about one live stream.
pub trait StreamControl: Send + Sync {
    /// Stop streaming and start again, which resolves a fresh target.
    fn restart(&self);

    /// Stop streaming, as Stop Streaming does, because the stream cannot go on (the platform
    /// refused its token while live); the core tells the streamer why through [`Alerts`].
    fn stop(&self);
}

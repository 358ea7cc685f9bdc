//! The contract model, loaders and matching engine.
//!
//! - [`model`]: what a consumer relies on (Pact's model, V4 shape, plus NATS subject and
//!   payload schema on messages).
//! - [`pact`]: Pact files and matching-rule layouts to and from the model.
//! - [`format`]: parley's own contract format (YAML or JSON) to the model.
//! - [`load`]: files and folders of either kind, recognised by content.
//! - [`matching`]: does an actual request, response or message satisfy the contract?
//! - [`schema`]: JSON Schema validation of payloads.
//! - [`render`]: the canonical rendering that snapshots and reviews read.
//! - [`diff`]: what changed between two versions, breaking or safe.
//!
//! Architecture invariant: this crate knows nothing about networks, NATS, OTLP or terminals.
//! It decides whether an actual request, response or message satisfies a contract, and every
//! error it returns carries a location.

pub mod diff;
pub mod format;
pub mod load;
pub mod matching;
pub mod model;
pub mod pact;
pub mod render;
pub mod schema;

pub use model::*;

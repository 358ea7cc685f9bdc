//! parley's runtime side: the parts that talk to real infrastructure.
//!
//! - [`nats`]: a private `nats-server` with JetStream per run or per test.
//! - [`checks`]: trace checks on the spans of one request.
//! - [`otlp`]: the embedded OTLP receiver (gRPC and HTTP) and the in-memory trace store.
//! - [`results`]: the result model every check produces; [`report`] renders it.
//! - [`scenario`]: drive a system under one correlation ID and assert on its traces.
//! - [`verify`]: provider verification, HTTP and events, against the real provider.
//!
//! Architecture invariant: this crate never prints to a terminal and never decides exit codes;
//! it returns typed results and errors that the `parley` binary renders.

pub mod checks;
pub mod lint;
pub mod mock;
pub mod nats;
pub mod otlp;
pub mod report;
pub mod requests;
pub mod results;
pub mod scenario;
pub mod verify;

//! The sample services: gateway, order, payment, inventory, shipping and notification.
//!
//! Together they show every communication pattern parley checks (sync REST with timeouts,
//! retries and a circuit breaker; an API gateway; JetStream publish/consume with durable
//! consumers, idempotency and a DLQ; an event store; a saga by orchestration and by
//! choreography), every hop traced with W3C trace context and a correlation ID. Each service
//! takes `--defect NAME` to break exactly one thing (see [`Defect`]).
//!
//! Shared mechanisms live in one place each and every service stacks them:
//! [`telemetry`] (tracing + OTLP), [`propagation`] (trace context and correlation ID over HTTP
//! and NATS headers), [`http_server`] (the server-side layer and problem+json errors),
//! [`http_client`] (timeout, retry with backoff and jitter, circuit breaker), [`messaging`]
//! (JetStream topology, traced publish, durable consumers with DLQ).

pub mod breaker;
pub mod config;
pub mod contracts;
pub mod defect;
pub mod domain;
pub mod http_client;
pub mod http_server;
pub mod idempotency;
pub mod messaging;
pub mod propagation;
pub mod scenarios;
pub mod services;
pub mod stack;
pub mod telemetry;

pub use config::{SampleArgs, run};
pub use defect::{Defect, Service};

/// `architecture.yaml`: the samples as `parley lint` reads them, with the probes declared on
/// their consumers; built in so that `parley demo` needs no files (parse it with
/// `parley_harness::lint::arch_yaml::parse`).
pub const ARCHITECTURE_YAML: &str = include_str!("../architecture.yaml");
/// Where [`ARCHITECTURE_YAML`] lives in the repository, for findings' locations.
pub const ARCHITECTURE_PATH: &str = "sample-services/architecture.yaml";

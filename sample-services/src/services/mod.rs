//! The six services. Each module builds its axum router (and starts its consumers); this one
//! adds what every service shares: the tracing layer and `/health`.

use axum::Router;
use axum::routing::get;

use crate::config::{SampleArgs, SampleError};
use crate::defect::Service;
use crate::http_server::{health, traced};

pub mod gateway;
pub mod inventory;
pub mod notification;
pub mod order;
pub mod payment;
pub mod shipping;

/// The service's routes, traced, plus an untraced `/health`.
pub async fn router(args: &SampleArgs) -> Result<Router, SampleError> {
    let routes = match args.service {
        Service::Gateway => gateway::router(args)?,
        Service::Order => order::router(args).await?,
        Service::Payment => payment::router(args).await?,
        Service::Inventory => inventory::router(args).await?,
        Service::Shipping => shipping::router(args).await?,
        Service::Notification => notification::router(args).await?,
    };
    Ok(routes
        .route_layer(axum::middleware::from_fn(traced))
        .route("/health", get(health)))
}

/// Connects to NATS for `args.service`, with the service's outbound propagation.
pub(crate) async fn publisher(
    args: &SampleArgs,
) -> Result<crate::messaging::Publisher, SampleError> {
    let js = crate::messaging::connect(&args.nats_url, args.service.service_name()).await?;
    Ok(crate::messaging::Publisher::new(js, args.outbound())
        .for_service(args.service.service_name()))
}

/// Locks a mutex, recovering from a poisoned one (a panicked handler must not wedge a service).
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

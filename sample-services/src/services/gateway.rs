//! gateway: the only door from outside. Bearer-token auth, a per-client rate limit (429 with
//! `Retry-After`), routing to the order service, and one aggregation endpoint that fans out to
//! order, payment, shipping and notification in parallel.

use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::{SampleArgs, SampleError};
use crate::defect::Service;
use crate::http_client::{IDEMPOTENCY_KEY, Reply, Upstream};
use crate::http_server::Problem;

/// The token clients use when none is configured.
pub const DEMO_CLIENT: &str = "demo";
pub const DEMO_TOKEN: &str = "demo-token";

struct GatewayState {
    order: Upstream,
    payment: Upstream,
    shipping: Upstream,
    notification: Upstream,
    /// token → client
    tokens: HashMap<String, String>,
    limiter: DefaultKeyedRateLimiter<String>,
}

type Shared = Arc<GatewayState>;

pub fn router(args: &SampleArgs) -> Result<Router, SampleError> {
    let mut tokens: HashMap<String, String> = args
        .tokens
        .iter()
        .map(|(client, token)| (token.clone(), client.clone()))
        .collect();
    if tokens.is_empty() {
        tokens.insert(DEMO_TOKEN.to_string(), DEMO_CLIENT.to_string());
    }
    let rate = NonZeroU32::new(args.rate_limit.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(args.rate_burst.max(1)).unwrap_or(NonZeroU32::MIN);
    let state = Arc::new(GatewayState {
        order: args.upstream(Service::Order)?,
        payment: args.upstream(Service::Payment)?,
        shipping: args.upstream(Service::Shipping)?,
        notification: args.upstream(Service::Notification)?,
        tokens,
        limiter: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
    });
    let api = Router::new()
        .route("/api/orders", post(place))
        .route("/api/orders/async", post(place))
        .route("/api/orders/saga", post(place))
        .route("/api/orders/{id}", get(order))
        .route("/api/orders/{id}/history", get(history))
        .route("/api/orders/{id}/summary", get(summary))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            authorize,
        ))
        .with_state(Arc::clone(&state));
    let admin = Router::new()
        .route("/admin/breakers", get(breakers))
        .with_state(state);
    Ok(api.merge(admin))
}

/// Bearer auth, then the client's rate limit.
async fn authorize(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(client) = token.and_then(|t| state.tokens.get(t)).cloned() else {
        let mut response = Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid bearer token is required (Authorization: Bearer TOKEN)",
        )
        .into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"parley-samples\""),
        );
        return response;
    };
    if let Err(not_until) = state.limiter.check_key(&client) {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let mut problem = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            format!("client {client} is over its rate limit; retry in {secs}s"),
        );
        problem.retry_after_secs = Some(secs.max(1));
        tracing::info!(%client, "rate limited");
        return problem.into_response();
    }
    next.run(request).await
}

/// Passes an upstream's answer through: status, content type, body.
fn relay(reply: Reply) -> Response {
    let mut response = (reply.status, reply.body.clone()).into_response();
    if let Some(ct) = reply.headers.get(header::CONTENT_TYPE) {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, ct.clone());
    }
    response
}

/// `POST /api/orders[/async|/saga]` → `POST /orders[/async|/saga]` on the order service.
async fn place(State(state): State<Shared>, headers: HeaderMap, request: Request) -> Response {
    let path = request
        .uri()
        .path()
        .strip_prefix("/api")
        .unwrap_or("/orders")
        .to_string();
    let body = match axum::body::to_bytes(request.into_body(), 1 << 20).await {
        Ok(b) => b,
        Err(_) => {
            return Problem::bad_request("request body too large (1 MiB at most)").into_response();
        }
    };
    forward(&state.order, Method::POST, &path, Some(body), &headers).await
}

async fn forward(
    upstream: &Upstream,
    method: Method,
    path: &str,
    body: Option<Bytes>,
    headers: &HeaderMap,
) -> Response {
    let mut call = upstream.request(method, path);
    if let Some(body) = body {
        call = call.raw_json(body);
    }
    if let Some(key) = headers.get(IDEMPOTENCY_KEY).and_then(|v| v.to_str().ok()) {
        call = call.idempotency_key(key);
    }
    match call.send().await {
        Ok(reply) => relay(reply),
        Err(e) => Problem::from(e).into_response(),
    }
}

async fn order(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    let call = state
        .order
        .get(format!("/orders/{id}"))
        .template("/orders/{id}");
    match call.send().await {
        Ok(reply) => relay(reply),
        Err(e) => Problem::from(e).into_response(),
    }
}

async fn history(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    let call = state
        .order
        .get(format!("/orders/{id}/history"))
        .template("/orders/{id}/history");
    match call.send().await {
        Ok(reply) => relay(reply),
        Err(e) => Problem::from(e).into_response(),
    }
}

/// `GET /api/orders/{id}/summary`: the order, its payments, shipments and notifications,
/// fetched in parallel. A part that fails is reported under `errors`, the rest still shown.
async fn summary(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    let query = format!("orderId={id}");
    let order = state
        .order
        .get(format!("/orders/{id}"))
        .template("/orders/{id}")
        .send();
    let payments = state.payment.get(format!("/api/payments?{query}")).send();
    let shipments = state.shipping.get(format!("/api/shipments?{query}")).send();
    let notifications = state
        .notification
        .get(format!("/api/notifications?{query}"))
        .send();
    let (order, payments, shipments, notifications) =
        tokio::join!(order, payments, shipments, notifications);
    let order = match order {
        Ok(reply) if reply.status == StatusCode::NOT_FOUND => return relay(reply),
        other => other,
    };
    let mut body = serde_json::Map::new();
    let mut errors = BTreeMap::new();
    for (name, result) in [
        ("order", order),
        ("payments", payments),
        ("shipments", shipments),
        ("notifications", notifications),
    ] {
        match result.map_err(|e| e.to_string()).and_then(|reply| {
            if reply.status.is_success() {
                reply.json::<serde_json::Value>().map_err(|e| e.to_string())
            } else {
                Err(format!(
                    "answered {}: {}",
                    reply.status,
                    reply.problem_detail()
                ))
            }
        }) {
            Ok(value) => {
                body.insert(name.to_string(), value);
            }
            Err(e) => {
                errors.insert(name, e);
            }
        }
    }
    if !errors.is_empty() {
        body.insert("errors".to_string(), serde_json::json!(errors));
    }
    Json(serde_json::Value::Object(body)).into_response()
}

async fn breakers(
    State(state): State<Shared>,
) -> Json<BTreeMap<&'static str, crate::breaker::BreakerState>> {
    Json(
        [
            &state.order,
            &state.payment,
            &state.shipping,
            &state.notification,
        ]
        .into_iter()
        .map(|u| (u.peer(), u.breaker_state()))
        .collect(),
    )
}

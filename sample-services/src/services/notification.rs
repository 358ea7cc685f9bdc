//! notification-service: tells customers what happened to their orders. Consumes `orders.>`
//! and `shipping.scheduled` with bounded redelivery and a DLQ; a message that cannot be decoded
//! goes to the DLQ at once, one whose delivery keeps failing after `max_deliver` attempts.
//!
//! Defect: `no-dlq` consumes with unbounded redelivery and no DLQ, so a poison message is
//! redelivered for ever.

use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::config::{SampleArgs, SampleError};
use crate::defect::Defect;
use crate::domain::ByOrder;
use crate::http_server::{ApiJson, PROVIDER_STATES_PATH, StateChange, state_done};
use crate::idempotency::{Claim, IdempotencyStore};
use crate::messaging::{ConsumerSpec, Delivery, Outcome, spawn_consumer};
use crate::services::lock;

/// Customers whose mailbox bounces every message: their notifications always fail.
pub const BOUNCING_CUSTOMER_PREFIX: &str = "c-bounce";

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub order_id: String,
    pub customer_id: String,
    pub subject: String,
    pub message: String,
}

/// The fields every event this service reads has.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AboutOrder {
    order_id: String,
    customer_id: String,
    #[serde(default)]
    status: Option<String>,
}

struct NotificationState {
    sent: Mutex<Vec<Notification>>,
    seen: IdempotencyStore<()>,
}

type Shared = Arc<NotificationState>;

pub async fn router(args: &SampleArgs) -> Result<Router, SampleError> {
    let publisher = crate::services::publisher(args).await?;
    let state = Arc::new(NotificationState {
        sent: Mutex::new(Vec::new()),
        seen: IdempotencyStore::default(),
    });
    let no_dlq = args.defects().has(Defect::NoDlq);
    for (stream, durable, filter) in [
        ("ORDERS", "notification-orders", "orders.>"),
        ("SHIPPING", "notification-shipping", "shipping.scheduled"),
    ] {
        let mut spec = ConsumerSpec::standard(stream, durable, filter);
        if no_dlq {
            spec = spec.without_dlq();
        }
        let s = Arc::clone(&state);
        spawn_consumer(publisher.clone(), spec, move |d| notify(Arc::clone(&s), d)).await?;
    }
    let mut router = Router::new().route("/api/notifications", get(list));
    if args.provider_states {
        router = router.route(PROVIDER_STATES_PATH, axum::routing::post(provider_state));
    }
    Ok(router.with_state(state))
}

/// The provider states notification's consumers' contracts use.
async fn provider_state(
    State(state): State<Shared>,
    ApiJson(change): ApiJson<StateChange>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let result = match change.state.as_str() {
        "a notification was sent" => (|| {
            let order_id = change.text("orderId")?;
            let mut sent = lock(&state.sent);
            if change.is_setup() {
                let subject = change
                    .text("subject")
                    .unwrap_or_else(|_| "orders.completed".into());
                sent.push(Notification {
                    message: format!("Order {order_id} is completed."),
                    order_id,
                    customer_id: change.text("customerId")?,
                    subject,
                });
            } else {
                sent.retain(|n| n.order_id != order_id);
            }
            Ok(())
        })(),
        _ => Err(change.unknown(&["a notification was sent"])),
    };
    match result {
        Ok(()) => state_done(&change),
        Err(p) => p.into_response(),
    }
}

async fn notify(state: Shared, delivery: Delivery) -> Outcome {
    let event: AboutOrder = match delivery.json() {
        Ok(e) => e,
        Err(outcome) => return outcome,
    };
    let key = delivery
        .message_id
        .clone()
        .unwrap_or_else(|| format!("{}:{}", delivery.subject, event.order_id));
    match state.seen.claim(&key) {
        Claim::New => {}
        Claim::Done(()) => return Outcome::Done,
        Claim::InFlight => return Outcome::Retry("the same message is being processed".into()),
    }
    if event.customer_id.starts_with(BOUNCING_CUSTOMER_PREFIX) {
        state.seen.release(&key);
        return Outcome::Retry(format!("the mailbox of {} bounced", event.customer_id));
    }
    let message = match (delivery.subject.as_str(), event.status.as_deref()) {
        ("shipping.scheduled", _) => format!("Order {} is on its way.", event.order_id),
        (_, Some(status)) => format!("Order {} is {status}.", event.order_id),
        _ => format!("We received order {}.", event.order_id),
    };
    tracing::info!(order_id = %event.order_id, %message, "notified");
    lock(&state.sent).push(Notification {
        order_id: event.order_id,
        customer_id: event.customer_id,
        subject: delivery.subject.clone(),
        message,
    });
    state.seen.complete(&key, ());
    Outcome::Done
}

async fn list(State(state): State<Shared>, Query(q): Query<ByOrder>) -> Json<Vec<Notification>> {
    let sent = lock(&state.sent);
    Json(
        sent.iter()
            .filter(|n| q.matches(Some(&n.order_id)))
            .cloned()
            .collect(),
    )
}

//! payment-service: charges and refunds over HTTP (with `Idempotency-Key`), and the payment
//! step of the choreographed saga: `orders.created` → `payments.charged` | `payments.declined`,
//! `inventory.rejected` → `payments.refunded`.
//!
//! Defects: `breaking-response` renames `paymentId`; `non-idempotent` charges again when
//! `orders.created` is redelivered; `sync-chain` reserves stock synchronously while charging.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

use crate::config::{SampleArgs, SampleError};
use crate::defect::{Defect, Defects, Service};
use crate::domain::{
    ByOrder, ChargeRequest, ChargeResponse, OrderCreated, PaymentCharged, PaymentOutcome,
    RefundRequest, ReservationRequest, StockRejected, new_id,
};
use crate::http_client::{IDEMPOTENCY_KEY, Upstream};
use crate::http_server::{ApiJson, PROVIDER_STATES_PATH, Problem, StateChange, state_done};
use crate::idempotency::{Claim, IdempotencyStore};
use crate::messaging::{ConsumerSpec, Delivery, Outcome, Publisher, spawn_consumer};
use crate::services::lock;

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub payment_id: String,
    pub order_id: Option<String>,
    pub customer_id: String,
    pub amount: i64,
    pub currency: String,
    pub status: String,
}

struct PaymentState {
    payments: Mutex<BTreeMap<String, Payment>>,
    http_keys: IdempotencyStore<(StatusCode, serde_json::Value)>,
    /// Per order: the payment made, or why it was declined.
    charged_orders: IdempotencyStore<Result<String, String>>,
    publisher: Publisher,
    defects: Defects,
    /// Only under `sync-chain`.
    inventory: Option<Upstream>,
}

type Shared = Arc<PaymentState>;

pub async fn router(args: &SampleArgs) -> Result<Router, SampleError> {
    let defects = args.defects();
    let inventory = if defects.has(Defect::SyncChain) {
        Some(args.upstream(Service::Inventory)?)
    } else {
        None
    };
    let publisher = crate::services::publisher(args).await?;
    let state = Arc::new(PaymentState {
        payments: Mutex::new(BTreeMap::new()),
        http_keys: IdempotencyStore::default(),
        charged_orders: IdempotencyStore::default(),
        publisher: publisher.clone(),
        defects,
        inventory,
    });
    let s = Arc::clone(&state);
    spawn_consumer(
        publisher.clone(),
        ConsumerSpec::standard("ORDERS", "payment-orders-created", "orders.created"),
        move |d| on_order_created(Arc::clone(&s), d),
    )
    .await?;
    let s = Arc::clone(&state);
    spawn_consumer(
        publisher,
        ConsumerSpec::standard(
            "INVENTORY",
            "payment-inventory-rejected",
            "inventory.rejected",
        ),
        move |d| on_inventory_rejected(Arc::clone(&s), d),
    )
    .await?;
    let mut router = Router::new()
        .route("/api/charge", post(charge))
        .route("/api/refunds", post(refund))
        .route("/api/payments", get(list_payments))
        .route("/api/payments/{id}", get(get_payment));
    if args.provider_states {
        router = router.route(PROVIDER_STATES_PATH, post(provider_state));
    }
    Ok(router.with_state(state))
}

/// The provider states payment's consumers' contracts use.
async fn provider_state(
    State(state): State<Shared>,
    ApiJson(change): ApiJson<StateChange>,
) -> Response {
    let result = match change.state.as_str() {
        // Funds are decided by the customer id (`c-broke…` has none): nothing to set up.
        "customer has funds" | "customer has insufficient funds" => Ok(()),
        "a payment exists" => payment_exists(&state, &change),
        "a charge was made with an idempotency key" => charged_with_key(&state, &change).await,
        _ => Err(change.unknown(&[
            "customer has funds",
            "customer has insufficient funds",
            "a payment exists",
            "a charge was made with an idempotency key",
        ])),
    };
    match result {
        Ok(()) => state_done(&change),
        Err(p) => p.into_response(),
    }
}

fn payment_exists(state: &PaymentState, change: &StateChange) -> Result<(), Problem> {
    let payment_id = change.text("paymentId")?;
    if !change.is_setup() {
        lock(&state.payments).remove(&payment_id);
        return Ok(());
    }
    let payment = Payment {
        payment_id: payment_id.clone(),
        order_id: change.text("orderId").ok(),
        customer_id: change.text("customerId")?,
        amount: change.int("amount")?,
        currency: change.text("currency").unwrap_or_else(|_| "USD".into()),
        status: "approved".into(),
    };
    lock(&state.payments).insert(payment_id, payment);
    Ok(())
}

async fn charged_with_key(state: &PaymentState, change: &StateChange) -> Result<(), Problem> {
    let key = change.text("idempotencyKey")?;
    if !change.is_setup() {
        state.http_keys.forget(&key);
        return Ok(());
    }
    let request = ChargeRequest {
        amount: change.int("amount")?,
        currency: change.text("currency").unwrap_or_else(|_| "USD".into()),
        customer_id: change.text("customerId")?,
        order_id: change.text("orderId").ok(),
        items: None,
    };
    match state.charge(&request).await {
        Ok(payment) => {
            state
                .http_keys
                .complete(&key, (StatusCode::CREATED, state.charge_body(&payment)));
            Ok(())
        }
        Err(ChargeError::Declined(d)) => Err(Problem::bad_request(d)),
        Err(ChargeError::Problem(p)) => Err(p),
    }
}

/// Why a charge was refused.
enum ChargeError {
    Declined(String),
    Problem(Problem),
}

impl PaymentState {
    /// Charges a customer: the one place a payment is created.
    async fn charge(&self, request: &ChargeRequest) -> Result<Payment, ChargeError> {
        if request.customer_id.starts_with("c-broke") {
            return Err(ChargeError::Declined(format!(
                "customer {} has insufficient funds",
                request.customer_id
            )));
        }
        if let (Some(inventory), Some(items), Some(order_id)) =
            (&self.inventory, &request.items, &request.order_id)
        {
            // sync-chain: payment waits for inventory (which waits for shipping).
            let reply = inventory
                .post("/api/reservations")
                .json(&ReservationRequest {
                    order_id: order_id.clone(),
                    items: items.clone(),
                })
                .map_err(|e| ChargeError::Problem(e.into()))?
                .idempotency_key(format!("reserve-{order_id}"))
                .send()
                .await
                .map_err(|e| ChargeError::Problem(e.into()))?;
            if !reply.status.is_success() {
                return Err(ChargeError::Problem(Problem::new(
                    StatusCode::CONFLICT,
                    "reservation-refused",
                    reply.problem_detail(),
                )));
            }
        }
        let payment = Payment {
            payment_id: new_id("pay_"),
            order_id: request.order_id.clone(),
            customer_id: request.customer_id.clone(),
            amount: request.amount,
            currency: request.currency.clone(),
            status: "approved".to_string(),
        };
        tracing::info!(payment_id = %payment.payment_id, amount = payment.amount, "charged");
        lock(&self.payments).insert(payment.payment_id.clone(), payment.clone());
        Ok(payment)
    }

    fn refund(&self, payment_id: &str) -> Option<Payment> {
        let mut payments = lock(&self.payments);
        let payment = payments.get_mut(payment_id)?;
        if payment.status != "refunded" {
            payment.status = "refunded".to_string();
            tracing::info!(%payment_id, amount = payment.amount, "refunded");
        }
        Some(payment.clone())
    }

    /// The response body of a charge; `breaking-response` renames the field consumers read.
    fn charge_body(&self, payment: &Payment) -> serde_json::Value {
        let body = ChargeResponse {
            payment_id: payment.payment_id.clone(),
            status: payment.status.clone(),
            amount: payment.amount,
            currency: payment.currency.clone(),
        };
        let mut value = serde_json::to_value(body).unwrap_or_default();
        if self.defects.has(Defect::BreakingResponse)
            && let Some(object) = value.as_object_mut()
            && let Some(id) = object.remove("paymentId")
        {
            object.insert("payment_id".to_string(), id);
        }
        value
    }
}

fn validate(request: &ChargeRequest) -> Result<(), Problem> {
    if request.amount <= 0 {
        return Err(Problem::bad_request(
            "amount must be a positive number of cents",
        ));
    }
    if request.currency.len() != 3 || !request.currency.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(Problem::bad_request(
            "currency must be a three-letter ISO 4217 code such as USD",
        ));
    }
    if request.customer_id.trim().is_empty() {
        return Err(Problem::bad_request("customerId must not be empty"));
    }
    Ok(())
}

async fn charge(
    State(state): State<Shared>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<ChargeRequest>,
) -> Response {
    if let Err(p) = validate(&request) {
        return p.into_response();
    }
    let key = headers
        .get(IDEMPOTENCY_KEY)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(key) = &key {
        match state.http_keys.claim(key) {
            Claim::Done((status, body)) => {
                tracing::info!(idempotency_key = %key, "replaying the first response");
                return charge_response(status, body);
            }
            Claim::InFlight => {
                return Problem::new(
                    StatusCode::CONFLICT,
                    "idempotency-in-flight",
                    "a request with this Idempotency-Key is being processed",
                )
                .into_response();
            }
            Claim::New => {}
        }
    }
    let (status, body) = match state.charge(&request).await {
        Ok(payment) => (StatusCode::CREATED, state.charge_body(&payment)),
        Err(ChargeError::Declined(detail)) => {
            let p = Problem::new(StatusCode::PAYMENT_REQUIRED, "payment-declined", detail);
            (
                StatusCode::PAYMENT_REQUIRED,
                serde_json::to_value(&p).unwrap_or_default(),
            )
        }
        Err(ChargeError::Problem(p)) => {
            // Not a final answer: let a retry with the same key try again.
            if let Some(key) = &key {
                state.http_keys.release(key);
            }
            return p.into_response();
        }
    };
    if let Some(key) = &key {
        state.http_keys.complete(key, (status, body.clone()));
    }
    charge_response(status, body)
}

/// A charge's answer, first or replayed: JSON when it succeeded, problem+json when it did not.
fn charge_response(status: StatusCode, body: serde_json::Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    if !status.is_success() {
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/problem+json"),
        );
    }
    response
}

async fn refund(State(state): State<Shared>, ApiJson(request): ApiJson<RefundRequest>) -> Response {
    match state.refund(&request.payment_id) {
        Some(payment) => (
            StatusCode::CREATED,
            Json(serde_json::json!({
                "paymentId": payment.payment_id,
                "status": payment.status,
                "amount": payment.amount,
            })),
        )
            .into_response(),
        None => Problem::not_found(format!("no payment {}", request.payment_id)).into_response(),
    }
}

async fn list_payments(
    State(state): State<Shared>,
    Query(q): Query<ByOrder>,
) -> Json<Vec<Payment>> {
    let payments = lock(&state.payments);
    Json(
        payments
            .values()
            .filter(|p| q.matches(p.order_id.as_deref()))
            .cloned()
            .collect(),
    )
}

async fn get_payment(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    match lock(&state.payments).get(&id) {
        Some(p) => Json(p.clone()).into_response(),
        None => Problem::not_found(format!("no payment {id}")).into_response(),
    }
}

/// `orders.created`: charge once per order (unless `non-idempotent`), then tell the others.
/// A duplicate re-publishes the first outcome (JetStream drops the copy by `Nats-Msg-Id`), so
/// a crash between charging and publishing loses nothing and charges nothing twice.
async fn on_order_created(state: Shared, delivery: Delivery) -> Outcome {
    let event: OrderCreated = match delivery.json() {
        Ok(e) => e,
        Err(outcome) => return outcome,
    };
    let idempotent = !state.defects.has(Defect::NonIdempotent);
    let previous = if idempotent {
        match state.charged_orders.claim(&event.order_id) {
            Claim::New => None,
            Claim::Done(outcome) => {
                tracing::info!(order_id = %event.order_id, delivered = delivery.delivered, "already charged; duplicate not charged again");
                Some(outcome)
            }
            Claim::InFlight => return Outcome::Retry("the same order is being charged".into()),
        }
    } else {
        None
    };
    let outcome = match previous {
        Some(outcome) => outcome,
        None => {
            let request = ChargeRequest {
                amount: event.total,
                currency: event.currency.clone(),
                customer_id: event.customer_id.clone(),
                order_id: Some(event.order_id.clone()),
                items: None,
            };
            let outcome = match state.charge(&request).await {
                Ok(payment) => Ok(payment.payment_id),
                Err(ChargeError::Declined(reason)) => Err(reason),
                Err(ChargeError::Problem(p)) => {
                    if idempotent {
                        state.charged_orders.release(&event.order_id);
                    }
                    return Outcome::Retry(p.detail);
                }
            };
            if idempotent {
                state
                    .charged_orders
                    .complete(&event.order_id, outcome.clone());
            }
            outcome
        }
    };
    let published = match outcome {
        Ok(payment_id) => {
            let charged = PaymentCharged {
                order_id: event.order_id.clone(),
                customer_id: event.customer_id.clone(),
                payment_id,
                amount: event.total,
                items: event.items.clone(),
                address: event.address.clone(),
            };
            let id = format!("payments.charged:{}", event.order_id);
            state
                .publisher
                .publish("payments.charged", &id, &charged)
                .await
        }
        Err(reason) => {
            let declined = PaymentOutcome {
                order_id: event.order_id.clone(),
                customer_id: event.customer_id.clone(),
                payment_id: None,
                reason,
            };
            let id = format!("payments.declined:{}", event.order_id);
            state
                .publisher
                .publish("payments.declined", &id, &declined)
                .await
        }
    };
    match published {
        Ok(_) => Outcome::Done,
        Err(e) => Outcome::Retry(e.to_string()),
    }
}

/// `inventory.rejected`: refund the order's payment (refunds are idempotent by payment).
async fn on_inventory_rejected(state: Shared, delivery: Delivery) -> Outcome {
    let event: StockRejected = match delivery.json() {
        Ok(e) => e,
        Err(outcome) => return outcome,
    };
    if state.refund(&event.payment_id).is_none() {
        return Outcome::Poison(format!("no payment {} to refund", event.payment_id));
    }
    let refunded = PaymentOutcome {
        order_id: event.order_id.clone(),
        customer_id: event.customer_id.clone(),
        payment_id: Some(event.payment_id.clone()),
        reason: event.reason.clone(),
    };
    match state
        .publisher
        .publish(
            "payments.refunded",
            &format!("payments.refunded:{}", event.order_id),
            &refunded,
        )
        .await
    {
        Ok(_) => Outcome::Done,
        Err(e) => Outcome::Retry(e.to_string()),
    }
}

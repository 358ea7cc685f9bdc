//! order-service: places orders three ways and keeps each order as a stream of events.
//!
//! - `POST /orders`: the synchronous path. Stock is checked on inventory (idempotent GETs, in
//!   parallel) and the customer charged on payment (with an `Idempotency-Key`), each call with a
//!   timeout, retries and a circuit breaker.
//! - `POST /orders/async`: publishes `orders.created` and returns 202; the saga then runs by
//!   choreography (payment → inventory → shipping, compensations by events), and this service
//!   closes the order on `shipping.scheduled`, `payments.declined` or `payments.refunded`.
//! - `POST /orders/saga`: the same saga by orchestration ([`saga`]).
//! - `GET /orders/{id}` and `/orders/{id}/history`: the order rebuilt from its events.
//!
//! Defects: `breaking-event` (`total` as a string in `orders.created`), `no-timeout` (calls
//! payment without a timeout), `no-compensation` (see [`saga`]), `sync-chain` (charging makes
//! payment call inventory, which calls shipping).

pub mod event_store;
pub mod saga;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::config::{SampleArgs, SampleError};
use crate::defect::{Defect, Defects, Service};
use crate::domain::{
    CURRENCY, ChargeRequest, ChargeResponse, OrderCreated, OrderStatusChanged, PaymentCharged,
    PaymentOutcome, PlaceOrder, ShipmentScheduled, StockReserved, new_id, total_of,
};
use crate::http_client::{CallError, Upstream};
use crate::http_server::{ApiJson, PROVIDER_STATES_PATH, Problem, StateChange, state_done};
use crate::idempotency::{Claim, IdempotencyStore};
use crate::messaging::{
    ConsumerSpec, Delivery, MessagingError, Outcome, Publisher, spawn_consumer,
};
use event_store::{EventStore, OrderEvent, OrderView, valid_order_id};

pub struct OrderState {
    pub(crate) store: EventStore,
    publisher: Publisher,
    pub(crate) payment: Upstream,
    pub(crate) inventory: Upstream,
    pub(crate) shipping: Upstream,
    pub(crate) defects: Defects,
    handled: IdempotencyStore<()>,
    /// One writer per order at a time among this service's consumers.
    order_locks: std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

type Shared = Arc<OrderState>;

pub async fn router(args: &SampleArgs) -> Result<Router, SampleError> {
    let defects = args.defects();
    let mut payment_config = args.upstream_config();
    if defects.has(Defect::NoTimeout) {
        payment_config.timeout = None;
    }
    let payment = Upstream::new(
        Service::Payment.service_name(),
        args.payment_url
            .as_deref()
            .ok_or(SampleError::MissingUpstream {
                service: Service::Order,
                flag: "payment-url",
                env: "PARLEY_PAYMENT_URL",
            })?,
        payment_config,
        args.outbound(),
    );
    let publisher = crate::services::publisher(args).await?;
    let state = Arc::new(OrderState {
        store: EventStore::open(publisher.jetstream().clone()).await?,
        publisher: publisher.clone(),
        payment,
        inventory: args.upstream(Service::Inventory)?,
        shipping: args.upstream(Service::Shipping)?,
        defects,
        handled: IdempotencyStore::default(),
        order_locks: std::sync::Mutex::default(),
    });
    for (stream, durable, filter) in [
        ("PAYMENTS", "order-payments-charged", "payments.charged"),
        (
            "INVENTORY",
            "order-inventory-reserved",
            "inventory.reserved",
        ),
        ("PAYMENTS", "order-payments-declined", "payments.declined"),
        ("PAYMENTS", "order-payments-refunded", "payments.refunded"),
        ("SHIPPING", "order-shipping-scheduled", "shipping.scheduled"),
    ] {
        let s = Arc::clone(&state);
        spawn_consumer(
            publisher.clone(),
            ConsumerSpec::standard(stream, durable, filter),
            move |d| on_saga_event(Arc::clone(&s), d),
        )
        .await?;
    }
    let admin = Router::new()
        .route("/admin/breakers", get(breakers))
        .with_state(Arc::clone(&state));
    let mut router = Router::new()
        .route("/orders", post(place_sync))
        .route("/orders/async", post(place_async))
        .route("/orders/saga", post(place_saga))
        .route("/orders/{id}", get(get_order))
        .route("/orders/{id}/history", get(get_history));
    if args.provider_states {
        router = router.route(PROVIDER_STATES_PATH, post(provider_state));
    }
    Ok(router.with_state(state).merge(admin))
}

/// The provider states order's consumers' contracts use.
async fn provider_state(
    State(state): State<Shared>,
    ApiJson(change): ApiJson<StateChange>,
) -> Response {
    let result = async {
        let order_id = change.text("orderId")?;
        if !valid_order_id(&order_id) {
            return Err(Problem::bad_request(format!(
                "{order_id:?} is not a valid order id"
            )));
        }
        match (change.state.as_str(), change.is_setup()) {
            ("an order exists", true) => {
                let existing = state.store.replay(&order_id).await.map_err(store_problem)?;
                if !existing.is_empty() {
                    return Ok(());
                }
                let request = PlaceOrder {
                    customer_id: change.text("customerId")?,
                    items: change.value("items")?,
                    address: None,
                };
                let suffix = order_id.trim_start_matches("o-");
                for event in [
                    state.placed(&request, "saga"),
                    OrderEvent::PaymentCharged {
                        payment_id: format!("pay_{suffix}"),
                    },
                    OrderEvent::StockReserved {
                        reservation_id: format!("res_{suffix}"),
                    },
                    OrderEvent::ShipmentScheduled {
                        shipment_id: format!("shp_{suffix}"),
                    },
                    OrderEvent::OrderCompleted,
                ] {
                    state
                        .store
                        .append(&order_id, event)
                        .await
                        .map_err(store_problem)?;
                }
                Ok(())
            }
            ("an order exists", false) | ("no order exists", _) => {
                state.store.purge(&order_id).await.map_err(store_problem)
            }
            _ => Err(change.unknown(&["an order exists", "no order exists"])),
        }
    }
    .await;
    match result {
        Ok(()) => state_done(&change),
        Err(p) => p.into_response(),
    }
}

impl OrderState {
    pub(crate) fn placed(&self, request: &PlaceOrder, mode: &str) -> OrderEvent {
        OrderEvent::OrderPlaced {
            customer_id: request.customer_id.clone(),
            items: request.items.clone(),
            total: total_of(&request.items),
            mode: mode.to_string(),
            address: request.address.clone(),
        }
    }

    /// Publishes `orders.<status>` for the notification service.
    pub(crate) async fn announce(
        &self,
        order_id: &str,
        customer_id: &str,
        status: &str,
        reason: Option<String>,
    ) {
        let event = OrderStatusChanged {
            order_id: order_id.to_string(),
            customer_id: customer_id.to_string(),
            status: status.to_string(),
            reason,
        };
        let subject = format!("orders.{status}");
        if let Err(e) = self
            .publisher
            .publish(&subject, &format!("{subject}:{order_id}"), &event)
            .await
        {
            tracing::error!(error = %e, %subject, "could not announce the order's status");
        }
    }

    async fn view(
        &self,
        order_id: &str,
    ) -> Result<Option<(OrderView, Vec<event_store::Recorded>)>, MessagingError> {
        let events = self.store.replay(order_id).await?;
        Ok(OrderView::fold(order_id, &events).map(|v| (v, events)))
    }
}

/// Records the cancellation and announces it.
pub(crate) async fn cancel_order(
    state: &OrderState,
    order_id: &str,
    customer_id: &str,
    reason: &str,
) -> Result<(), MessagingError> {
    state
        .store
        .append(
            order_id,
            OrderEvent::OrderCancelled {
                reason: reason.to_string(),
            },
        )
        .await?;
    state
        .announce(order_id, customer_id, "cancelled", Some(reason.to_string()))
        .await;
    Ok(())
}

fn store_problem(e: MessagingError) -> Problem {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "event-store",
        e.to_string(),
    )
}

/// `POST /orders`: check stock, charge, confirm; all synchronous.
async fn place_sync(
    State(state): State<Shared>,
    ApiJson(request): ApiJson<PlaceOrder>,
) -> Response {
    if let Err(p) = request.validate() {
        return p.into_response();
    }
    let order_id = new_id("o-");
    if let Err(e) = state
        .store
        .append(&order_id, state.placed(&request, "sync"))
        .await
    {
        return store_problem(e).into_response();
    }
    match confirm_sync(&state, &order_id, &request).await {
        Ok(payment_id) => (
            StatusCode::CREATED,
            Json(serde_json::json!({
                "orderId": order_id,
                "status": "confirmed",
                "paymentId": payment_id,
                "total": total_of(&request.items),
            })),
        )
            .into_response(),
        Err(problem) => {
            if let Err(e) =
                cancel_order(&state, &order_id, &request.customer_id, &problem.detail).await
            {
                tracing::error!(error = %e, "could not record the cancellation");
            }
            problem.into_response()
        }
    }
}

async fn confirm_sync(
    state: &OrderState,
    order_id: &str,
    request: &PlaceOrder,
) -> Result<String, Problem> {
    let sync_chain = state.defects.has(Defect::SyncChain);
    if !sync_chain {
        check_stock(state, request).await?;
    }
    let reply = state
        .payment
        .post("/api/charge")
        .json(&ChargeRequest {
            amount: total_of(&request.items),
            currency: CURRENCY.to_string(),
            customer_id: request.customer_id.clone(),
            order_id: Some(order_id.to_string()),
            // sync-chain: payment reserves the stock itself (and inventory ships).
            items: sync_chain.then(|| request.items.clone()),
        })?
        .idempotency_key(format!("charge-{order_id}"))
        .send()
        .await?;
    if reply.status == StatusCode::PAYMENT_REQUIRED {
        let detail = reply.problem_detail();
        let _ = state
            .store
            .append(
                order_id,
                OrderEvent::PaymentDeclined {
                    reason: detail.clone(),
                },
            )
            .await;
        return Err(Problem::new(
            StatusCode::PAYMENT_REQUIRED,
            "payment-declined",
            detail,
        ));
    }
    if !reply.status.is_success() {
        let status = if reply.status.is_client_error() {
            reply.status
        } else {
            StatusCode::BAD_GATEWAY
        };
        return Err(Problem::new(
            status,
            "payment-failed",
            format!(
                "payment-service answered {}: {}",
                reply.status,
                reply.problem_detail()
            ),
        ));
    }
    let charge: ChargeResponse = reply.json()?;
    state
        .store
        .append(
            order_id,
            OrderEvent::PaymentCharged {
                payment_id: charge.payment_id.clone(),
            },
        )
        .await
        .map_err(store_problem)?;
    state
        .store
        .append(order_id, OrderEvent::OrderConfirmed)
        .await
        .map_err(store_problem)?;
    state
        .announce(order_id, &request.customer_id, "confirmed", None)
        .await;
    Ok(charge.payment_id)
}

/// Asks inventory for every item's stock, in parallel.
async fn check_stock(state: &OrderState, request: &PlaceOrder) -> Result<(), Problem> {
    let calls = request.items.iter().map(|item| async move {
        let reply = state
            .inventory
            .get(format!("/api/stock/{}", item.sku))
            .template("/api/stock/{sku}")
            .send()
            .await?;
        Ok::<_, CallError>((item, reply))
    });
    for result in futures::future::join_all(calls).await {
        let (item, reply) = result?;
        if reply.status == StatusCode::NOT_FOUND {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "unknown-sku",
                format!("unknown sku {}", item.sku),
            ));
        }
        let stock: serde_json::Value = reply.json()?;
        let available = stock.get("available").and_then(|v| v.as_i64()).unwrap_or(0);
        if available < i64::from(item.qty) {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "insufficient-stock",
                format!(
                    "insufficient stock for {} (wanted {}, available {available})",
                    item.sku, item.qty
                ),
            ));
        }
    }
    Ok(())
}

/// `POST /orders/async`: record, publish `orders.created`, answer 202.
async fn place_async(
    State(state): State<Shared>,
    ApiJson(request): ApiJson<PlaceOrder>,
) -> Response {
    if let Err(p) = request.validate() {
        return p.into_response();
    }
    let order_id = new_id("o-");
    if let Err(e) = state
        .store
        .append(&order_id, state.placed(&request, "async"))
        .await
    {
        return store_problem(e).into_response();
    }
    let event = OrderCreated {
        order_id: order_id.clone(),
        customer_id: request.customer_id.clone(),
        total: total_of(&request.items),
        currency: CURRENCY.to_string(),
        items: request.items.clone(),
        address: request.address.clone(),
    };
    let mut payload = serde_json::to_value(&event).unwrap_or_default();
    if state.defects.has(Defect::BreakingEvent) {
        // The defect: `total` becomes a decimal string ("19.99") instead of integer cents.
        payload["total"] =
            serde_json::Value::String(format!("{}.{:02}", event.total / 100, event.total % 100));
    }
    if let Err(e) = state
        .publisher
        .publish(
            "orders.created",
            &format!("orders.created:{order_id}"),
            &payload,
        )
        .await
    {
        let _ = cancel_order(&state, &order_id, &request.customer_id, &e.to_string()).await;
        return Problem::new(StatusCode::SERVICE_UNAVAILABLE, "messaging", e.to_string())
            .into_response();
    }
    (
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "orderId": order_id, "status": "pending" })),
    )
        .into_response()
}

/// `POST /orders/saga`: the orchestrated saga, answered when it has ended.
async fn place_saga(
    State(state): State<Shared>,
    ApiJson(request): ApiJson<PlaceOrder>,
) -> Response {
    if let Err(p) = request.validate() {
        return p.into_response();
    }
    let order_id = new_id("o-");
    let outcome = saga::run(&state, &order_id, &request).await;
    (StatusCode::CREATED, Json(outcome)).into_response()
}

async fn get_order(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    if !valid_order_id(&id) {
        return Problem::not_found(format!("no order {id}")).into_response();
    }
    match state.view(&id).await {
        Ok(Some((view, _))) => Json(view).into_response(),
        Ok(None) => Problem::not_found(format!("no order {id}")).into_response(),
        Err(e) => store_problem(e).into_response(),
    }
}

async fn get_history(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    if !valid_order_id(&id) {
        return Problem::not_found(format!("no order {id}")).into_response();
    }
    match state.view(&id).await {
        Ok(Some((view, events))) => {
            Json(serde_json::json!({ "order": view, "events": events })).into_response()
        }
        Ok(None) => Problem::not_found(format!("no order {id}")).into_response(),
        Err(e) => store_problem(e).into_response(),
    }
}

async fn breakers(
    State(state): State<Shared>,
) -> Json<BTreeMap<&'static str, crate::breaker::BreakerState>> {
    Json(
        [&state.payment, &state.inventory, &state.shipping]
            .into_iter()
            .map(|u| (u.peer(), u.breaker_state()))
            .collect(),
    )
}

/// The choreographed saga, as the order records it: `payments.charged` and
/// `inventory.reserved` are noted, `shipping.scheduled` completes the order, `payments.declined`
/// or `payments.refunded` cancel it. Only asynchronous orders that are still open are touched,
/// once per message.
async fn on_saga_event(state: Shared, delivery: Delivery) -> Outcome {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct AboutOrder {
        order_id: String,
    }
    let about: AboutOrder = match delivery.json() {
        Ok(a) => a,
        Err(outcome) => return outcome,
    };
    let key = format!("{}:{}", delivery.subject, about.order_id);
    match state.handled.claim(&key) {
        Claim::New => {}
        Claim::Done(()) => return Outcome::Done,
        Claim::InFlight => return Outcome::Retry("already being handled".into()),
    }
    // The consumers of one order's messages run in parallel; taking the order's lock makes them
    // take turns (the expected-sequence appends still guard against other instances).
    let lock = Arc::clone(
        crate::services::lock(&state.order_locks)
            .entry(about.order_id.clone())
            .or_default(),
    );
    let outcome = {
        let _turn = lock.lock().await;
        close_order(&state, &delivery, &about.order_id).await
    };
    {
        let mut locks = crate::services::lock(&state.order_locks);
        if Arc::strong_count(&lock) == 2 {
            locks.remove(&about.order_id);
        }
    }
    match &outcome {
        Outcome::Done => state.handled.complete(&key, ()),
        _ => state.handled.release(&key),
    }
    outcome
}

async fn close_order(state: &OrderState, delivery: &Delivery, order_id: &str) -> Outcome {
    if !valid_order_id(order_id) {
        return Outcome::Poison(format!("invalid order id {order_id:?}"));
    }
    let (view, events) = match state.view(order_id).await {
        Ok(Some(found)) => found,
        Ok(None) => return Outcome::Done, // not an order of ours
        Err(e) => return Outcome::Retry(e.to_string()),
    };
    // Facts (a charge, a reservation) are recorded even if they arrive after the order closed:
    // the consumers run in parallel, so their messages can overtake each other. Status changes
    // only while the order is open.
    let already = match delivery.subject.as_str() {
        "payments.charged" => view.payment_id.is_some(),
        "inventory.reserved" => view.reservation_id.is_some(),
        _ => view.is_final(),
    };
    if view.mode != "async" || already {
        return Outcome::Done;
    }
    // Every append expects the order to be exactly as read: two consumers of the same order
    // racing each other cannot interleave; the loser is redelivered and sees the new state.
    let mut order = state
        .store
        .expecting(order_id, events.last().map_or(0, |e| e.sequence));
    let result = match delivery.subject.as_str() {
        "payments.charged" => match delivery.json::<PaymentCharged>() {
            Ok(event) => {
                order
                    .push(OrderEvent::PaymentCharged {
                        payment_id: event.payment_id,
                    })
                    .await
            }
            Err(outcome) => return outcome,
        },
        "inventory.reserved" => match delivery.json::<StockReserved>() {
            Ok(event) => {
                order
                    .push(OrderEvent::StockReserved {
                        reservation_id: event.reservation_id,
                    })
                    .await
            }
            Err(outcome) => return outcome,
        },
        "shipping.scheduled" => {
            let event: ShipmentScheduled = match delivery.json() {
                Ok(e) => e,
                Err(outcome) => return outcome,
            };
            let appended = async {
                order
                    .push(OrderEvent::ShipmentScheduled {
                        shipment_id: event.shipment_id,
                    })
                    .await?;
                order.push(OrderEvent::OrderCompleted).await
            }
            .await;
            if appended.is_ok() {
                state
                    .announce(order_id, &view.customer_id, "completed", None)
                    .await;
            }
            appended
        }
        subject @ ("payments.declined" | "payments.refunded") => {
            let event: PaymentOutcome = match delivery.json() {
                Ok(e) => e,
                Err(outcome) => return outcome,
            };
            let appended = async {
                if subject == "payments.refunded" {
                    let payment_id = event.payment_id.clone().unwrap_or_default();
                    order
                        .push(OrderEvent::PaymentRefunded { payment_id })
                        .await?;
                } else {
                    let reason = event.reason.clone();
                    order.push(OrderEvent::PaymentDeclined { reason }).await?;
                }
                let reason = event.reason.clone();
                order.push(OrderEvent::OrderCancelled { reason }).await
            }
            .await;
            if appended.is_ok() {
                state
                    .announce(order_id, &view.customer_id, "cancelled", Some(event.reason))
                    .await;
            }
            appended
        }
        other => return Outcome::Poison(format!("unexpected subject {other}")),
    };
    match result {
        Ok(()) => Outcome::Done,
        Err(e) => Outcome::Retry(e.to_string()),
    }
}

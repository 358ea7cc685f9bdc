//! inventory-service: stock and reservations over HTTP, and the reservation step of the
//! choreographed saga: `payments.charged` → `inventory.reserved` | `inventory.rejected`,
//! `shipping.failed` → release → `inventory.rejected`.
//!
//! Defects: `drop-trace-context` publishes (and calls) without `traceparent`; `sync-chain`
//! creates the shipment synchronously while reserving.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Serialize;

use crate::config::{SampleArgs, SampleError};
use crate::defect::{Defect, Service};
use crate::domain::{
    ByOrder, Item, PaymentCharged, ReservationRequest, ReservationResponse, ShipmentFailed,
    ShipmentRequest, StockRejected, StockReserved, new_id, validate_items,
};
use crate::http_client::Upstream;
use crate::http_server::{ApiJson, PROVIDER_STATES_PATH, Problem, StateChange, state_done};
use crate::messaging::{ConsumerSpec, Delivery, Outcome, Publisher, spawn_consumer};
use crate::services::lock;

/// The stock every inventory starts with. `OUT-1` is always out of stock.
pub const INITIAL_STOCK: [(&str, i64); 4] =
    [("A1", 1000), ("B2", 1000), ("C3", 1000), ("OUT-1", 0)];

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reservation {
    pub reservation_id: String,
    pub order_id: String,
    pub items: Vec<Item>,
    pub status: String,
}

#[derive(Default)]
struct Stock {
    available: HashMap<String, i64>,
    reservations: BTreeMap<String, Reservation>,
    by_order: HashMap<String, String>,
}

struct InventoryState {
    stock: Mutex<Stock>,
    publisher: Publisher,
    /// Only under `sync-chain`.
    shipping: Option<Upstream>,
}

type Shared = Arc<InventoryState>;

pub async fn router(args: &SampleArgs) -> Result<Router, SampleError> {
    let shipping = if args.defects().has(Defect::SyncChain) {
        Some(args.upstream(Service::Shipping)?)
    } else {
        None
    };
    let publisher = crate::services::publisher(args).await?;
    let stock = Stock {
        available: INITIAL_STOCK
            .iter()
            .map(|(sku, n)| (sku.to_string(), *n))
            .collect(),
        ..Stock::default()
    };
    let state = Arc::new(InventoryState {
        stock: Mutex::new(stock),
        publisher: publisher.clone(),
        shipping,
    });
    let s = Arc::clone(&state);
    spawn_consumer(
        publisher.clone(),
        ConsumerSpec::standard("PAYMENTS", "inventory-payments-charged", "payments.charged"),
        move |d| on_payment_charged(Arc::clone(&s), d),
    )
    .await?;
    let s = Arc::clone(&state);
    spawn_consumer(
        publisher,
        ConsumerSpec::standard("SHIPPING", "inventory-shipping-failed", "shipping.failed"),
        move |d| on_shipping_failed(Arc::clone(&s), d),
    )
    .await?;
    let mut router = Router::new()
        .route("/api/stock/{sku}", get(get_stock))
        .route("/api/reservations", post(reserve).get(list_reservations))
        .route("/api/reservations/{id}", delete(release));
    if args.provider_states {
        router = router.route(PROVIDER_STATES_PATH, post(provider_state));
    }
    Ok(router.with_state(state))
}

/// The provider states inventory's consumers' contracts use.
async fn provider_state(
    State(state): State<Shared>,
    ApiJson(change): ApiJson<StateChange>,
) -> Response {
    let result = (|| {
        let mut stock = lock(&state.stock);
        match change.state.as_str() {
            "a sku is in stock" => {
                let sku = change.text("sku")?;
                if change.is_setup() {
                    let n = stock.available.entry(sku).or_insert(0);
                    *n = (*n).max(1000);
                }
                Ok(())
            }
            "a sku is out of stock" => {
                if change.is_setup() {
                    stock.available.insert(change.text("sku")?, 0);
                }
                Ok(())
            }
            "a sku is unknown" => {
                if change.is_setup() {
                    stock.available.remove(&change.text("sku")?);
                }
                Ok(())
            }
            "a reservation exists" => {
                let id = change.text("reservationId")?;
                let order_id = change.text("orderId")?;
                if change.is_setup() {
                    let reservation = Reservation {
                        reservation_id: id.clone(),
                        order_id: order_id.clone(),
                        items: change.value("items")?,
                        status: "reserved".into(),
                    };
                    stock.by_order.insert(order_id, id.clone());
                    stock.reservations.insert(id, reservation);
                } else {
                    stock.reservations.remove(&id);
                    stock.by_order.remove(&order_id);
                }
                Ok(())
            }
            _ => Err(change.unknown(&[
                "a sku is in stock",
                "a sku is out of stock",
                "a sku is unknown",
                "a reservation exists",
            ])),
        }
    })();
    match result {
        Ok(()) => state_done(&change),
        Err(p) => p.into_response(),
    }
}

impl InventoryState {
    /// Reserves every item or none. Idempotent per order: a second request gets the first
    /// reservation. `Err` is the refusal reason.
    fn reserve(&self, order_id: &str, items: &[Item]) -> Result<Reservation, String> {
        let mut stock = lock(&self.stock);
        if let Some(existing) = stock
            .by_order
            .get(order_id)
            .and_then(|id| stock.reservations.get(id))
            .filter(|r| r.status == "reserved")
        {
            return Ok(existing.clone());
        }
        for item in items {
            let available = *stock
                .available
                .get(&item.sku)
                .ok_or_else(|| format!("unknown sku {}", item.sku))?;
            if available < i64::from(item.qty) {
                return Err(format!(
                    "insufficient stock for {} (wanted {}, available {available})",
                    item.sku, item.qty
                ));
            }
        }
        for item in items {
            if let Some(n) = stock.available.get_mut(&item.sku) {
                *n -= i64::from(item.qty);
            }
        }
        let reservation = Reservation {
            reservation_id: new_id("res_"),
            order_id: order_id.to_string(),
            items: items.to_vec(),
            status: "reserved".to_string(),
        };
        stock
            .by_order
            .insert(order_id.to_string(), reservation.reservation_id.clone());
        stock
            .reservations
            .insert(reservation.reservation_id.clone(), reservation.clone());
        tracing::info!(reservation_id = %reservation.reservation_id, %order_id, "reserved");
        Ok(reservation)
    }

    /// Puts a reservation's items back. Idempotent.
    fn release(&self, reservation_id: &str) -> Option<Reservation> {
        let mut stock = lock(&self.stock);
        let reservation = stock.reservations.get(reservation_id)?.clone();
        if reservation.status == "reserved" {
            for item in &reservation.items {
                if let Some(n) = stock.available.get_mut(&item.sku) {
                    *n += i64::from(item.qty);
                }
            }
            if let Some(r) = stock.reservations.get_mut(reservation_id) {
                r.status = "released".to_string();
            }
            tracing::info!(%reservation_id, "released");
        }
        stock.reservations.get(reservation_id).cloned()
    }
}

async fn get_stock(State(state): State<Shared>, Path(sku): Path<String>) -> Response {
    match lock(&state.stock).available.get(&sku) {
        Some(n) => Json(serde_json::json!({ "sku": sku, "available": n })).into_response(),
        None => Problem::not_found(format!("unknown sku {sku}")).into_response(),
    }
}

async fn reserve(
    State(state): State<Shared>,
    ApiJson(request): ApiJson<ReservationRequest>,
) -> Response {
    if let Err(p) = validate_items(&request.items) {
        return p.into_response();
    }
    let reservation = match state.reserve(&request.order_id, &request.items) {
        Ok(r) => r,
        Err(reason) => {
            return Problem::new(StatusCode::CONFLICT, "insufficient-stock", reason)
                .into_response();
        }
    };
    if let Some(shipping) = &state.shipping {
        // sync-chain: inventory waits for shipping.
        let result = async {
            shipping
                .post("/api/shipments")
                .json(&ShipmentRequest {
                    order_id: request.order_id.clone(),
                    customer_id: String::new(),
                    address: None,
                })?
                .idempotency_key(format!("ship-{}", request.order_id))
                .send()
                .await
        }
        .await;
        match result {
            Ok(reply) if reply.status.is_success() => {}
            Ok(reply) => {
                state.release(&reservation.reservation_id);
                return Problem::new(
                    StatusCode::CONFLICT,
                    "shipping-refused",
                    reply.problem_detail(),
                )
                .into_response();
            }
            Err(e) => {
                state.release(&reservation.reservation_id);
                return Problem::from(e).into_response();
            }
        }
    }
    (
        StatusCode::CREATED,
        Json(ReservationResponse {
            reservation_id: reservation.reservation_id,
            order_id: reservation.order_id,
            status: reservation.status,
        }),
    )
        .into_response()
}

async fn release(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    match state.release(&id) {
        Some(r) => Json(r).into_response(),
        None => Problem::not_found(format!("no reservation {id}")).into_response(),
    }
}

async fn list_reservations(
    State(state): State<Shared>,
    Query(q): Query<ByOrder>,
) -> Json<Vec<Reservation>> {
    let stock = lock(&state.stock);
    Json(
        stock
            .reservations
            .values()
            .filter(|r| q.matches(Some(&r.order_id)))
            .cloned()
            .collect(),
    )
}

/// `payments.charged`: reserve, then publish the outcome. Reserving is idempotent per order and
/// the outcome's `Nats-Msg-Id` is per order, so a redelivery changes nothing.
async fn on_payment_charged(state: Shared, delivery: Delivery) -> Outcome {
    let event: PaymentCharged = match delivery.json() {
        Ok(e) => e,
        Err(outcome) => return outcome,
    };
    let published = match state.reserve(&event.order_id, &event.items) {
        Ok(reservation) => {
            let reserved = StockReserved {
                order_id: event.order_id.clone(),
                customer_id: event.customer_id.clone(),
                reservation_id: reservation.reservation_id,
                payment_id: event.payment_id.clone(),
                address: event.address.clone(),
            };
            let id = format!("inventory.reserved:{}", event.order_id);
            state
                .publisher
                .publish("inventory.reserved", &id, &reserved)
                .await
        }
        Err(reason) => {
            tracing::info!(order_id = %event.order_id, %reason, "refusing the reservation");
            let rejected = StockRejected {
                order_id: event.order_id.clone(),
                customer_id: event.customer_id.clone(),
                payment_id: event.payment_id.clone(),
                reason,
            };
            let id = format!("inventory.rejected:{}", event.order_id);
            state
                .publisher
                .publish("inventory.rejected", &id, &rejected)
                .await
        }
    };
    match published {
        Ok(_) => Outcome::Done,
        Err(e) => Outcome::Retry(e.to_string()),
    }
}

/// `shipping.failed`: release the reservation and hand the refusal back to payment.
async fn on_shipping_failed(state: Shared, delivery: Delivery) -> Outcome {
    let event: ShipmentFailed = match delivery.json() {
        Ok(e) => e,
        Err(outcome) => return outcome,
    };
    state.release(&event.reservation_id);
    let rejected = StockRejected {
        order_id: event.order_id.clone(),
        customer_id: event.customer_id.clone(),
        payment_id: event.payment_id.clone(),
        reason: format!("shipping refused: {}", event.reason),
    };
    let id = format!("inventory.rejected:{}", event.order_id);
    match state
        .publisher
        .publish("inventory.rejected", &id, &rejected)
        .await
    {
        Ok(_) => Outcome::Done,
        Err(e) => Outcome::Retry(e.to_string()),
    }
}

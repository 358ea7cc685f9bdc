//! shipping-service: shipments over HTTP, and the shipping step of the choreographed saga:
//! `inventory.reserved` → `shipping.scheduled` | `shipping.failed`. Every shipment scheduled,
//! however requested, is announced on `shipping.scheduled`.
//!
//! Defect: `drop-correlation-id` drops `x-correlation-id` on what it publishes and calls.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::{Json, Router};
use serde::Serialize;

use crate::config::{SampleArgs, SampleError};
use crate::domain::{
    Address, ByOrder, ShipmentFailed, ShipmentRequest, ShipmentResponse, ShipmentScheduled,
    StockReserved, new_id,
};
use crate::http_server::{ApiJson, PROVIDER_STATES_PATH, Problem, StateChange, state_done};
use crate::messaging::{ConsumerSpec, Delivery, Outcome, Publisher, spawn_consumer};
use crate::services::lock;

/// Orders shipped to this country are refused: no carrier serves it.
pub const UNSERVED_COUNTRY: &str = "ZZ";
const CARRIER: &str = "parcelfast";

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Shipment {
    pub shipment_id: String,
    pub order_id: String,
    pub customer_id: String,
    pub status: String,
    pub carrier: String,
}

struct ShippingState {
    shipments: Mutex<BTreeMap<String, Shipment>>,
    publisher: Publisher,
}

type Shared = Arc<ShippingState>;

pub async fn router(args: &SampleArgs) -> Result<Router, SampleError> {
    let publisher = crate::services::publisher(args).await?;
    let state = Arc::new(ShippingState {
        shipments: Mutex::new(BTreeMap::new()),
        publisher: publisher.clone(),
    });
    let s = Arc::clone(&state);
    spawn_consumer(
        publisher,
        ConsumerSpec::standard(
            "INVENTORY",
            "shipping-inventory-reserved",
            "inventory.reserved",
        ),
        move |d| on_stock_reserved(Arc::clone(&s), d),
    )
    .await?;
    let mut router = Router::new()
        .route("/api/shipments", post(create).get(list))
        .route("/api/shipments/{id}", delete(cancel));
    if args.provider_states {
        router = router.route(PROVIDER_STATES_PATH, post(provider_state));
    }
    Ok(router.with_state(state))
}

/// The provider states shipping's consumers' contracts use.
async fn provider_state(
    State(state): State<Shared>,
    ApiJson(change): ApiJson<StateChange>,
) -> Response {
    let result = match change.state.as_str() {
        "a shipment exists" => (|| {
            let id = change.text("shipmentId")?;
            if change.is_setup() {
                let shipment = Shipment {
                    shipment_id: id.clone(),
                    order_id: change.text("orderId")?,
                    customer_id: change.text("customerId").unwrap_or_default(),
                    status: "scheduled".into(),
                    carrier: CARRIER.into(),
                };
                lock(&state.shipments).insert(id, shipment);
            } else {
                lock(&state.shipments).remove(&id);
            }
            Ok(())
        })(),
        _ => Err(change.unknown(&["a shipment exists"])),
    };
    match result {
        Ok(()) => state_done(&change),
        Err(p) => p.into_response(),
    }
}

enum ShipError {
    Refused(String),
    Publish(String),
}

impl ShippingState {
    /// Schedules a shipment (idempotent per order) and announces it on `shipping.scheduled`.
    async fn schedule(
        &self,
        order_id: &str,
        customer_id: &str,
        address: Option<&Address>,
    ) -> Result<Shipment, ShipError> {
        if let Some(a) = address.filter(|a| a.country == UNSERVED_COUNTRY) {
            return Err(ShipError::Refused(format!(
                "no carrier serves {}",
                a.country
            )));
        }
        let existing = lock(&self.shipments)
            .values()
            .find(|s| s.order_id == order_id && s.status == "scheduled")
            .cloned();
        let shipment = match existing {
            Some(s) => s,
            None => {
                let s = Shipment {
                    shipment_id: new_id("shp_"),
                    order_id: order_id.to_string(),
                    customer_id: customer_id.to_string(),
                    status: "scheduled".to_string(),
                    carrier: CARRIER.to_string(),
                };
                lock(&self.shipments).insert(s.shipment_id.clone(), s.clone());
                tracing::info!(shipment_id = %s.shipment_id, %order_id, "scheduled");
                s
            }
        };
        let event = ShipmentScheduled {
            order_id: order_id.to_string(),
            customer_id: customer_id.to_string(),
            shipment_id: shipment.shipment_id.clone(),
            carrier: shipment.carrier.clone(),
        };
        self.publisher
            .publish(
                "shipping.scheduled",
                &format!("shipping.scheduled:{order_id}"),
                &event,
            )
            .await
            .map_err(|e| ShipError::Publish(e.to_string()))?;
        Ok(shipment)
    }
}

async fn create(
    State(state): State<Shared>,
    ApiJson(request): ApiJson<ShipmentRequest>,
) -> Response {
    if request.order_id.trim().is_empty() {
        return Problem::bad_request("orderId must not be empty").into_response();
    }
    match state
        .schedule(
            &request.order_id,
            &request.customer_id,
            request.address.as_ref(),
        )
        .await
    {
        Ok(s) => (
            StatusCode::CREATED,
            Json(ShipmentResponse {
                shipment_id: s.shipment_id,
                order_id: s.order_id,
                status: s.status,
                carrier: s.carrier,
            }),
        )
            .into_response(),
        Err(ShipError::Refused(reason)) => {
            Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "no-carrier", reason).into_response()
        }
        Err(ShipError::Publish(detail)) => {
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "messaging", detail).into_response()
        }
    }
}

async fn cancel(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    let mut shipments = lock(&state.shipments);
    match shipments.get_mut(&id) {
        Some(s) => {
            if s.status != "cancelled" {
                s.status = "cancelled".to_string();
                tracing::info!(shipment_id = %id, "cancelled");
            }
            Json(s.clone()).into_response()
        }
        None => Problem::not_found(format!("no shipment {id}")).into_response(),
    }
}

async fn list(State(state): State<Shared>, Query(q): Query<ByOrder>) -> Json<Vec<Shipment>> {
    let shipments = lock(&state.shipments);
    Json(
        shipments
            .values()
            .filter(|s| q.matches(Some(&s.order_id)))
            .cloned()
            .collect(),
    )
}

/// `inventory.reserved`: ship, or report that no carrier can.
async fn on_stock_reserved(state: Shared, delivery: Delivery) -> Outcome {
    let event: StockReserved = match delivery.json() {
        Ok(e) => e,
        Err(outcome) => return outcome,
    };
    match state
        .schedule(&event.order_id, &event.customer_id, event.address.as_ref())
        .await
    {
        Ok(_) => Outcome::Done,
        Err(ShipError::Publish(detail)) => Outcome::Retry(detail),
        Err(ShipError::Refused(reason)) => {
            let failed = ShipmentFailed {
                order_id: event.order_id.clone(),
                customer_id: event.customer_id.clone(),
                reservation_id: event.reservation_id.clone(),
                payment_id: event.payment_id.clone(),
                reason,
            };
            let id = format!("shipping.failed:{}", event.order_id);
            match state
                .publisher
                .publish("shipping.failed", &id, &failed)
                .await
            {
                Ok(_) => Outcome::Done,
                Err(e) => Outcome::Retry(e.to_string()),
            }
        }
    }
}

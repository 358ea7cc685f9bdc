//! The order-fulfilment saga by orchestration: create → charge → reserve → ship. When a step
//! fails, the completed steps are compensated in reverse order (cancel-shipment, release,
//! refund) and the order is cancelled last (the compensation of `create`).
//!
//! Every step and compensation is a span (`saga step charge`, `saga compensate refund`) under
//! one `saga order-fulfilment` span, so the trace shows what ran and in which order.
//! Defect `no-compensation`: only the order is cancelled; nothing is refunded or released.

use serde::Serialize;
use tracing::Instrument;

use crate::defect::Defect;
use crate::domain::{
    CURRENCY, ChargeRequest, ChargeResponse, PlaceOrder, ReservationRequest, ReservationResponse,
    ShipmentRequest, ShipmentResponse,
};
use crate::propagation::cid;

use super::event_store::OrderEvent;
use super::{OrderState, cancel_order};

pub const SAGA_NAME: &str = "order-fulfilment";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Create,
    Charge,
    Reserve,
    Ship,
}

impl Step {
    fn name(self) -> &'static str {
        match self {
            Step::Create => "create",
            Step::Charge => "charge",
            Step::Reserve => "reserve",
            Step::Ship => "ship",
        }
    }

    fn compensation(self) -> &'static str {
        match self {
            Step::Create => "cancel",
            Step::Charge => "refund",
            Step::Reserve => "release",
            Step::Ship => "cancel-shipment",
        }
    }
}

/// What a completed step left behind, for its compensation.
enum Done {
    Created,
    Charged(String),
    Reserved(String),
    Shipped(String),
}

impl Done {
    fn step(&self) -> Step {
        match self {
            Done::Created => Step::Create,
            Done::Charged(_) => Step::Charge,
            Done::Reserved(_) => Step::Reserve,
            Done::Shipped(_) => Step::Ship,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SagaOutcome {
    pub order_id: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub steps: Vec<String>,
    pub compensations: Vec<String>,
}

/// Runs the saga for a new order to its end (completed, or cancelled and compensated).
pub async fn run(state: &OrderState, order_id: &str, request: &PlaceOrder) -> SagaOutcome {
    let span = tracing::info_span!(
        "saga",
        otel.name = format!("saga {SAGA_NAME}"),
        otel.kind = "internal",
        otel.status_code = tracing::field::Empty,
        saga.name = SAGA_NAME,
        saga.id = %order_id,
        saga.outcome = tracing::field::Empty,
        correlation.id = %cid(),
    );
    let outcome = run_steps(state, order_id, request)
        .instrument(span.clone())
        .await;
    span.record("saga.outcome", outcome.status.as_str());
    if outcome.status != "completed" {
        span.record("otel.status_code", "ERROR");
    }
    outcome
}

async fn run_steps(state: &OrderState, order_id: &str, request: &PlaceOrder) -> SagaOutcome {
    let mut done: Vec<Done> = Vec::new();
    let mut failure = None;
    for (index, step) in [Step::Create, Step::Charge, Step::Reserve, Step::Ship]
        .into_iter()
        .enumerate()
    {
        let span = step_span(step.name(), index, "action", None);
        match perform(state, order_id, request, step)
            .instrument(span.clone())
            .await
        {
            Ok(d) => done.push(d),
            Err(reason) => {
                span.record("otel.status_code", "ERROR");
                span.record("saga.step.error", reason.as_str());
                failure = Some(reason);
                break;
            }
        }
    }
    let steps = done.iter().map(|d| d.step().name().to_string()).collect();
    let Some(reason) = failure else {
        if let Err(e) = state
            .store
            .append(order_id, OrderEvent::OrderCompleted)
            .await
        {
            tracing::error!(error = %e, "could not record the completion");
        }
        state
            .announce(order_id, &request.customer_id, "completed", None)
            .await;
        return SagaOutcome {
            order_id: order_id.to_string(),
            status: "completed".into(),
            reason: None,
            steps,
            compensations: Vec::new(),
        };
    };
    tracing::warn!(%reason, "saga failed; compensating in reverse order");
    let mut compensations = Vec::new();
    for (index, d) in done.iter().rev().enumerate() {
        let step = d.step();
        if step != Step::Create && state.defects.has(Defect::NoCompensation) {
            tracing::warn!(
                step = step.name(),
                "DEFECT no-compensation: not compensating"
            );
            continue;
        }
        let span = step_span(
            step.compensation(),
            index,
            "compensation",
            Some(step.name()),
        );
        match compensate(state, order_id, request, d, &reason)
            .instrument(span.clone())
            .await
        {
            Ok(()) => compensations.push(step.compensation().to_string()),
            Err(e) => {
                span.record("otel.status_code", "ERROR");
                span.record("saga.step.error", e.as_str());
                tracing::error!(compensation = step.compensation(), error = %e, "compensation failed");
            }
        }
    }
    SagaOutcome {
        order_id: order_id.to_string(),
        status: "cancelled".into(),
        reason: Some(reason),
        steps,
        compensations,
    }
}

fn step_span(name: &str, index: usize, kind: &str, compensates: Option<&str>) -> tracing::Span {
    let verb = if kind == "action" {
        "step"
    } else {
        "compensate"
    };
    tracing::info_span!(
        "saga.step",
        otel.name = format!("saga {verb} {name}"),
        otel.kind = "internal",
        otel.status_code = tracing::field::Empty,
        saga.name = SAGA_NAME,
        saga.step.name = name,
        saga.step.index = index as i64,
        saga.step.kind = kind,
        saga.step.compensates = compensates.unwrap_or_default(),
        saga.step.error = tracing::field::Empty,
        correlation.id = %cid(),
    )
}

async fn perform(
    state: &OrderState,
    order_id: &str,
    request: &PlaceOrder,
    step: Step,
) -> Result<Done, String> {
    match step {
        Step::Create => {
            state
                .store
                .append(order_id, state.placed(request, "saga"))
                .await
                .map_err(|e| e.to_string())?;
            Ok(Done::Created)
        }
        Step::Charge => {
            let reply = state
                .payment
                .post("/api/charge")
                .json(&ChargeRequest {
                    amount: crate::domain::total_of(&request.items),
                    currency: CURRENCY.to_string(),
                    customer_id: request.customer_id.clone(),
                    order_id: Some(order_id.to_string()),
                    items: None,
                })
                .map_err(|e| e.to_string())?
                .idempotency_key(format!("charge-{order_id}"))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !reply.status.is_success() {
                return Err(format!("payment refused: {}", reply.problem_detail()));
            }
            let charge: ChargeResponse = reply.json().map_err(|e| e.to_string())?;
            record(
                state,
                order_id,
                OrderEvent::PaymentCharged {
                    payment_id: charge.payment_id.clone(),
                },
            )
            .await;
            Ok(Done::Charged(charge.payment_id))
        }
        Step::Reserve => {
            let reply = state
                .inventory
                .post("/api/reservations")
                .json(&ReservationRequest {
                    order_id: order_id.to_string(),
                    items: request.items.clone(),
                })
                .map_err(|e| e.to_string())?
                .idempotency_key(format!("reserve-{order_id}"))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !reply.status.is_success() {
                return Err(format!("inventory refused: {}", reply.problem_detail()));
            }
            let r: ReservationResponse = reply.json().map_err(|e| e.to_string())?;
            record(
                state,
                order_id,
                OrderEvent::StockReserved {
                    reservation_id: r.reservation_id.clone(),
                },
            )
            .await;
            Ok(Done::Reserved(r.reservation_id))
        }
        Step::Ship => {
            let reply = state
                .shipping
                .post("/api/shipments")
                .json(&ShipmentRequest {
                    order_id: order_id.to_string(),
                    customer_id: request.customer_id.clone(),
                    address: request.address.clone(),
                })
                .map_err(|e| e.to_string())?
                .idempotency_key(format!("ship-{order_id}"))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !reply.status.is_success() {
                return Err(format!("shipping refused: {}", reply.problem_detail()));
            }
            let s: ShipmentResponse = reply.json().map_err(|e| e.to_string())?;
            record(
                state,
                order_id,
                OrderEvent::ShipmentScheduled {
                    shipment_id: s.shipment_id.clone(),
                },
            )
            .await;
            Ok(Done::Shipped(s.shipment_id))
        }
    }
}

async fn compensate(
    state: &OrderState,
    order_id: &str,
    request: &PlaceOrder,
    done: &Done,
    reason: &str,
) -> Result<(), String> {
    let (reply, event) = match done {
        Done::Created => {
            return cancel_order(state, order_id, &request.customer_id, reason)
                .await
                .map_err(|e| e.to_string());
        }
        Done::Charged(payment_id) => (
            state
                .payment
                .post("/api/refunds")
                .json(&serde_json::json!({ "paymentId": payment_id }))
                .map_err(|e| e.to_string())?
                .idempotency_key(format!("refund-{order_id}"))
                .send()
                .await,
            OrderEvent::PaymentRefunded {
                payment_id: payment_id.clone(),
            },
        ),
        Done::Reserved(reservation_id) => (
            state
                .inventory
                .delete(format!("/api/reservations/{reservation_id}"))
                .template("/api/reservations/{id}")
                .send()
                .await,
            OrderEvent::StockReleased {
                reservation_id: reservation_id.clone(),
            },
        ),
        Done::Shipped(shipment_id) => (
            state
                .shipping
                .delete(format!("/api/shipments/{shipment_id}"))
                .template("/api/shipments/{id}")
                .send()
                .await,
            OrderEvent::ShipmentCancelled {
                shipment_id: shipment_id.clone(),
            },
        ),
    };
    let reply = reply.map_err(|e| e.to_string())?;
    if !reply.status.is_success() {
        return Err(format!(
            "{} answered {}: {}",
            reply_peer(done),
            reply.status,
            reply.problem_detail()
        ));
    }
    record(state, order_id, event).await;
    Ok(())
}

fn reply_peer(done: &Done) -> &'static str {
    match done {
        Done::Created => "order-service",
        Done::Charged(_) => "payment-service",
        Done::Reserved(_) => "inventory-service",
        Done::Shipped(_) => "shipping-service",
    }
}

async fn record(state: &OrderState, order_id: &str, event: OrderEvent) {
    if let Err(e) = state.store.append(order_id, event).await {
        tracing::error!(error = %e, "could not record a saga event");
    }
}

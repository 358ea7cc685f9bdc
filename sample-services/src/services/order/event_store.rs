//! The order aggregate's event store: one JetStream subject per order
//! (`order-events.<orderId>` in the `ORDER_EVENTS` stream); the current state is rebuilt by
//! replaying the order's events in stream order ([`OrderView::fold`]).

use std::time::{SystemTime, UNIX_EPOCH};

use async_nats::jetstream;
use serde::{Deserialize, Serialize};
use tracing::Instrument;

use crate::domain::{Address, Item};
use crate::messaging::MessagingError;
use crate::propagation::cid;

pub const STREAM: &str = "ORDER_EVENTS";
pub const SUBJECT_PREFIX: &str = "order-events";

/// Everything that can happen to an order.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all_fields = "camelCase")]
pub enum OrderEvent {
    OrderPlaced {
        customer_id: String,
        items: Vec<Item>,
        total: i64,
        mode: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        address: Option<Address>,
    },
    PaymentCharged {
        payment_id: String,
    },
    PaymentDeclined {
        reason: String,
    },
    StockReserved {
        reservation_id: String,
    },
    ShipmentScheduled {
        shipment_id: String,
    },
    OrderConfirmed,
    OrderCompleted,
    PaymentRefunded {
        payment_id: String,
    },
    StockReleased {
        reservation_id: String,
    },
    ShipmentCancelled {
        shipment_id: String,
    },
    OrderCancelled {
        reason: String,
    },
}

/// An event as stored: its stream sequence and when it was recorded.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recorded {
    #[serde(default)]
    pub sequence: u64,
    pub recorded_at_ms: u64,
    #[serde(flatten)]
    pub event: OrderEvent,
}

/// An order's current state, folded from its events.
#[derive(Clone, Debug, Serialize, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OrderView {
    pub order_id: String,
    pub status: String,
    pub mode: String,
    pub customer_id: String,
    pub total: i64,
    pub items: Vec<Item>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reservation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipment_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Compensations applied, in the order they ran.
    pub compensations: Vec<String>,
    pub version: usize,
}

impl OrderView {
    /// Rebuilds the state from the events, oldest first. `None` without an `OrderPlaced`.
    pub fn fold(order_id: &str, events: &[Recorded]) -> Option<OrderView> {
        let mut view: Option<OrderView> = None;
        for recorded in events {
            if let OrderEvent::OrderPlaced {
                customer_id,
                items,
                total,
                mode,
                address,
            } = &recorded.event
            {
                view = Some(OrderView {
                    order_id: order_id.to_string(),
                    status: "placed".to_string(),
                    mode: mode.clone(),
                    customer_id: customer_id.clone(),
                    total: *total,
                    items: items.clone(),
                    address: address.clone(),
                    ..OrderView::default()
                });
            }
            let Some(v) = view.as_mut() else { continue };
            v.version += 1;
            match &recorded.event {
                OrderEvent::OrderPlaced { .. } => {}
                OrderEvent::PaymentCharged { payment_id } => {
                    v.payment_id = Some(payment_id.clone());
                    v.advance("charged");
                }
                OrderEvent::PaymentDeclined { reason } => v.reason = Some(reason.clone()),
                OrderEvent::StockReserved { reservation_id } => {
                    v.reservation_id = Some(reservation_id.clone());
                    v.advance("reserved");
                }
                OrderEvent::ShipmentScheduled { shipment_id } => {
                    v.shipment_id = Some(shipment_id.clone());
                    v.advance("shipped");
                }
                OrderEvent::OrderConfirmed => v.status = "confirmed".into(),
                OrderEvent::OrderCompleted => v.status = "completed".into(),
                OrderEvent::PaymentRefunded { .. } => v.compensations.push("refund".into()),
                OrderEvent::StockReleased { .. } => v.compensations.push("release".into()),
                OrderEvent::ShipmentCancelled { .. } => {
                    v.compensations.push("cancel-shipment".into())
                }
                OrderEvent::OrderCancelled { reason } => {
                    v.status = "cancelled".into();
                    v.reason = Some(reason.clone());
                    v.compensations.push("cancel".into());
                }
            }
        }
        view
    }

    /// Moves the status forward only: facts of a choreographed saga may be recorded after the
    /// order already closed, and must not reopen it.
    fn advance(&mut self, status: &str) {
        fn rank(status: &str) -> u8 {
            match status {
                "placed" => 0,
                "charged" => 1,
                "reserved" => 2,
                "shipped" => 3,
                _ => 4,
            }
        }
        if rank(status) > rank(&self.status) {
            self.status = status.to_string();
        }
    }

    /// Completed or cancelled: nothing more happens to it.
    pub fn is_final(&self) -> bool {
        matches!(
            self.status.as_str(),
            "completed" | "cancelled" | "confirmed"
        )
    }
}

/// Order IDs become NATS subject tokens: only letters, digits, `-` and `_`.
pub fn valid_order_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[derive(Clone)]
pub struct EventStore {
    js: jetstream::Context,
    stream: jetstream::stream::Stream,
}

impl EventStore {
    /// Binds to the `ORDER_EVENTS` stream (created, with direct gets allowed, by
    /// [`crate::messaging::connect`]).
    pub async fn open(js: jetstream::Context) -> Result<Self, MessagingError> {
        let stream = js
            .get_stream(STREAM)
            .await
            .map_err(|e| store_err("stream", e))?;
        Ok(EventStore { js, stream })
    }

    /// Appends one event to the order's subject and waits for the stream to store it.
    pub async fn append(&self, order_id: &str, event: OrderEvent) -> Result<u64, MessagingError> {
        self.append_after(order_id, event, None).await
    }

    /// Appends starting from what the caller read: the append fails with
    /// [`MessagingError::Conflict`] if anything was appended to the order since `after` (its
    /// last event's sequence, `0` for none), so decisions taken on a stale state never land.
    pub fn expecting<'a>(&'a self, order_id: &'a str, after: u64) -> Expecting<'a> {
        Expecting {
            store: self,
            order_id,
            last: after,
        }
    }

    async fn append_after(
        &self,
        order_id: &str,
        event: OrderEvent,
        expected_last: Option<u64>,
    ) -> Result<u64, MessagingError> {
        let subject = format!("{SUBJECT_PREFIX}.{order_id}");
        let recorded = Recorded {
            sequence: 0,
            recorded_at_ms: now_ms(),
            event,
        };
        let payload = serde_json::to_vec(&recorded).map_err(|e| MessagingError::Encode {
            subject: subject.clone(),
            detail: e.to_string(),
        })?;
        let span = tracing::info_span!(
            "event_store.append",
            otel.name = format!("append {subject}"),
            otel.kind = "internal",
            db.system.name = "nats-jetstream",
            db.operation.name = "append",
            db.collection.name = STREAM,
            order.id = %order_id,
            correlation.id = %cid(),
        );
        let mut headers = async_nats::HeaderMap::new();
        if let Some(last) = expected_last {
            headers.insert(
                "Nats-Expected-Last-Subject-Sequence",
                last.to_string().as_str(),
            );
        }
        async {
            let ack = self
                .js
                .publish_with_headers(subject.clone(), headers, payload.into())
                .await
                .map_err(|e| store_err("append", e))?
                .await
                .map_err(|e| {
                    if e.kind() == jetstream::context::PublishErrorKind::WrongLastSequence {
                        MessagingError::Conflict {
                            subject: subject.clone(),
                        }
                    } else {
                        store_err("append ack", e)
                    }
                })?;
            Ok(ack.sequence)
        }
        .instrument(span)
        .await
    }

    /// Removes every event of the order (a provider state being torn down or set to "none").
    pub async fn purge(&self, order_id: &str) -> Result<(), MessagingError> {
        self.stream
            .purge()
            .filter(format!("{SUBJECT_PREFIX}.{order_id}"))
            .await
            .map(|_| ())
            .map_err(|e| store_err("purge", e))
    }

    /// Every event of the order, oldest first.
    pub async fn replay(&self, order_id: &str) -> Result<Vec<Recorded>, MessagingError> {
        let span = tracing::info_span!(
            "event_store.replay",
            otel.name = format!("replay {SUBJECT_PREFIX}.{order_id}"),
            otel.kind = "internal",
            db.system.name = "nats-jetstream",
            db.operation.name = "replay",
            db.collection.name = STREAM,
            order.id = %order_id,
            correlation.id = %cid(),
        );
        self.replay_inner(order_id).instrument(span).await
    }

    async fn replay_inner(&self, order_id: &str) -> Result<Vec<Recorded>, MessagingError> {
        // Direct gets, one per event, walking the order's subject: no consumer is created, so a
        // read costs a few round trips and no server-side state.
        let subject = format!("{SUBJECT_PREFIX}.{order_id}");
        let mut events = Vec::new();
        let mut next = 1;
        loop {
            let message = match self
                .stream
                .direct_get_next_for_subject(subject.clone(), Some(next))
                .await
            {
                Ok(m) => m,
                Err(e) if e.kind() == jetstream::stream::DirectGetErrorKind::NotFound => break,
                Err(e) => return Err(store_err("replay", e)),
            };
            next = message.sequence + 1;
            match serde_json::from_slice::<Recorded>(&message.payload) {
                Ok(mut recorded) => {
                    recorded.sequence = message.sequence;
                    events.push(recorded);
                }
                Err(e) => {
                    tracing::error!(sequence = message.sequence, error = %e, "skipping an unreadable event")
                }
            }
        }
        Ok(events)
    }
}

/// Appends that each expect the previous one to be the order's last event.
pub struct Expecting<'a> {
    store: &'a EventStore,
    order_id: &'a str,
    last: u64,
}

impl Expecting<'_> {
    pub async fn push(&mut self, event: OrderEvent) -> Result<(), MessagingError> {
        self.last = self
            .store
            .append_after(self.order_id, event, Some(self.last))
            .await?;
        Ok(())
    }
}

fn store_err(what: &str, e: impl std::fmt::Display) -> MessagingError {
    MessagingError::JetStream {
        what: format!("event store {what}"),
        detail: e.to_string(),
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(event: OrderEvent) -> Recorded {
        Recorded {
            sequence: 0,
            recorded_at_ms: 0,
            event,
        }
    }

    #[test]
    fn folding_rebuilds_a_compensated_order() {
        let events = vec![
            rec(OrderEvent::OrderPlaced {
                customer_id: "c-1".into(),
                items: vec![Item {
                    sku: "OUT-1".into(),
                    qty: 1,
                }],
                total: 1000,
                mode: "saga".into(),
                address: None,
            }),
            rec(OrderEvent::PaymentCharged {
                payment_id: "pay_1".into(),
            }),
            rec(OrderEvent::PaymentRefunded {
                payment_id: "pay_1".into(),
            }),
            rec(OrderEvent::OrderCancelled {
                reason: "insufficient stock".into(),
            }),
        ];
        let view = OrderView::fold("o-1", &events).expect("an order");
        assert_eq!(view.status, "cancelled");
        assert_eq!(view.payment_id.as_deref(), Some("pay_1"));
        assert_eq!(view.compensations, vec!["refund", "cancel"]);
        assert_eq!(view.version, 4);
        assert!(OrderView::fold("o-1", &events[1..]).is_none());
    }

    #[test]
    fn a_late_fact_does_not_reopen_a_closed_order() {
        let events = vec![
            rec(OrderEvent::OrderPlaced {
                customer_id: "c-1".into(),
                items: vec![Item {
                    sku: "A1".into(),
                    qty: 1,
                }],
                total: 999,
                mode: "async".into(),
                address: None,
            }),
            rec(OrderEvent::ShipmentScheduled {
                shipment_id: "shp_1".into(),
            }),
            rec(OrderEvent::OrderCompleted),
            rec(OrderEvent::StockReserved {
                reservation_id: "res_1".into(),
            }),
        ];
        let view = OrderView::fold("o-1", &events).expect("an order");
        assert_eq!(view.status, "completed");
        assert_eq!(view.reservation_id.as_deref(), Some("res_1"));
    }

    #[test]
    fn stored_events_are_tagged_camel_case_json() {
        let json = serde_json::to_value(rec(OrderEvent::PaymentCharged {
            payment_id: "pay_1".into(),
        }))
        .expect("serializes");
        assert_eq!(json["type"], "PaymentCharged");
        assert_eq!(json["paymentId"], "pay_1");
    }

    #[test]
    fn order_ids_are_safe_subject_tokens() {
        assert!(valid_order_id("o-1a2b"));
        assert!(!valid_order_id("o.1"));
        assert!(!valid_order_id("o*"));
        assert!(!valid_order_id(""));
    }
}

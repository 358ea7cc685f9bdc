//! The messages the services exchange: HTTP bodies and event payloads (JSON, camelCase).

use serde::{Deserialize, Serialize};

use crate::http_server::Problem;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    pub sku: String,
    pub qty: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    pub country: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
}

/// `POST /orders` (and `/orders/async`, `/orders/saga`) on the order service.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlaceOrder {
    pub customer_id: String,
    pub items: Vec<Item>,
    #[serde(default)]
    pub address: Option<Address>,
}

impl PlaceOrder {
    pub fn validate(&self) -> Result<(), Problem> {
        if self.customer_id.trim().is_empty() {
            return Err(Problem::bad_request("customerId must not be empty"));
        }
        validate_items(&self.items)
    }
}

pub fn validate_items(items: &[Item]) -> Result<(), Problem> {
    if items.is_empty() {
        return Err(Problem::bad_request("items must hold at least one item"));
    }
    for (i, item) in items.iter().enumerate() {
        if item.sku.trim().is_empty() {
            return Err(Problem::bad_request(format!(
                "items[{i}].sku must not be empty"
            )));
        }
        if item.qty == 0 {
            return Err(Problem::bad_request(format!(
                "items[{i}].qty must be at least 1"
            )));
        }
    }
    Ok(())
}

/// The catalogue price of a SKU, in cents.
pub fn price_of(sku: &str) -> i64 {
    match sku {
        "A1" => 999,
        "B2" => 1999,
        "C3" => 450,
        _ => 1000,
    }
}

pub fn total_of(items: &[Item]) -> i64 {
    items
        .iter()
        .map(|i| price_of(&i.sku) * i64::from(i.qty))
        .sum()
}

pub const CURRENCY: &str = "USD";

/// `orders.created`: an order was placed on the asynchronous path.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCreated {
    pub order_id: String,
    pub customer_id: String,
    pub total: i64,
    pub currency: String,
    pub items: Vec<Item>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

/// `orders.confirmed`, `orders.completed`, `orders.cancelled`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderStatusChanged {
    pub order_id: String,
    pub customer_id: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `payments.charged`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentCharged {
    pub order_id: String,
    pub customer_id: String,
    pub payment_id: String,
    pub amount: i64,
    pub items: Vec<Item>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

/// `payments.declined` and `payments.refunded`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentOutcome {
    pub order_id: String,
    pub customer_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    pub reason: String,
}

/// `inventory.reserved`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StockReserved {
    pub order_id: String,
    pub customer_id: String,
    pub reservation_id: String,
    pub payment_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

/// `inventory.rejected`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StockRejected {
    pub order_id: String,
    pub customer_id: String,
    pub payment_id: String,
    pub reason: String,
}

/// `shipping.scheduled`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShipmentScheduled {
    pub order_id: String,
    #[serde(default)]
    pub customer_id: String,
    pub shipment_id: String,
    pub carrier: String,
}

/// `shipping.failed`: no carrier could take the order.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShipmentFailed {
    pub order_id: String,
    pub customer_id: String,
    pub reservation_id: String,
    pub payment_id: String,
    pub reason: String,
}

/// `POST /api/charge` on payment.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargeRequest {
    pub amount: i64,
    pub currency: String,
    pub customer_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// Carried on the `sync-chain` path only, where payment reserves stock itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<Item>>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargeResponse {
    pub payment_id: String,
    pub status: String,
    pub amount: i64,
    pub currency: String,
}

/// `POST /api/refunds` on payment.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundRequest {
    pub payment_id: String,
}

/// `POST /api/reservations` on inventory.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReservationRequest {
    pub order_id: String,
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReservationResponse {
    pub reservation_id: String,
    pub order_id: String,
    pub status: String,
}

/// `POST /api/shipments` on shipping.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShipmentRequest {
    pub order_id: String,
    #[serde(default)]
    pub customer_id: String,
    #[serde(default)]
    pub address: Option<Address>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShipmentResponse {
    pub shipment_id: String,
    pub order_id: String,
    pub status: String,
    pub carrier: String,
}

/// `?orderId=…` on the list endpoints: everything, or one order's.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ByOrder {
    pub order_id: Option<String>,
}

impl ByOrder {
    pub fn matches(&self, order_id: Option<&str>) -> bool {
        self.order_id.is_none() || self.order_id.as_deref() == order_id
    }
}

/// A short random ID with a prefix, e.g. `pay_7f3a9c01`.
pub fn new_id(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}{}", &id[..12])
}

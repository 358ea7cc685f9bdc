//! The samples' scenarios (`sample-services/scenarios/*.yaml`), built into the binary so that
//! `parley demo` runs them on embedded defaults. Variables they use: `${gateway}`, `${order}`,
//! `${payment}`, `${inventory}`, `${shipping}`, `${notification}` (service base URLs) and
//! `${token}` (a gateway bearer token).

/// `(file name, YAML)`, in the order the demo runs them.
pub const ALL: [(&str, &str); 6] = [
    (
        "sync-order.yaml",
        include_str!("../scenarios/sync-order.yaml"),
    ),
    (
        "async-order.yaml",
        include_str!("../scenarios/async-order.yaml"),
    ),
    (
        "saga-success.yaml",
        include_str!("../scenarios/saga-success.yaml"),
    ),
    (
        "saga-compensation.yaml",
        include_str!("../scenarios/saga-compensation.yaml"),
    ),
    (
        "poison-message.yaml",
        include_str!("../scenarios/poison-message.yaml"),
    ),
    (
        "duplicate-delivery.yaml",
        include_str!("../scenarios/duplicate-delivery.yaml"),
    ),
];

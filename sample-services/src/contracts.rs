//! The samples' contracts (`sample-services/contracts/`), built into the binary so that
//! `parley demo` verifies them on embedded defaults: [`write_to`] lays them out in a folder.

use std::path::Path;

/// `(path relative to the contracts folder, content)`.
pub const FILES: &[(&str, &str)] = &[
    (
        "gateway--notification-service.yaml",
        include_str!("../contracts/gateway--notification-service.yaml"),
    ),
    (
        "gateway--order-service.yaml",
        include_str!("../contracts/gateway--order-service.yaml"),
    ),
    (
        "gateway--payment-service.yaml",
        include_str!("../contracts/gateway--payment-service.yaml"),
    ),
    (
        "gateway--shipping-service.yaml",
        include_str!("../contracts/gateway--shipping-service.yaml"),
    ),
    (
        "inventory-service--payment-service.yaml",
        include_str!("../contracts/inventory-service--payment-service.yaml"),
    ),
    (
        "inventory-service--shipping-service.yaml",
        include_str!("../contracts/inventory-service--shipping-service.yaml"),
    ),
    (
        "notification-service--order-service.yaml",
        include_str!("../contracts/notification-service--order-service.yaml"),
    ),
    (
        "notification-service--shipping-service.yaml",
        include_str!("../contracts/notification-service--shipping-service.yaml"),
    ),
    (
        "order-service--inventory-service.yaml",
        include_str!("../contracts/order-service--inventory-service.yaml"),
    ),
    (
        "order-service--payment-service.yaml",
        include_str!("../contracts/order-service--payment-service.yaml"),
    ),
    (
        "order-service--shipping-service.yaml",
        include_str!("../contracts/order-service--shipping-service.yaml"),
    ),
    (
        "payment-service--inventory-service.yaml",
        include_str!("../contracts/payment-service--inventory-service.yaml"),
    ),
    (
        "payment-service--order-service.yaml",
        include_str!("../contracts/payment-service--order-service.yaml"),
    ),
    (
        "shipping-service--inventory-service.yaml",
        include_str!("../contracts/shipping-service--inventory-service.yaml"),
    ),
    (
        "schemas/definitions.json",
        include_str!("../contracts/schemas/definitions.json"),
    ),
    (
        "schemas/inventory-rejected.json",
        include_str!("../contracts/schemas/inventory-rejected.json"),
    ),
    (
        "schemas/inventory-reserved.json",
        include_str!("../contracts/schemas/inventory-reserved.json"),
    ),
    (
        "schemas/order-created.json",
        include_str!("../contracts/schemas/order-created.json"),
    ),
    (
        "schemas/order-notice.json",
        include_str!("../contracts/schemas/order-notice.json"),
    ),
    (
        "schemas/order-status-changed.json",
        include_str!("../contracts/schemas/order-status-changed.json"),
    ),
    (
        "schemas/payment-charged.json",
        include_str!("../contracts/schemas/payment-charged.json"),
    ),
    (
        "schemas/payment-declined.json",
        include_str!("../contracts/schemas/payment-declined.json"),
    ),
    (
        "schemas/payment-refunded.json",
        include_str!("../contracts/schemas/payment-refunded.json"),
    ),
    (
        "schemas/shipping-failed.json",
        include_str!("../contracts/schemas/shipping-failed.json"),
    ),
    (
        "schemas/shipping-scheduled.json",
        include_str!("../contracts/schemas/shipping-scheduled.json"),
    ),
];

/// Writes every contract and schema under `dir`, as in the repository.
pub fn write_to(dir: &Path) -> std::io::Result<()> {
    for (path, content) in FILES {
        let file = dir.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(file, content)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The list above is every file of the folder: none forgotten, none stale.
    #[test]
    fn every_contract_file_is_built_in() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("contracts");
        let mut on_disk = Vec::new();
        for dir in [root.clone(), root.join("schemas")] {
            for entry in std::fs::read_dir(&dir).expect("contracts folder") {
                let path = entry.expect("entry").path();
                if path.is_file() {
                    let rel = path.strip_prefix(&root).expect("under root");
                    on_disk.push(rel.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        on_disk.sort();
        let mut built_in: Vec<String> = FILES.iter().map(|(p, _)| p.to_string()).collect();
        built_in.sort();
        assert_eq!(built_in, on_disk);
    }
}

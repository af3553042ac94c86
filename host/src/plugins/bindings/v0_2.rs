//! `ml-connector:mapping@0.2.0`, the newest contract: its types are the host's plugin types.

/// The `order-to-gl` world: also generates the shared `types` and `host` interfaces.
pub mod order_to_gl {
    wasmtime::component::bindgen!({
        path: "../wit/mapping@0.2.0",
        world: "order-to-gl",
        additional_derives: [serde::Serialize, serde::Deserialize, PartialEq, Eq],
    });
}

/// The `item-to-catalog` world, on the same `types` and `host` as `order_to_gl`.
pub mod item_to_catalog {
    wasmtime::component::bindgen!({
        path: "../wit/mapping@0.2.0",
        world: "item-to-catalog",
        with: {
            "ml-connector:mapping/types": super::order_to_gl::ml_connector::mapping::types,
            "ml-connector:mapping/host": super::order_to_gl::ml_connector::mapping::host,
        },
    });
}

pub use order_to_gl::ml_connector::mapping::{host, types};

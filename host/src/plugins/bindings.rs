//! Host bindings for each supported version of the WIT contract.
//!
//! A released contract version is frozen in `wit/mapping@X.Y.Z/`; each gets one module
//! here. Today there is one, `0.1`, and its types are the host's plugin types. When 0.2
//! arrives it gets its own module, and calls on 0.1 plugins convert to and from the newest
//! types in one place (the way Zed's extension host dispatches on API version).

/// `ml-connector:mapping@0.1.0`.
pub mod v0_1 {
    /// The `order-to-gl` world: also generates the shared `types` and `host` interfaces.
    pub mod order_to_gl {
        wasmtime::component::bindgen!({
            path: "../wit/mapping@0.1.0",
            world: "order-to-gl",
            additional_derives: [serde::Serialize, serde::Deserialize, PartialEq, Eq],
        });
    }

    /// The `item-to-catalog` world, on the same `types` and `host` as `order_to_gl`.
    pub mod item_to_catalog {
        wasmtime::component::bindgen!({
            path: "../wit/mapping@0.1.0",
            world: "item-to-catalog",
            with: {
                "ml-connector:mapping/types": super::order_to_gl::ml_connector::mapping::types,
                "ml-connector:mapping/host": super::order_to_gl::ml_connector::mapping::host,
            },
        });
    }

    /// The contract version these bindings implement.
    pub const VERSION: &str = "0.1.0";
    /// The package the contract's interfaces live in.
    pub const PACKAGE: &str = "ml-connector:mapping";
}

/// The newest contract's types: what the rest of the host works with.
pub use v0_1::order_to_gl::ml_connector::mapping::types;

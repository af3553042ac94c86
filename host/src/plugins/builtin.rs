//! The built-in default plugins, compiled from `plugins/` for wasm32-wasip2 by the build
//! script and embedded in the binary. A plugin of the same name in the plugin directory
//! replaces them.

/// `(name, component bytes)` of each built-in plugin.
pub const BUILTINS: &[(&str, &[u8])] = &[
    (
        "order-to-gl",
        include_bytes!(concat!(env!("OUT_DIR"), "/order_to_gl.wasm")),
    ),
    (
        "item-to-catalog",
        include_bytes!(concat!(env!("OUT_DIR"), "/item_to_catalog.wasm")),
    ),
];

/// The bytes of built-in plugin `name`.
pub fn builtin(name: &str) -> Option<&'static [u8]> {
    BUILTINS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, bytes)| *bytes)
}

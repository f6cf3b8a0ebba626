//! The `licence` plugin: answers `JZ` (驾驶证 query) from the `police` datasource.
//! The logic lives in [`logic`] (tested natively); this file only binds it to contract 1.1
//! through the plugin SDK (`plugins/sdk`).

pub mod logic;

police_common::export_police_plugin!(manifest: logic::MANIFEST, handle: logic::handle);

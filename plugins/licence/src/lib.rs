//! The `licence` plugin: answers `JZ` (驾驶证 query) from the `police` datasource.
//! The logic lives in [`logic`] (tested natively); this file only binds it to the WIT world
//! `jingxun:plugin/query-plugin` (../../wit/plugin.wit).

wit_bindgen::generate!({ path: "../../wit", world: "query-plugin" });

pub mod logic;

police_common::export_police_plugin!(manifest: logic::MANIFEST, handle: logic::handle);

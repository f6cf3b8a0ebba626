//! The `exitentry` plugin: answers `CRJ` (exit and entry records) from the `police` datasource.
//! The logic lives in [`logic`] (tested natively); this file only binds it to the WIT world
//! `jingxun:plugin/plugin@1.1.0` (../../wit/v1.1/plugin.wit).

wit_bindgen::generate!({ path: "../../wit/v1.1", world: "plugin" });

pub mod logic;

police_common::export_police_plugin!(manifest: logic::MANIFEST, handle: logic::handle);

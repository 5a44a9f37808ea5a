//! `monitor`: the monthly 防止返贫致贫监测 run for county offices.
//!
//! Data flow: [`ingest`] (files → grids → located tables) →
//! [`validate`]/[`normalize`] (typed households, members, expense records,
//! data problems) → [`assess`] with [`rules`] (policy as data) →
//! [`report`] (ledger and annex forms) and a `summary.json`, orchestrated
//! by [`run`], which [`publish`]es a month's folder together with the
//! [`history`] store's commit. [`decide`] reads a filled 研判表 back;
//! [`cases`] runs the test households beside each rule file.

pub mod assess;
pub mod calendar;
pub mod cases;
pub mod config;
pub mod decide;
pub mod error;
pub mod forms;
pub mod history;
pub mod ingest;
pub mod keyindex;
pub mod measures;
pub mod model;
pub mod normalize;
pub mod phases;
pub mod publish;
pub mod report;
pub mod rollup;
pub mod rules;
pub mod run;
pub mod setup;
pub mod synth;
pub mod validate;

pub use error::{MonitorError, Result};

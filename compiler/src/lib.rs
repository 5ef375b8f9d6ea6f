//! SpikePipe compiler: the passes `parse → lower → cost → schedule → emit`, each a free
//! function over `spikepipe-ir` types, run in order by [`compile`].
//!
//! ```
//! use spikepipe_compiler::{compile, load_specs, CompileOptions, Method};
//! let specs = load_specs("../models/mlp-digits.yaml".as_ref(),
//!                        Some("../models/hw/sa32-ws.yaml".as_ref()), Some(2)).unwrap();
//! let schedule = compile(&specs, &CompileOptions::new(Method::Heuristic)).unwrap();
//! assert!(schedule.period_cycles >= schedule.lower_bound_cycles);
//! ```
#![deny(missing_docs)]

pub mod compare;
pub mod cost;
pub mod emit;
mod error;
pub mod front;
pub mod locate;
pub mod lower;
pub mod memory_fit;
pub mod options;
pub mod parse;
mod pipeline;
pub mod priced;
pub mod recost;
pub mod schedule;
mod shapes;
#[cfg(test)]
mod test_rng;
pub mod versus;

pub use error::{plain_types, Location, ScheduleError, SpecError, SpecResult};
pub use memory_fit::Recompute;
pub use options::Solver;
pub use parse::{load_hardware, load_model, load_specs, Specs};
pub use pipeline::{compile, lower_and_cost, lower_and_cost_with, CompileOptions};
pub use schedule::{lower_bound, Method};
pub use shapes::infer_network;

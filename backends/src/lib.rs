//! SpikePipe backends (simulator and executor).
pub mod exec;
pub mod sim;
pub mod svg;

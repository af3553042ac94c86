//! BigCommerce and QAD simulators for tests, benchmarks and `demo`. The crate holds the
//! workspace's place for them; the simulators themselves arrive with the BigCommerce
//! client and QAD client work.

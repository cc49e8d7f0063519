//! Whole-crate tests: sessions driven through the public API.

//! The exchange's static set-up as the edges need it: symbols and assets by name, with their
//! increments. Fixed at start-up and shared read-only by every connection task, which parses
//! names into ids with it so that the core receives ids only.

use engine::symbol::Symbol;
use engine::{AssetId, AssetSpec, Engine, SymbolId};

/// Symbols and assets, fixed at start-up.
#[derive(Clone, Debug)]
pub struct Catalog {
    symbols: Vec<Symbol>,
    assets: Vec<AssetSpec>,
}

impl Catalog {
    /// Copies the engine's symbols and assets.
    pub fn from_engine(engine: &Engine) -> Catalog {
        Catalog {
            symbols: engine.symbols().to_vec(),
            assets: engine.assets().to_vec(),
        }
    }

    /// Every symbol, indexed by id.
    pub fn symbols(&self) -> &[Symbol] {
        &self.symbols
    }

    /// Every asset, indexed by id.
    pub fn assets(&self) -> &[AssetSpec] {
        &self.assets
    }

    /// A symbol by wire name.
    pub fn symbol_id(&self, name: &str) -> Option<SymbolId> {
        self.symbols
            .iter()
            .position(|s| s.spec.name == name)
            .map(|i| SymbolId(i as u32))
    }

    /// A symbol by id.
    pub fn symbol(&self, id: SymbolId) -> Option<&Symbol> {
        self.symbols.get(id.0 as usize)
    }

    /// A symbol's wire name (`"?"` for an unknown id, which the engine never produces).
    pub fn symbol_name(&self, id: SymbolId) -> &str {
        self.symbol(id).map_or("?", |s| s.spec.name.as_str())
    }

    /// An asset by name.
    pub fn asset_id(&self, name: &str) -> Option<AssetId> {
        self.assets
            .iter()
            .position(|a| a.name == name)
            .map(|i| AssetId(i as u32))
    }

    /// An asset's name.
    pub fn asset_name(&self, id: AssetId) -> &str {
        self.assets
            .get(id.0 as usize)
            .map_or("?", |a| a.name.as_str())
    }

    /// An asset's decimals.
    pub fn asset_decimals(&self, id: AssetId) -> u32 {
        self.assets.get(id.0 as usize).map_or(0, |a| a.decimals)
    }
}

//! Symbol names as Binance writes them: base and quote joined (`BTC/USD` is `BTCUSD`), lower
//! case in stream names.

use engine::SymbolId;
use exchange::Catalog;
use rustc_hash::FxHashMap;

/// Every symbol's Binance names.
#[derive(Debug, Default)]
pub struct Symbols {
    by_name: FxHashMap<String, SymbolId>,
    /// Upper case, by symbol index.
    upper: Vec<String>,
    /// Lower case, by symbol index.
    lower: Vec<String>,
}

impl Symbols {
    pub fn new(catalog: &Catalog) -> Symbols {
        let mut symbols = Symbols::default();
        for (i, s) in catalog.symbols().iter().enumerate() {
            let name = format!("{}{}", s.spec.base, s.spec.quote).to_ascii_uppercase();
            symbols.by_name.insert(name.clone(), SymbolId(i as u32));
            symbols.lower.push(name.to_ascii_lowercase());
            symbols.upper.push(name);
        }
        symbols
    }

    /// A symbol by its joined name, in any case.
    pub fn id(&self, name: &str) -> Option<SymbolId> {
        if name.len() > 32 {
            return None;
        }
        match self.by_name.get(name) {
            Some(id) => Some(*id),
            None => self.by_name.get(&name.to_ascii_uppercase()).copied(),
        }
    }

    /// The joined upper-case name (`BTCUSD`).
    pub fn name(&self, id: SymbolId) -> &str {
        self.upper.get(id.0 as usize).map_or("", String::as_str)
    }

    /// The joined lower-case name, as streams are named (`btcusd`).
    pub fn stream_name(&self, id: SymbolId) -> &str {
        self.lower.get(id.0 as usize).map_or("", String::as_str)
    }

    /// How many symbols.
    pub fn len(&self) -> usize {
        self.upper.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.upper.is_empty()
    }
}

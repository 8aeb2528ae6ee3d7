"""Provider adapters: one module per upstream wire format behind `providers.base.Provider`."""
